"""A warm library for long-lived faces (`overlay serve`, `overlay mcp`, `overlay watch --serve`): the retriever
(and the model, once an answer needs one) opened once and kept current, the same calls as `overlay.library`, and
the checks every face needs on what a caller sends (paths inside the vault, sane sizes). One lock: requests are
served one at a time against one index."""

from __future__ import annotations

import hashlib
import threading
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any

import overlay
from overlay import library
from overlay.answer import inline
from overlay.answer.ask import AskResult, ask
from overlay.answer.llm import LLM, make_llm
from overlay.answer.loop import Event
from overlay.answer.writeback import NoteChanged
from overlay.errors import NoteNotFound, OverlayError
from overlay.index.embedding import Embedder
from overlay.search.grouping import best_notes
from overlay.search.reader import open_retriever
from overlay.search.related import related
from overlay.search.retrieval import MODES, Period, Retriever
from overlay.search.suggest import suggest_links
from overlay.settings import Settings
from vault_sync import SkipFile, read_note

MAX_K = 50
MAX_DEPTH = 3
MAX_QUERY = 2000


class BadRequest(OverlayError):
    hint = "see README: overlay serve / overlay mcp for what each call takes"


class Session:
    def __init__(self, settings: Settings, *, embedder: Embedder | None = None, llm: LLM | None = None,
                 retriever: Retriever | None = None) -> None:
        """Everything is opened from settings on first use unless handed in (tests hand in fakes)."""
        self.settings = settings
        self.lock = threading.RLock()
        self._embedder = embedder
        self._llm = llm
        self._retriever = retriever

    # ---- the warm parts ---------------------------------------------------------------------------------------
    @property
    def retriever(self) -> Retriever:
        if self._retriever is None:
            self._retriever = open_retriever(self.settings, self._embedder, live=True)
        return self._retriever

    def _model(self) -> LLM:
        if self._llm is None:
            self._llm = make_llm(self.settings)
        return self._llm

    def close(self) -> None:
        if self._retriever is not None:
            self._retriever.texts.close()
            self._retriever = None

    # ---- calls ------------------------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        try:
            state = library.status(self.settings)
            index = {"notes": state["notes"], "chunks": state["chunks"], "last_index": state["last_index"]}
            watcher = state["watcher"]
        except OverlayError as exc:
            index, watcher = {"error": str(exc)}, None
        return {"ok": "error" not in index, "version": overlay.__version__, "vault": str(self.settings.vault),
                "index": index, "watcher": watcher}

    def status(self) -> dict[str, Any]:
        return library.status(self.settings)

    def search(self, query: str, k: int = 10, mode: str = "hybrid", *, sections: bool = False,
               period: Period = None) -> list[dict[str, Any]]:
        query, k = self._query(query), self._k(k)
        if mode not in MODES:
            raise BadRequest(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        with self.lock:
            if sections:
                return [r.as_dict() for r in self.retriever.search(query, k, mode=mode, period=period)]
            return [n.as_dict() for n in best_notes(self.retriever, query, k, mode=mode, period=period)]

    def related(self, path: str, k: int = 10) -> list[dict[str, Any]]:
        with self.lock:
            return [r.as_dict() for r in related(self.retriever, self.note_path(path), self._k(k))]

    def suggest_links(self, path: str, k: int = 5) -> list[dict[str, Any]]:
        with self.lock:
            return [s.as_dict() for s in suggest_links(self.retriever, self.note_path(path), self._k(k))]

    def note(self, path: str) -> dict[str, Any]:
        with self.lock:
            path = self.note_path(path)
            graph = self.retriever.graph
        try:
            note, _ = read_note(self.settings.vault, path, max_bytes=self.settings.max_file_bytes)
            text = (self.settings.vault / path).read_text(encoding="utf-8", errors="replace")
        except (SkipFile, FileNotFoundError) as exc:
            raise NoteNotFound(f"{path} cannot be read: {exc}") from None
        return {"path": path, "title": note.title, "aliases": list(note.aliases), "tags": list(note.tags),
                "frontmatter": note.frontmatter, "text": text, "links": graph.outlinks(path),
                "backlinks": graph.backlinks(path)}

    def neighbors(self, path: str, depth: int = 1) -> dict[str, Any]:
        if not 1 <= depth <= MAX_DEPTH:
            raise BadRequest(f"depth must be 1–{MAX_DEPTH}, not {depth}")
        with self.lock:
            start = self.note_path(path)
            graph = self.retriever.graph
            seen = graph.within(start, depth)
            edges = {(s, t) for s, t in graph.g.edges(seen) if s != t and t in seen and min(seen[s], seen[t]) < depth}
            nodes = [{"path": p, "title": graph.g.nodes[p].get("title", p), "depth": d}
                     for p, d in sorted(seen.items(), key=lambda item: (item[1], item[0]))]
        return {"nodes": nodes, "edges": [{"source": s, "target": t} for s, t in sorted(edges)]}

    def ask(self, question: str, *, k: int | None = None, write: bool = False, on_event: Event | None = None,
            period: Period = None, placement: str = "note", note: str | None = None,
            line: int | None = None) -> AskResult:
        """`placement` "inline" writes the answer into `note` under its 1-based `line` (the block that asks) —
        only into the note as it was when the request came: edited meanwhile, nothing is inserted (an error)."""
        question = self._query(question)
        if placement not in ("note", "inline"):
            raise BadRequest(f"placement {placement!r}: \"note\" or \"inline\"")
        place = self._place(note, line) if placement == "inline" else None
        with self.lock:
            result = ask(self.settings, question, k=self._k(k) if k else None, write=write and place is None,
                         on_event=on_event, retriever=self.retriever,
                         llm=self._llm if self._llm is not None else self._model, period=period,
                         asked_from=place.path if place else None)
            if place is not None:
                record, body = inline.block(result.draft, self.retriever.graph.resolver, place.path,
                                            run_id=result.run_id, created=datetime.now().astimezone())
                try:
                    inline.write(self.settings, place, record, body)
                except NoteChanged:
                    raise OverlayError(f"{place.path} changed while the answer was written; nothing was inserted",
                                       hint="ask again") from None
                result.note_path = place.path
            return result

    def _place(self, note: str | None, line: int | None) -> inline.Place:
        path = self.note_path(note or "")
        raw = (self.settings.vault / path).read_bytes()
        if not isinstance(line, int) or not 1 <= line <= raw.count(b"\n") + 1:
            raise BadRequest(f"line {line!r}: the 1-based line of {path} the answer goes under")
        inline.editable_text(raw, path)  # refused before the model runs, not after
        return inline.Place(path, hashlib.sha256(raw).hexdigest(), line)

    # ---- what callers send --------------------------------------------------------------------------------------
    def note_path(self, path: str) -> str:
        """A vault-relative note path (with `.md`) that the index knows; anything else is refused, clearly."""
        if not isinstance(path, str) or not path.strip():
            raise BadRequest("path is empty: give a vault path such as \"Folder/Note.md\"")
        pure = PurePosixPath(path.strip().replace("\\", "/"))
        if pure.is_absolute() or ".." in pure.parts or path.strip().startswith("~"):
            raise BadRequest(f"path {path!r} must be relative to the vault and stay inside it")
        graph = self.retriever.graph
        if graph is None:
            raise NoteNotFound("no link graph yet", hint="run `overlay index`")
        candidate = str(pure)
        if graph.g.has_node(candidate) and graph.g.nodes[candidate].get("kind") == "note":
            return candidate
        raise NoteNotFound(f"no note {candidate!r} in the index")

    @staticmethod
    def _query(text: str) -> str:
        if not isinstance(text, str) or not text.strip():
            raise BadRequest("the query is empty")
        if len(text) > MAX_QUERY:
            raise BadRequest(f"the query is {len(text)} characters; at most {MAX_QUERY}")
        return text.strip()

    @staticmethod
    def _k(k: int) -> int:
        if not isinstance(k, int) or not 1 <= k <= MAX_K:
            raise BadRequest(f"k must be 1–{MAX_K}, not {k!r}")
        return k
