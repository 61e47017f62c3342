"""The vector-store interface: what the indexer, search and the nightly audit ask of a store of chunk vectors.
`overlay.index.chroma_store.ChromaStore` is the real one (embedded or a Chroma server); tests use an in-memory fake."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True, slots=True)
class StoredChunk:
    id: str
    path: str
    text_hash: str
    own: bool = False  # stored with the overlay's own notes (answers, the audit note)


@dataclass(frozen=True, slots=True)
class Hit:
    id: str
    score: float  # cosine similarity
    metadata: dict[str, Any]  # what the store keeps beside the vector (Chroma: path, text_hash); {} from exact search


@runtime_checkable
class VectorStore(Protocol):
    """Chunk vectors keyed by content-addressed chunk id, each with the metadata `path` and `text_hash`."""

    def count(self) -> int: ...

    def chunks_for_paths(self, paths: Iterable[str]) -> list[StoredChunk]:
        """Every stored chunk of these notes, whatever the manifest says (crash leftovers included)."""
        ...

    def embeddings(self, ids: Sequence[str]) -> dict[str, np.ndarray]: ...

    def add(self, ids: Sequence[str], vectors: np.ndarray, metadatas: Sequence[dict[str, Any]]) -> None:
        """`own: True` in a chunk's metadata stores it apart, with the overlay's own notes."""
        ...

    def delete(self, ids: Sequence[str]) -> None: ...

    def all_ids(self) -> set[str]: ...

    def drop_other_models(self, keep: Iterable[str] = ()) -> list[str]:
        """Delete the vectors of other embedding models (after a model change has fully migrated), except those of
        the models in `keep`."""
        ...

    def query(self, vector: np.ndarray, k: int, *, include_own: bool = False) -> list[Hit]:
        """The k nearest chunks of the user's notes (and of the overlay's own with `include_own`), best first."""
        ...

    # ---- note vectors: one per note (overlay.index.note_docs) -------------------------------------------------
    def put_notes(self, paths: Sequence[str], vectors: np.ndarray, *, new: bool = False) -> None:
        """Set (replace) the note vectors of these notes; `new`: none has one yet."""
        ...

    def delete_notes(self, paths: Sequence[str]) -> None: ...

    def note_paths(self) -> set[str]: ...

    def note_embeddings(self, paths: Sequence[str]) -> dict[str, np.ndarray]:
        """The note vectors of these notes (those that have one), by path."""
        ...

    def query_notes(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        """The k notes whose note vector is nearest, (path, cosine), best first."""
        ...
