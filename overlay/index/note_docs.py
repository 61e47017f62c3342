"""One vector per note, beside the section vectors: the note as a whole, as its neighbourhood names it — title,
aliases, properties, headings, the opening, and the titles of the notes it links to and that link to it. Sections
find passages; a note vector finds the note a question is *about* even when no single section says it, and the
link titles carry what the plain LlamaIndex pipeline wins "link" questions with (its reader embeds link names).

Kept incremental: a note's document changes when the note changes or when a note it links to, or that links to it,
appears, vanishes or is renamed. After each index run the documents of those notes are rebuilt and only the ones
whose text changed are embedded again (the hash of the last embedded document is kept per note).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from graph import LinkGraph
from overlay.index.chunk_store import ChunkStore
from overlay.index.chunking import properties_line
from overlay.index.embedding import Embedder
from overlay.index.vectors import VectorStore
from vault_sync import Note

OPENING_CHARS = 400
LINK_TITLES = 20  # of each direction: a hub's document must not become a list of everything


def own_text(note: Note) -> str:
    """The part of a note's document that depends on the note alone."""
    names = ", ".join((note.title, *note.aliases))
    headings = "; ".join(dict.fromkeys(h.text for h in note.headings if h.text.casefold() != note.title.casefold()))
    opening = " ".join(note.body.split())[:OPENING_CHARS]
    parts = [names, properties_line(note), headings, opening]
    return "\n".join(p for p in parts if p)


def document(own: str, path: str, graph: LinkGraph | None) -> str:
    if graph is None:
        return own
    out = [_title(graph, p) for p in graph.outlinks(path) if p != path][:LINK_TITLES]
    back = [_title(graph, p) for p in graph.backlinks(path) if p != path][:LINK_TITLES]
    lines = [own, *(["→ " + ", ".join(out)] if out else []), *(["← " + ", ".join(back)] if back else [])]
    return "\n".join(lines)


def _title(graph: LinkGraph, path: str) -> str:
    return str(graph.g.nodes[path].get("title") or path.rsplit("/", 1)[-1].rsplit(".", 1)[0])


def neighbours(graph: LinkGraph | None, paths: Iterable[str]) -> set[str]:
    if graph is None:
        return set()
    found: set[str] = set()
    for path in paths:
        found.update(graph.outlinks(path))
        found.update(graph.backlinks(path))
    return found


def refresh(paths: set[str], texts: ChunkStore, graph: LinkGraph | None, store: VectorStore,
            embedder: Embedder) -> int:
    """Bring the note vectors of `paths` in step; returns how many were embedded."""
    parts = texts.note_parts(sorted(paths))
    gone = sorted(paths - parts.keys())
    if gone:
        store.delete_notes(gone)
    docs = {p: document(own, p, graph) for p, (own, _) in parts.items()}
    hashes = {p: hashlib.sha1(d.encode("utf-8", "surrogatepass")).hexdigest() for p, d in docs.items()}
    stale = sorted(p for p in docs if hashes[p] != parts[p][1])
    for new in (True, False):  # never embedded (a first index: no delete needed) / embedded before
        todo = [p for p in stale if (parts[p][1] == "") == new]
        for i in range(0, len(todo), 256):
            batch = todo[i:i + 256]
            store.put_notes(batch, embedder.embed_documents([docs[p] for p in batch]), new=new)
            texts.set_doc_hashes({p: hashes[p] for p in batch})
    return len(stale)
