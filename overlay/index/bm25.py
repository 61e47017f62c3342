"""BM25 over the chunk texts with Russian and English stems (bm25s + PyStemmer).

bm25s is used directly, not through llama-index's BM25Retriever: that wrapper re-tokenises every node on each
build and its `persist()` drops the stemmer (Russian queries then match nothing after a reload). Here the stems of
each chunk are computed once, when the chunk is written, and kept in the ChunkStore; after an index run that
changed anything the BM25 matrix is rebuilt from those stored stems (no text is re-read or re-stemmed), tagged with
the ChunkStore generation it was built from. A bulk index builds it at once; after a small change it is rebuilt by
the first search that finds it stale (~1.4 s at 25,000 chunks), which keeps a one-note re-index fast.

On disk: `bm25/CURRENT` names the live build folder (`bm25/g<generation>-<token>/`); a new build is written beside
it and CURRENT is replaced atomically, so a reader sees the old build or the new one, never half of either. Builds
are serialised by `bm25.lock`; a process that waited for it first looks whether the build it wanted is there.
The previous build is kept until the next one, so a reader that read CURRENT just before a swap still finds it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from overlay.index.bm25s_lib import bm25s
from overlay.index.builds import current, new_build, publish, read_live
from overlay.index.chunk_store import ChunkStore
from overlay.index.stems import tokenize
from overlay.lock import short_lock

META = "overlay.json"


class SparseIndex:
    def __init__(self, retriever, ids: list[str], built_for: object, own: np.ndarray | None = None) -> None:
        self._bm25 = retriever
        self.ids = ids
        self.built_for = built_for
        self.own = own if own is not None else np.zeros(len(ids), dtype=bool)  # the overlay's own notes' chunks

    @staticmethod
    def built_for_of(folder: Path) -> object:
        build = current(folder)
        try:
            return json.loads((build / META).read_text(encoding="utf-8")).get("built_for") if build else None
        except (OSError, ValueError):
            return None

    @classmethod
    def current(cls, texts: ChunkStore, folder: Path) -> SparseIndex:
        """The saved index if it matches the ChunkStore, else a fresh build (saved for the next reader)."""
        index = cls.load(folder)
        if index is not None and index.built_for == texts.generation():
            return index
        return cls.build(texts, folder, unless_current=True)

    @classmethod
    def build(cls, texts: ChunkStore, folder: Path, *, unless_current: bool = False) -> SparseIndex:
        """Rebuild from the stored stems and make it the live build. `unless_current`: when another process built
        the same generation while this one waited for the lock, use that."""
        with short_lock(folder.with_name(folder.name + ".lock"), "rebuilding the BM25 index"):
            ids, terms, own, built_for = texts.all_terms()
            if unless_current:
                ready = cls.load(folder)
                if ready is not None and ready.built_for == built_for:
                    return ready
            if not any(terms):  # bm25s cannot index a corpus without a single term
                ids, own = [], []
            retriever = bm25s.BM25()
            if ids:
                retriever.index([t.split() for t in terms], show_progress=False)
            build = new_build(folder, built_for)
            if ids:
                retriever.save(str(build), show_progress=False)
            (build / "ids.json").write_text(json.dumps(ids), encoding="utf-8")
            np.save(build / "own.npy", np.asarray(own, dtype=bool))
            (build / META).write_text(json.dumps({"built_for": built_for, "chunks": len(ids)}), encoding="utf-8")
            publish(build)
        return cls(retriever if ids else None, ids, built_for, np.asarray(own, dtype=bool))

    @classmethod
    def load(cls, folder: Path) -> SparseIndex | None:
        def read(build: Path) -> SparseIndex:
            ids = json.loads((build / "ids.json").read_text(encoding="utf-8"))
            retriever = bm25s.BM25.load(str(build), mmap=True, show_progress=False) if ids else None
            own = np.load(build / "own.npy")
            built_for = json.loads((build / META).read_text(encoding="utf-8")).get("built_for")
            return cls(retriever, ids, built_for, own)

        return read_live(folder, read)

    def vocabulary(self) -> list[str]:
        """Every stem some chunk has."""
        return list(self._bm25.vocab_dict) if self._bm25 is not None else []

    def knows(self, stem: str) -> bool:
        """Whether some chunk of the vault has this stem."""
        return self._bm25 is not None and stem in self._bm25.vocab_dict

    def search(self, query: str, n: int, *, include_own: bool = False) -> list[tuple[str, float]]:
        """Top `n` (chunk id, BM25 score) with a positive score; the overlay's own notes only when asked for (they
        are masked before ranking, so hundreds of answer notes cannot push the user's notes out)."""
        tokens = [t for t in tokenize(query) if self._bm25 is not None and t in self._bm25.vocab_dict]
        if not tokens:
            return []
        scores = np.asarray(self._bm25.get_scores(tokens), dtype=np.float64)
        if not include_own and len(self.own) == len(scores):
            scores[self.own] = 0.0
        return [(self.ids[i], float(scores[i])) for i in top_indices(scores, n)]


def top_indices(scores: np.ndarray, n: int, among: np.ndarray | None = None) -> np.ndarray:
    """The indices of the n best positive scores (of the indices `among`, when given), best first, ties in index
    order: the same first results whatever n is (an unstable partition and sort broke ties differently for each n,
    so `search --k` changed the top)."""
    positive = np.flatnonzero(scores > 0) if among is None else among
    if len(positive) > n:
        cut = -np.partition(-scores[positive], n - 1)[n - 1]
        above = positive[scores[positive] > cut]
        positive = np.concatenate([above, positive[scores[positive] == cut][: n - len(above)]])
    return positive[np.lexsort((positive, -scores[positive]))]
