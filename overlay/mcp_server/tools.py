"""The MCP tools. Descriptions are written for an agent: what each returns, and when to reach for it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations

import overlay
from overlay.errors import OverlayError
from overlay.session import Session

READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
INSTRUCTIONS = (
    "Search and read the user's Obsidian vault (mostly Russian and English notes, exported AI chats). Start with "
    "`search` for any question about the user's own knowledge, then `read_note` on the best paths; `related` and "
    "`graph_neighbors` follow the user's own links; `ask` returns an answer built only from the notes, with its "
    "sources. Paths are vault-relative with .md, exactly as tools return them.")


def build(session: Session) -> MCPServer:
    @asynccontextmanager
    async def lifespan(_: MCPServer) -> AsyncIterator[dict[str, Any]]:
        try:
            yield {"session": session}
        finally:
            session.close()

    mcp = MCPServer("overlay", version=overlay.__version__, instructions=INSTRUCTIONS, lifespan=lifespan)

    @mcp.tool(annotations=READ_ONLY)
    async def search(query: str, k: int = 8, after: str | None = None, before: str | None = None) -> list[dict]:
        """Hybrid search (meaning + Russian/English word stems + the vault's links) over the user's notes.
        Returns up to k notes, best first, each {path, score, why, sections: [{heading, score, snippet, why}]}.
        Use it first for any question about what the user wrote; `after`/`before` (YYYY-MM-DD) keep only dated text
        (chats, daily notes). Then call read_note on a path for the full text."""
        period = (after or "", before or "") if after or before else None
        return await _call(session.search, query, k, "hybrid", period=period)

    @mcp.tool(annotations=READ_ONLY)
    async def related(path: str, k: int = 8) -> list[dict]:
        """Notes most related to one note (similar text, and its links and backlinks), each {path, score, linked,
        why}; `linked: false` marks related notes it does not link to yet. Use it to widen from a note you found."""
        return await _call(session.related, path, k)

    @mcp.tool(annotations=READ_ONLY)
    async def read_note(path: str) -> dict:
        """The full text of one note with its title, aliases, tags, frontmatter, outgoing links and backlinks
        (vault paths). Use it after search/related to read what a note really says before you quote it."""
        return await _call(session.note, path)

    @mcp.tool(annotations=READ_ONLY)
    async def graph_neighbors(path: str, depth: int = 1) -> dict:
        """The notes within `depth` (1–3) links of a note, either direction: {nodes: [{path, title, depth}],
        edges: [{source, target}]}. Use it to see how the user connected a topic."""
        return await _call(session.neighbors, path, depth)

    @mcp.tool(annotations=READ_ONLY)
    async def suggest_links(path: str, k: int = 5) -> list[dict]:
        """Notes worth linking from this one that it does not link to yet, each with the sentence of this note
        where the link would fit: {path, title, score, sentence, why}. Nothing is written."""
        return await _call(session.suggest_links, path, k)

    @mcp.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False,
                                          open_world_hint=False))
    async def ask(question: str, k: int | None = None, write: bool = False, placement: str = "note",
                  note: str | None = None, line: int | None = None) -> dict:
        """An answer built only from the user's notes: {question (as read: typed on the wrong keyboard layout, read
        right), answer (Markdown, every claim footnoted), sources: [{n, path, heading}], note_path, checks, model}.
        It quotes the notes' own sentences when no model is configured.
        `write: true` also saves it as a new note in the vault's answers folder (it never overwrites a note);
        `placement: "inline"` instead inserts it into `note` (a vault path) under its 1-based `line`, the block
        that asks, changing nothing else (`overlay answers remove` takes it out again)."""
        result = await _call(session.ask, question, k=k, write=write, placement=placement, note=note, line=line)
        data = result.as_dict()
        return {key: data[key] for key in ("question", "answer", "sources", "note_path", "checks", "distinct_notes",
                                           "model", "language")}

    @mcp.tool(annotations=READ_ONLY)
    async def status() -> dict:
        """The index: notes, chunks, links, unresolved links, files it could not read and why, the last index run,
        the watcher's and the last nightly run's state. Use it when search seems to miss something."""
        return await _call(session.status)

    return mcp


async def _call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a blocking library call in a thread; an overlay error becomes a tool error the agent can read."""
    try:
        return await asyncio.to_thread(fn, *args, **kwargs)
    except OverlayError as exc:
        raise ToolError(f"{exc}" + (f" ({exc.hint})" if exc.hint else "")) from None
