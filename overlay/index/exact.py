"""Exact nearest-neighbour search over a copy of the vectors Chroma holds, so that an index of the same files
ranks the same.

Why: Chroma builds its HNSW graph with several threads, and past ~20,000 chunks two builds of the same vectors,
added in the same order and batches, are not the same graph (identical top 120 for 94 of 150 queries at 24,923
chunks; chromadb 1.5.9 takes no setting that makes the build repeatable), so two indexes of the same vault could
rank a near tie differently. A matrix product over every vector has no such spread, and at these sizes it is also
faster: 3.5–4.4 ms for a list of 120 against 11.1–14.8 ms for Chroma at `ef_search` 1,000 (24,923 × 512;
bench/exact_bench.py, README "Benchmarks").
Above `exact_max` vectors in a collection (a setting, EXACT_MAX by default), search goes to Chroma's HNSW: the matrix
is read whole for every query, linear in the vectors (warm: 4.7 ms at 150,000 × 512, 15.7 ms at 400,000 on 2 cores).

Chroma stays the store of record: the index writes only there. Here each collection (a model's section vectors,
its note vectors, the English model's section vectors) has a snapshot: the vectors in key order, tagged with the
ChunkStore's vector generation, which every write of chunks, note documents or English vectors moves. A stale
snapshot is brought in step incrementally — unchanged keys keep their rows, new ones are read from Chroma by id —
by the index run after a bulk change, else by the first search that finds it stale (as BM25, overlay.index.bm25),
under `<kind>.lock`. Keys are sorted, so the same vectors give the same file and ties rank by key.

On disk: `exact/<collection>/<kind>/` holds builds swapped in whole (overlay.index.builds): vectors.npy (as stored),
norms.npy, keys.json (keys, stamps — a note's document hash —, own flags), overlay.json (built_for, dim, complete).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from overlay.errors import StoreError
from overlay.index.bm25 import top_indices
from overlay.index.builds import current, new_build, publish, read_live
from overlay.index.chroma_store import collection_name
from overlay.index.chunk_store import ChunkStore
from overlay.index.vectors import Hit, VectorStore
from overlay.lock import short_lock
from overlay.settings import Settings

if TYPE_CHECKING:
    from overlay.index.latin import Latin

EXACT_MAX = 150_000  # vectors; 150,000 × 512 float32 is 300 MB read per query (4.7 ms warm, 36 ms in a contended hour)
META = "overlay.json"
CHUNKS, NOTES = "chunks", "notes"


@dataclass
class Snapshot:
    """One collection's vectors, rows in key order."""

    keys: list[str]
    stamps: list[str]
    own: np.ndarray  # bool per row: a chunk of the overlay's own notes
    matrix: np.ndarray  # the vectors as the store holds them (float32, memory-mapped once saved)
    norms: np.ndarray
    built_for: int
    complete: bool = True  # every wanted key was found in the store when it was built
    build: Path | None = None  # the folder it was loaded from
    _rows: dict[str, int] | None = field(default=None, repr=False)
    _user: np.ndarray | None = field(default=None, repr=False)

    def top(self, vector: np.ndarray, k: int, *, include_own: bool = False) -> list[tuple[str, float]]:
        """The k rows nearest by cosine, best first, ties by key — the same first rows whatever k is."""
        if not self.keys or k <= 0:
            return []
        query = np.asarray(vector, dtype=np.float32)
        scores = (self.matrix @ query) / (self.norms * (float(np.linalg.norm(query)) or 1.0))
        if self._user is None:
            self._user = np.flatnonzero(~self.own)
        among = np.arange(len(self.keys)) if include_own else self._user
        return [(self.keys[i], float(scores[i])) for i in top_indices(scores, k, among)]

    def vectors(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        if self._rows is None:
            self._rows = {key: i for i, key in enumerate(self.keys)}
        return {key: np.asarray(self.matrix[self._rows[key]]) for key in keys if key in self._rows}


@dataclass(frozen=True)
class Wanted:
    """What a snapshot must hold: key -> stamp (a note's document hash; "" for content-addressed chunk ids), the
    keys of the overlay's own notes, and the vector generation these were read at."""

    stamps: dict[str, str]
    own: set[str]
    built_for: int


def wanted_chunks(texts: ChunkStore) -> Wanted:
    owners, generation = texts.chunk_owners()
    return Wanted(dict.fromkeys(owners, ""), {cid for cid, own in owners.items() if own}, generation)


def wanted_notes(texts: ChunkStore) -> Wanted:
    hashes, generation = texts.doc_hashes()
    return Wanted(hashes, set(), generation)


def wanted_stored(texts: ChunkStore, store: VectorStore) -> Wanted:
    """Every chunk a store holds (the English model's: which chunks it embeds is its own rule, overlay.index.latin).
    The generation is read first, so a write after it leaves the snapshot stale, never wrongly current."""
    generation = texts.vector_generation()
    return Wanted(dict.fromkeys(store.all_ids(), ""), set(), generation)


def load(folder: Path) -> Snapshot | None:
    """The live snapshot; None when there is none or it is damaged (rebuilt by whoever wants it)."""
    return read_live(folder, _read)


def _read(build: Path) -> Snapshot | None:
    listing = json.loads((build / "keys.json").read_text(encoding="utf-8"))
    meta = json.loads((build / META).read_text(encoding="utf-8"))
    matrix = np.load(build / "vectors.npy", mmap_mode="r")
    norms = np.load(build / "norms.npy")
    keys = listing["keys"]
    if not len(keys) == len(listing["stamps"]) == len(listing["own"]) == matrix.shape[0] == len(norms):
        return None
    return Snapshot(keys, listing["stamps"], np.asarray(listing["own"], dtype=bool), matrix, norms,
                    int(meta["built_for"]), bool(meta.get("complete")), build)


def build(folder: Path, wanted: Callable[[], Wanted], fetch: Callable[[Sequence[str]], dict[str, np.ndarray]], *,
          limit: int = EXACT_MAX, fresh: bool = False) -> Snapshot | None:
    """Bring the snapshot in `folder` in step with what `wanted` reads (unless another process just did); None, and
    no snapshot kept, when it would hold more than `limit` vectors. Keys the store does not hold are left out and
    the snapshot marked incomplete, so that whoever loads it next asks the store for them again: a write in
    progress, or an embedded Chroma client opened before another process wrote (it does not see those writes;
    a fresh process does). `fresh`: every vector read from the store again (the nightly audit), none reused."""
    with short_lock(folder.with_name(folder.name + ".lock"), "rebuilding the exact-search vectors"):
        want = wanted()
        if len(want.stamps) > limit:
            shutil.rmtree(folder, ignore_errors=True)
            return None
        ready = None if fresh else load(folder)
        same = ready is not None and ready.built_for == want.built_for
        if same and ready.complete:
            return ready
        keys = sorted(want.stamps)
        kept = _reusable(ready, want)
        needed = [key for key in keys if key not in kept]
        fetched = fetch(needed) if needed else {}
        if same and not fetched:
            return ready  # still incomplete, and nothing new to write
        keys = [key for key in keys if key in kept or key in fetched]
        snapshot = _assemble(keys, want, ready, kept, fetched, complete=len(fetched) == len(needed))
        _save(folder, snapshot, ready.build if ready is not None and snapshot.matrix is ready.matrix else None)
        return load(folder) or snapshot


def _reusable(ready: Snapshot | None, want: Wanted) -> dict[str, int]:
    """Rows of the previous snapshot whose key is still wanted with the same stamp."""
    if ready is None:
        return {}
    return {key: i for i, (key, stamp) in enumerate(zip(ready.keys, ready.stamps, strict=True))
            if want.stamps.get(key) == stamp}


def _assemble(keys: list[str], want: Wanted, ready: Snapshot | None, kept: dict[str, int],
              fetched: dict[str, np.ndarray], *, complete: bool) -> Snapshot:
    """The new snapshot's rows: kept ones from `ready`, the rest fetched; `ready`'s own matrix when every row is
    kept in place (most edits leave one or two of the three snapshots as they were)."""
    stamps, own = [want.stamps[key] for key in keys], np.asarray([key in want.own for key in keys], dtype=bool)
    if ready is not None and not fetched and keys == ready.keys:
        return Snapshot(keys, stamps, own, ready.matrix, ready.norms, want.built_for, complete)
    dim = next(iter(fetched.values())).shape[0] if fetched else (ready.matrix.shape[1] if ready else 0)
    matrix = np.empty((len(keys), dim), dtype=np.float32)
    from_ready = [(row, kept[key]) for row, key in enumerate(keys) if key in kept]
    if from_ready and ready is not None:
        rows, old = np.asarray(from_ready).T
        matrix[rows] = ready.matrix[old]
    for row, key in enumerate(keys):
        if key not in kept:
            matrix[row] = fetched[key]
    norms = np.linalg.norm(matrix, axis=1) if len(keys) else np.zeros(0, dtype=np.float32)
    norms[norms == 0] = 1.0
    return Snapshot(keys, stamps, own, matrix, norms.astype(np.float32), want.built_for, complete)


def _save(folder: Path, snapshot: Snapshot, same_rows_as: Path | None) -> None:
    """`same_rows_as`: a build whose matrix this one repeats — linked, not written again (after most edits only one
    of the three snapshots changes, and the chunk matrix alone is 50 MB at 10,000 notes)."""
    build_dir = new_build(folder, snapshot.built_for)
    for name, array in (("vectors.npy", snapshot.matrix), ("norms.npy", snapshot.norms)):
        if same_rows_as is None or not _linked(same_rows_as / name, build_dir / name):
            np.save(build_dir / name, array)
    (build_dir / "keys.json").write_text(json.dumps({"keys": snapshot.keys, "stamps": snapshot.stamps,
                                                     "own": snapshot.own.tolist()}), encoding="utf-8")
    (build_dir / META).write_text(json.dumps({"built_for": snapshot.built_for, "dim": int(snapshot.matrix.shape[1]),
                                              "count": len(snapshot.keys), "complete": snapshot.complete}),
                                  encoding="utf-8")
    publish(build_dir)


def _linked(source: Path, target: Path) -> bool:
    try:
        os.link(source, target)
        return True
    except OSError:  # a filesystem without hard links, the old build pruned meanwhile: written instead
        return False


def differences(before: Snapshot, after: Snapshot) -> int:
    """How many keys one snapshot holds and the other not, or holds with another vector."""
    shared = sorted(set(before.keys) & set(after.keys))
    old, new = before.vectors(shared), after.vectors(shared)
    changed = sum(not np.array_equal(old[key], new[key]) for key in shared)
    return len(before.keys) + len(after.keys) - 2 * len(shared) + changed


class ExactStore:
    """A VectorStore whose searches (and vector reads) are exact, from the snapshots; everything else — every write
    above all — goes to the store of record it wraps."""

    def __init__(self, store: VectorStore, texts: ChunkStore, folder: Path, *, chunks_from_store: bool = False,
                 limit: int = EXACT_MAX) -> None:
        """`chunks_from_store`: the chunk keys are whatever the store holds (the English model's collection), not
        every chunk of the ChunkStore."""
        self.store, self.texts, self.folder, self.limit = store, texts, folder, limit
        self._chunks_from_store = chunks_from_store
        self._snapshots: dict[str, tuple[int, Snapshot | None]] = {}

    def __getattr__(self, name: str) -> Any:  # the rest of the VectorStore protocol: the store of record's
        return getattr(self.store, name)

    def query(self, vector: np.ndarray, k: int, *, include_own: bool = False) -> list[Hit]:
        snapshot = self.snapshot(CHUNKS)
        if snapshot is None:
            return self.store.query(vector, k, include_own=include_own)
        return [Hit(key, score, {}) for key, score in snapshot.top(vector, k, include_own=include_own)]

    def query_notes(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        snapshot = self.snapshot(NOTES)
        return self.store.query_notes(vector, k) if snapshot is None else snapshot.top(vector, k)

    def embeddings(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        snapshot = self.snapshot(CHUNKS)
        return self.store.embeddings(ids) if snapshot is None else snapshot.vectors(ids)

    def snapshot(self, kind: str) -> Snapshot | None:
        """The snapshot of `kind` as of the ChunkStore's vector generation now; None above the limit."""
        generation = self.texts.vector_generation()
        seen, snapshot = self._snapshots.get(kind, (None, None))
        if seen != generation:
            snapshot = load(self.folder / kind)
            if snapshot is None or snapshot.built_for != generation or not snapshot.complete or len(
                    snapshot.keys) > self.limit:  # the limit lowered since it was built: rebuild drops it
                try:
                    snapshot = self.rebuild(kind)
                except OSError as exc:  # disk full, a read-only state folder: one clear line, not a traceback
                    raise StoreError(f"cannot write the exact-search vectors in {self.folder}: {exc}",
                                     hint="free some disk space or make the state folder writable; search "
                                          "brings them in step after every change") from exc
            self._snapshots[kind] = (generation, snapshot)
        return snapshot

    def rebuild(self, kind: str, *, fresh: bool = False) -> Snapshot | None:
        if kind == NOTES:
            return build(self.folder / kind, lambda: wanted_notes(self.texts), self.store.note_embeddings,
                         limit=self.limit, fresh=fresh)
        wanted = (lambda: wanted_stored(self.texts, self.store)) if self._chunks_from_store else \
            (lambda: wanted_chunks(self.texts))
        return build(self.folder / kind, wanted, self.store.embeddings, limit=self.limit, fresh=fresh)

    def kinds(self) -> tuple[str, ...]:
        return (CHUNKS,) if self._chunks_from_store else (CHUNKS, NOTES)

    def bring_in_step(self, *, unless_built: bool = False) -> None:
        """Every snapshot current now; `unless_built`: only when one was never built (else the first search that
        finds it stale brings it in step)."""
        if unless_built and all(current(self.folder / kind) is not None for kind in self.kinds()):
            return
        for kind in self.kinds():
            self.snapshot(kind)


def folder_for(settings: Settings, model: str) -> Path:
    """Where the snapshots of a model's collections live (named as its Chroma collection is)."""
    return settings.exact_path / collection_name(model)


def exact_store(settings: Settings, store: VectorStore, texts: ChunkStore, model: str, *,
                chunks_from_store: bool = False, limit: int | None = None) -> ExactStore:
    """`limit`: the most vectors searched exactly (default: the `exact_max` setting)."""
    return ExactStore(store, texts, folder_for(settings, model), chunks_from_store=chunks_from_store,
                      limit=settings.exact_max if limit is None else limit)


def english_store(settings: Settings, pair: Latin, texts: ChunkStore) -> ExactStore:
    """The English model's collection searched exactly: its keys are whatever it holds (overlay.index.latin)."""
    return exact_store(settings, pair.store, texts, pair.embedder.name, chunks_from_store=True)
