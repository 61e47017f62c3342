"""Embeddings from any OpenAI-compatible `/v1/embeddings` server: llama.cpp's `llama-server --embedding`, Ollama,
LM Studio, vLLM, text-embeddings-inference. The model the user already serves (bge-m3, Qwen3-Embedding,
multilingual-e5) embeds the vault; overlay sends text and checks what comes back.

The server's model name is the embedder's identity (`server:<name>`, one Chroma collection per model); its dimension
is learnt from one probe request when the embedder is made and every later answer must match it, so vectors of two
models never mix. A server that is down, slow, answers 5xx, or answers garbage (a wrong dimension, NaN, fewer
vectors than texts) is a clear EmbeddingError naming the URL; the index run stops before that batch is written.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from overlay.engine.http import api_base, client, post_json
from overlay.errors import EmbeddingError
from overlay.index.embedding import RemoteEmbedder, check_vectors
from overlay.settings import Settings

HINT = "is the server running and serving that model? check embedding_url and embedding_model (`overlay doctor`)"


class ServerEmbedder(RemoteEmbedder):
    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.url = f"{api_base(settings.embedding_url or '')}/embeddings"
        self.model = settings.embedding_model.strip()
        self._retries = max(0, settings.embedding_retries)
        self._http = client(settings.embedding_api_key, settings.embedding_timeout_s)
        self.dim = None
        self.dim = int(self._embed(["dimension probe"]).shape[1])

    def _embed(self, texts: list[str]) -> np.ndarray:
        status, data = post_json(self._http, self.url, {"model": self.model, "input": texts}, error=EmbeddingError,
                                 what=f"embedding {len(texts)} text(s) with {self.model!r}", retries=self._retries,
                                 hint=HINT)
        if status >= 400:
            raise EmbeddingError(f"{self.url} refused to embed with {self.model!r} ({status}): {_message(data)}",
                                 hint=HINT)
        return check_vectors(_vectors(data, self.url), len(texts), self.dim, self.url)


def _vectors(data: Any, url: str) -> np.ndarray:
    """`{"data": [{"index", "embedding"}, ...]}` (OpenAI's shape; the rows put back in `index` order)."""
    try:
        rows = sorted(data["data"], key=lambda row: row.get("index", 0))
        return np.asarray([row["embedding"] for row in rows], dtype=np.float32)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise EmbeddingError(f"{url} answered without OpenAI-style embeddings: {str(data)[:200]}",
                             hint="the URL should be the server's OpenAI-compatible API (…/v1)") from None


def _message(data: Any) -> str:
    if isinstance(data, dict):
        error = data.get("error")
        return str(error.get("message") if isinstance(error, dict) else error or data)[:300]
    return str(data)[:300]
