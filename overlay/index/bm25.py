"""BM25 over the chunk texts with Russian and English stems (bm25s + PyStemmer).

bm25s is used directly, not through llama-index's BM25Retriever: that wrapper re-tokenises every node on each
build and its `persist()` drops the stemmer (Russian queries then match nothing after a reload). Here the stems of
each chunk are computed once, when the chunk is written, and kept in the ChunkStore; after an index run that
changed anything the BM25 matrix is rebuilt from those stored stems (no text is re-read or re-stemmed) and saved
beside the other state, tagged with the ChunkStore generation it was built from. A bulk index builds it at once;
after a small change it is rebuilt by the first search that finds it stale (~1.4 s at 25,000 chunks), which keeps
a one-note re-index fast.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from overlay.index.chunk_store import ChunkStore
from overlay.index.stems import tokenize

META = "overlay.json"


class SparseIndex:
    def __init__(self, retriever, ids: list[str], built_for: object) -> None:
        self._bm25 = retriever
        self.ids = ids
        self.built_for = built_for

    @staticmethod
    def built_for_of(folder: Path) -> object:
        try:
            return json.loads((folder / META).read_text(encoding="utf-8")).get("built_for")
        except (OSError, ValueError):
            return None

    @classmethod
    def current(cls, texts: ChunkStore, folder: Path) -> SparseIndex:
        """The saved index if it matches the ChunkStore, else a fresh build (saved for the next reader)."""
        index = cls.load(folder)
        if index is not None and index.built_for == texts.generation():
            return index
        return cls.build(texts, folder)

    @classmethod
    def build(cls, texts: ChunkStore, folder: Path) -> SparseIndex:
        """Rebuild from the stored stems and replace `folder` atomically (readers see the old or the new one)."""
        import bm25s

        built_for = texts.generation()
        ids, terms = texts.all_terms()
        if not any(terms):  # bm25s cannot index a corpus without a single term
            ids = []
        retriever = bm25s.BM25()
        if ids:
            retriever.index([t.split() for t in terms], show_progress=False)
        tmp = folder.with_name(f"{folder.name}.tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if ids:
            retriever.save(str(tmp), show_progress=False)
        (tmp / "ids.json").write_text(json.dumps(ids), encoding="utf-8")
        (tmp / META).write_text(json.dumps({"built_for": built_for, "chunks": len(ids)}), encoding="utf-8")
        old = folder.with_name(f"{folder.name}.old{os.getpid()}")
        if folder.exists():
            folder.rename(old)
        tmp.rename(folder)
        shutil.rmtree(old, ignore_errors=True)
        return cls(retriever if ids else None, ids, built_for)

    @classmethod
    def load(cls, folder: Path) -> SparseIndex | None:
        import bm25s

        try:
            ids = json.loads((folder / "ids.json").read_text(encoding="utf-8"))
            retriever = bm25s.BM25.load(str(folder), mmap=True, show_progress=False) if ids else None
        except (OSError, ValueError):
            return None
        return cls(retriever, ids, cls.built_for_of(folder))

    def search(self, query: str, n: int) -> list[tuple[str, float]]:
        """Top `n` (chunk id, BM25 score) with a positive score."""
        tokens = [t for t in tokenize(query) if self._bm25 is not None and t in self._bm25.vocab_dict]
        if not tokens:
            return []
        scores = self._bm25.get_scores(tokens)
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top])]
        return [(self.ids[i], float(scores[i])) for i in top if scores[i] > 0]
