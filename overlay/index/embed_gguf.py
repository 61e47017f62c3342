"""Embeddings from a GGUF (bge-m3, multilingual-e5, Qwen3-Embedding, or any sentence-transformers model converted
with llama.cpp's converter) run by llama-cpp-python in the model worker, with the pooling its header names and
the prefixes its family expects (overlay.index.embedding.prefixes). GPU offload as for the answer model."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from overlay.engine.pooled import PooledModel
from overlay.index.embedding import check_vectors, embedder_name, prefixes
from overlay.settings import Settings


class GgufEmbedder:
    def __init__(self, settings: Settings) -> None:
        self.model = PooledModel(settings, "embed", settings.embedding_model.strip())
        self.name = embedder_name(settings)
        self.dim = int(self.model.info["dim"])
        self._query_prefix, self._doc_prefix = prefixes(settings)
        self._batch = max(1, settings.embedding_batch)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = [self._embed([self._doc_prefix + t for t in texts[i:i + self._batch]])
                 for i in range(0, len(texts), self._batch)]
        return np.vstack(parts)

    def embed_query(self, text: str) -> np.ndarray:
        return self._embed([self._query_prefix + text])[0]

    def _embed(self, texts: list[str]) -> np.ndarray:
        vectors = np.asarray(self.model.embed(texts), dtype=np.float32)
        return check_vectors(vectors, len(texts), self.dim, self.model.file.name)
