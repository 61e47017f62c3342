"""Embeddings from a GGUF (bge-m3, multilingual-e5, Qwen3-Embedding, or any sentence-transformers model converted
with llama.cpp's converter) run by llama-cpp-python in the model worker, with the pooling its header names and
the prefixes its family expects (overlay.index.embedding.prefixes). GPU offload as for the answer model."""

from __future__ import annotations

import numpy as np

from overlay.engine.pooled import PooledModel
from overlay.index.embedding import RemoteEmbedder, check_vectors
from overlay.settings import Settings


class GgufEmbedder(RemoteEmbedder):
    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.model = PooledModel(settings, "embed", settings.embedding_model.strip())
        self.dim = int(self.model.info["dim"])

    def _embed(self, texts: list[str]) -> np.ndarray:
        vectors = np.asarray(self.model.embed(texts), dtype=np.float32)
        return check_vectors(vectors, len(texts), self.dim, self.model.file.name)
