"""One batch of notes against the stores: plan what to keep, reuse, embed and delete; then commit it.

Chunk ids are content-addressed, so "stored" is always asked of the vector store itself: whatever a killed run
left there is found, reused or deleted, and never duplicated.

(Tried and dropped: embedding batch i+1 in a worker process while batch i is written. With a warm model it was
no faster on 2 cores — 26.9 s against 25.9 s for 2,000 notes — because the model's BLAS threads and Chroma's
writes then compete for the same cores.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from overlay.index.chunk_store import ChunkStore
from overlay.index.chunking import Chunk
from overlay.index.embedding import Embedder
from overlay.index.vectors import VectorStore
from vault_sync import Entry, Note


@dataclass
class Batch:
    paths: list[str]  # every path whose chunks this batch rewrites (moved-from paths included)
    notes: dict[str, Note] = field(default_factory=dict)
    chunks: dict[str, list[Chunk]] = field(default_factory=dict)
    entries: list[Entry] = field(default_factory=list)  # manifest rows, recorded once the batch is committed
    graph_notes: list[Note] = field(default_factory=list)
    old_paths: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    reusable: list[Chunk] = field(default_factory=list)
    reuse_from: dict[str, str] = field(default_factory=dict)  # text hash -> stored chunk id with that text
    fresh: list[Chunk] = field(default_factory=list)
    own: set[str] = field(default_factory=set)  # paths of the overlay's own notes (stored apart)
    note_texts: dict[str, str] = field(default_factory=dict)  # the user's notes: own part of their note document


def plan(batch: Batch, store: VectorStore) -> Batch:
    """Decide per chunk: keep (same id stored, in the right collection: nothing to do), reuse (same text stored under
    another id, or in the other collection: its vector is copied, not recomputed), embed."""
    wanted = {c.id: c for cs in batch.chunks.values() for c in cs}
    stored = store.chunks_for_paths(batch.paths) if batch.paths else []
    kept = {c.id for c in stored if c.id in wanted and c.own == (c.path in batch.own)}
    batch.stale = [c.id for c in stored if c.id not in kept]
    stale = set(batch.stale)
    batch.reuse_from = {c.text_hash: c.id for c in stored if c.id in stale}
    missing = [c for cid, c in wanted.items() if cid not in kept]
    batch.reusable = [c for c in missing if c.text_hash in batch.reuse_from]
    batch.fresh = [c for c in missing if c.text_hash not in batch.reuse_from]
    return batch


def commit(batch: Batch, store: VectorStore, texts: ChunkStore, embedder: Embedder) -> None:
    """Write the plan: stale vectors out, reused and fresh vectors in, then the texts of every chunk of the batch."""
    reused = store.embeddings([batch.reuse_from[c.text_hash] for c in batch.reusable]) if batch.reusable else {}
    fresh = embedder.embed_documents([c.text for c in batch.fresh]) if batch.fresh else None
    store.delete(batch.stale)
    ordered = [*batch.reusable, *batch.fresh]
    if ordered:
        rows = [reused[batch.reuse_from[c.text_hash]] for c in batch.reusable]
        matrix = np.vstack([*rows, *(fresh if fresh is not None else [])])
        store.add([c.id for c in ordered], matrix, [metadata(c, c.path in batch.own) for c in ordered])
    texts.replace_paths(batch.paths, [c for cs in batch.chunks.values() for c in cs], batch.own,
                        notes=batch.note_texts)


def metadata(chunk: Chunk, own: bool) -> dict[str, Any]:
    """Only what Chroma must find chunks by (path) and what vector reuse needs (text_hash); both are fixed for a
    content-addressed id, so stored metadata never goes stale. Everything else is in the ChunkStore. (Each extra
    key costs write time: 4 keys wrote ~30 % slower than 2.) `own` picks the collection and is not stored."""
    return {"path": chunk.path, "text_hash": chunk.text_hash, **({"own": True} if own else {})}

