"""One vector per note, beside the section vectors: the note as a whole — its names and its opening, read as one
text. Sections find passages; a note vector finds the note a question is *about* even when no single section
says it, and it keeps the context a short section loses (a heading split a page into fragments).

What goes in was measured (note vectors alone, hit@1 / hit@5, USE multilingual): names + the first 1,500
characters of the cleaned body gave openbox 0.483 / 0.750, npm docs 0.463 / 0.667, ru-vault 0.629 / 0.899,
example 0.604 / 0.917, where the earlier document — names, properties, headings, a 400-character opening and the
titles of linked notes — gave 0.317 / 0.650, 0.352 / 0.593, 0.551 / 0.899 and 0.750 / 1.000. Link titles helped
only on the example vault we wrote and cost 2 to 11 points elsewhere (a hub's document became a list of other
notes' names); 4,000 or 12,000 characters diluted the vector (openbox 0.417 / 0.400).

Incremental: a note's document depends on the note alone, so only notes that changed are embedded again (the hash
of the last embedded document is kept per note).
"""

from __future__ import annotations

import hashlib

from overlay.index.chunk_store import ChunkStore
from overlay.index.chunking import clean_for_index
from overlay.index.embedding import Embedder
from overlay.index.stems import unmark
from overlay.index.vectors import VectorStore
from vault_sync import Note

NOTE_CHARS = 1500


def own_text(note: Note) -> str:
    """The note's document: its title and aliases, then the opening of its text as a reader sees it."""
    names = unmark(", ".join((note.title, *note.aliases)))
    opening = " ".join(clean_for_index(note.body).split())[:NOTE_CHARS]
    return "\n".join(p for p in (names, opening) if p)


def refresh(paths: set[str], texts: ChunkStore, store: VectorStore, embedder: Embedder) -> int:
    """Bring the note vectors of `paths` in step; returns how many were embedded."""
    parts = texts.note_parts(sorted(paths))
    gone = sorted(paths - parts.keys())
    if gone:
        store.delete_notes(gone)
    docs = {p: own for p, (own, _) in parts.items()}
    hashes = {p: hashlib.sha1(d.encode("utf-8", "surrogatepass")).hexdigest() for p, d in docs.items()}
    stale = sorted(p for p in docs if hashes[p] != parts[p][1])
    for new in (True, False):  # never embedded (a first index: no delete needed) / embedded before
        todo = [p for p in stale if (parts[p][1] == "") == new]
        for i in range(0, len(todo), 256):
            batch = todo[i:i + 256]
            store.put_notes(batch, embedder.embed_documents([docs[p] for p in batch]), new=new)
            texts.set_doc_hashes({p: hashes[p] for p in batch})
    return len(stale)
