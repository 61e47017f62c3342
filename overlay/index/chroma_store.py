"""The vector store: Chroma, embedded (PersistentClient in the state dir) or a server (HttpClient). The one module
that imports chromadb. One collection per embedding model, cosine space, our own vectors only: the collection is
always opened with `embedding_function=None`, so Chroma never tries to fetch its default ONNX model."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlparse

import numpy as np

from overlay.errors import StoreError
from overlay.index.vectors import Hit, StoredChunk
from overlay.settings import Settings

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


def collection_name(model: str) -> str:
    slug = re.sub(r"[^a-zA-Z0-9_-]+", "-", model).strip("-_")[:40] or "model"
    return f"chunks-{slug}-{hashlib.sha1(model.encode()).hexdigest()[:8]}"


class ChromaStore:
    """The `VectorStore` on Chroma."""

    def __init__(self, settings: Settings, model: str, dim: int) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        try:
            if settings.chroma_url:
                url = urlparse(settings.chroma_url)
                self._client = chromadb.HttpClient(host=url.hostname or "localhost", port=url.port or 8000,
                                                   ssl=url.scheme == "https", settings=chroma_settings)
            else:
                settings.chroma_path.mkdir(parents=True, exist_ok=True)
                self._client = chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)
            self._col = self._client.get_or_create_collection(
                collection_name(model), embedding_function=None,
                metadata={"hnsw:space": "cosine", "embedding_model": model, "dim": dim})
        except Exception as exc:  # chromadb raises many kinds (connection, sqlite, rust bindings)
            where = settings.chroma_url or settings.chroma_path
            raise StoreError(f"cannot open the vector store at {where}: {exc}".splitlines()[0]) from None
        self._batch = max(1, min(4096, self._client.get_max_batch_size()))
        self.model = model

    def count(self) -> int:
        return self._col.count()

    def chunks_for_paths(self, paths: Iterable[str]) -> list[StoredChunk]:
        """Every stored chunk of these notes, whatever the manifest says (crash leftovers included)."""
        found: list[StoredChunk] = []
        paths = list(dict.fromkeys(paths))
        for i in range(0, len(paths), 500):
            part = paths[i:i + 500]
            res = self._col.get(where={"path": {"$in": part}} if len(part) > 1 else {"path": part[0]},
                                include=["metadatas"])
            found += [StoredChunk(cid, m["path"], m.get("text_hash", "")) for cid, m in
                      zip(res["ids"], res["metadatas"] or [], strict=True)]
        return found

    def embeddings(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for i in range(0, len(ids), self._batch):
            res = self._col.get(ids=list(ids[i:i + self._batch]), include=["embeddings"])
            out.update(zip(res["ids"], np.asarray(res["embeddings"], dtype=np.float32), strict=True))
        return out

    def add(self, ids: Sequence[str], vectors: np.ndarray, metadatas: Sequence[dict[str, Any]]) -> None:
        """Vectors and filter fields only; texts live in the ChunkStore (see there why)."""
        for i in range(0, len(ids), self._batch):
            j = i + self._batch
            self._col.add(ids=list(ids[i:j]), embeddings=vectors[i:j], metadatas=list(metadatas[i:j]))

    def all_ids(self, page: int = 20_000) -> set[str]:
        """Every stored id, read in pages (a 100k-note vault holds ~250k chunks)."""
        ids: set[str] = set()
        offset = 0
        while True:
            res = self._col.get(include=[], limit=page, offset=offset)
            ids.update(res["ids"])
            if len(res["ids"]) < page:
                return ids
            offset += page

    def drop_other_models(self) -> list[str]:
        """Delete the collections of other embedding models (after a model change has fully migrated)."""
        dropped = []
        for col in self._client.list_collections():
            name = col if isinstance(col, str) else col.name
            if name.startswith("chunks-") and name != self._col.name:
                self._client.delete_collection(name)
                dropped.append(name)
        return dropped

    def delete(self, ids: Sequence[str]) -> None:
        for i in range(0, len(ids), self._batch):
            self._col.delete(ids=list(ids[i:i + self._batch]))

    def query(self, vector: np.ndarray, k: int, where: dict[str, Any] | None = None) -> list[Hit]:
        n = self.count()
        if n == 0:
            return []
        res = self._col.query(query_embeddings=[np.asarray(vector, dtype=np.float32)], n_results=min(k, n),
                              where=where, include=["metadatas", "distances"])
        return [Hit(cid, 1.0 - float(dist), meta or {}) for cid, meta, dist in
                zip(res["ids"][0], res["metadatas"][0], res["distances"][0], strict=True)]
