"""Any sentence-transformers model by hub id (already in the local cache) or local path, and CrossEncoder rerankers
from a local folder. The one module that imports sentence_transformers. Prefixes (e5's "query: " / "passage: ")
come from overlay.index.embedding.prefixes."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from overlay.errors import EmbeddingError
from overlay.index.embedding import normalise


class SentenceTransformerEmbedder:
    def __init__(self, model: str, *, name: str, batch_size: int = 64, device: str | None = None,
                 prefixes: tuple[str, str] = ("", "")) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never fetch weights at run time
        # torch's OpenMP threads spin after each call by default, and a query embedded by USE (numpy) and Chroma
        # next to one by this model then fought for 2 cores: 5 + 12 + 20 ms of work took 85-105 ms; sleeping
        # threads, 58 ms (bulk encoding unchanged, measured). Read when torch is first imported, i.e. here.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # no "Loading weights" bars in CLI output

            self._model = SentenceTransformer(model, device=device)
        except Exception as exc:  # the library raises OSError, ValueError, HF errors...
            raise EmbeddingError(f"cannot load sentence-transformers model {model!r}: {exc}".splitlines()[0],
                                 hint="give a local model folder, or a hub id already in your HF cache") from None
        self.name = name
        dim_of = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(dim_of() or 0)
        self._batch = max(1, batch_size)
        self._query_prefix, self._doc_prefix = prefixes

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode([self._doc_prefix + t for t in texts], batch_size=self._batch,
                                     normalize_embeddings=True, show_progress_bar=False, convert_to_numpy=True)
        return normalise(vectors)

    def embed_query(self, text: str) -> np.ndarray:
        vec = self._model.encode([self._query_prefix + text], normalize_embeddings=True, show_progress_bar=False,
                                 convert_to_numpy=True)
        return normalise(vec)[0]


class CrossEncoderScorer:
    """A sentence-transformers CrossEncoder from a local folder (e.g. a downloaded bge-reranker-v2-m3): (query,
    passage) pairs in, relevance scores out — the `Reranker` of overlay.search.rerank."""

    def __init__(self, model: str, device: str | None = None) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from sentence_transformers import CrossEncoder

            self._model = CrossEncoder(model, device=device)
        except Exception as exc:
            raise EmbeddingError(f"cannot load the reranker {model!r}: {exc}".splitlines()[0],
                                 hint="rerank_model: a local CrossEncoder folder, a reranking .gguf, or a model "
                                      "name with rerank_url") from None
        self.name = f"st:{model}"

    def score(self, query: str, passages: Sequence[str]) -> list[float]:
        if not passages:
            return []
        scores = self._model.predict([(query, p) for p in passages], show_progress_bar=False, convert_to_numpy=True)
        return [float(s) for s in np.asarray(scores).reshape(len(passages), -1)[:, 0]]
