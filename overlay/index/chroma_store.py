"""The vector store: Chroma, embedded (PersistentClient in the state dir) or a server (HttpClient). The one module
that imports chromadb. Per embedding model, cosine space, our own vectors only (collections are always opened
with `embedding_function=None`, so Chroma never tries to fetch its default ONNX model), in two collections:
`chunks-…` holds the user's notes, `own-…` the overlay's own answer and audit notes. Searches read only the
first unless asked, so hundreds of answer notes on a topic can never crowd the user's notes out of the
candidates; a Chroma `where` filter would do the same 15× slower (161 → 11 ms at 25k chunks, measured)."""

from __future__ import annotations

import functools
import hashlib
import os
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import urlparse

import numpy as np

from overlay.errors import StoreError
from overlay.index.vectors import Hit, StoredChunk
from overlay.settings import Settings

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
KINDS = ("chunks", "own", "notes")


def collection_name(model: str, kind: str = "chunks") -> str:
    slug = re.sub(r"[^a-zA-Z0-9_-]+", "-", model).strip("-_")[:40] or "model"
    return f"{kind}-{slug}-{hashlib.sha1(model.encode()).hexdigest()[:8]}"


class _DimensionChanged(Exception):
    pass


def _translated(method: Callable[..., Any]) -> Callable[..., Any]:
    """Chroma's own exceptions (sqlite, rust bindings, a server gone) become a StoreError with a hint: one clear
    line at the CLI, a recorded error in the watcher — not a traceback from inside the library."""
    @functools.wraps(method)
    def wrapper(self: ChromaStore, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except StoreError:
            raise
        except Exception as exc:
            if exc.__class__.__module__.startswith("chromadb") or isinstance(exc, (OSError, ConnectionError)):
                raise StoreError(f"the vector store at {self._where} failed: {exc}".splitlines()[0],
                                 hint="another overlay process may have rewritten it meanwhile: run the command "
                                      "again; `overlay reindex` repairs a damaged store") from exc
            raise
    return wrapper


class ChromaStore:
    """The `VectorStore` on Chroma."""

    def __init__(self, settings: Settings, model: str, dim: int) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        self._where = settings.chroma_url or settings.chroma_path
        try:
            if settings.chroma_url:
                url = urlparse(settings.chroma_url)
                self._client = chromadb.HttpClient(host=url.hostname or "localhost", port=url.port or 8000,
                                                   ssl=url.scheme == "https", settings=chroma_settings)
            else:
                settings.chroma_path.mkdir(parents=True, exist_ok=True)
                self._client = chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)
            self._meta = {"hnsw:space": "cosine", "embedding_model": model, "dim": dim}
            self._col = self._open(collection_name(model))
            stored = (self._col.metadata or {}).get("dim")
            if stored is not None and int(stored) != dim:
                raise _DimensionChanged(f"the index holds {stored}-dimensional vectors of {model}, and the model now "
                                        f"gives {dim}")
            names = {c if isinstance(c, str) else c.name for c in self._client.list_collections()}
            own, notes = collection_name(model, "own"), collection_name(model, "notes")
            self._own = self._open(own) if own in names else None  # created with the first answer note
            self._notes = self._open(notes) if notes in names else None  # created with the first note vector
        except _DimensionChanged as exc:
            raise StoreError(str(exc), hint="another model answers under the same name: set embedding_model to a "
                                            "name of its own (a new collection is filled by `overlay index`)") from None
        except Exception as exc:  # chromadb raises many kinds (connection, sqlite, rust bindings)
            raise StoreError(f"cannot open the vector store at {self._where}: {exc}".splitlines()[0]) from None
        self._batch = max(1, min(4096, self._client.get_max_batch_size()))
        self.model = model

    def _open(self, name: str) -> Any:
        return _searching_wide(self._client.get_or_create_collection(name, embedding_function=None,
                                                                     metadata=self._meta))

    def _cols(self) -> list[tuple[Any, bool]]:
        """The chunk collections (the user's, the overlay's own), not the note vectors."""
        return [(self._col, False), *([(self._own, True)] if self._own is not None else [])]

    @_translated
    def count(self) -> int:
        return sum(col.count() for col, _ in self._cols())

    @_translated
    def chunks_for_paths(self, paths: Iterable[str]) -> list[StoredChunk]:
        """Every stored chunk of these notes, whatever the manifest says (crash leftovers included)."""
        found: list[StoredChunk] = []
        paths = list(dict.fromkeys(paths))
        for col, own in self._cols():
            for i in range(0, len(paths), 500):
                part = paths[i:i + 500]
                res = col.get(where={"path": {"$in": part}} if len(part) > 1 else {"path": part[0]},
                              include=["metadatas"])
                found += [StoredChunk(cid, m["path"], m.get("text_hash", ""), own) for cid, m in
                          zip(res["ids"], res["metadatas"] or [], strict=True)]
        return found

    @_translated
    def embeddings(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for col, _ in self._cols():
            wanted = [i for i in ids if i not in out]
            for i in range(0, len(wanted), self._batch):
                res = col.get(ids=wanted[i:i + self._batch], include=["embeddings"])
                out.update(zip(res["ids"], np.asarray(res["embeddings"], dtype=np.float32), strict=True))
        return out

    @_translated
    def add(self, ids: Sequence[str], vectors: np.ndarray, metadatas: Sequence[dict[str, Any]]) -> None:
        """Vectors and filter fields only (texts live in the ChunkStore); `own: True` in a chunk's metadata puts it
        in the overlay's own collection (the flag itself is not stored: the collection says it)."""
        for own in (False, True):
            rows = [i for i, m in enumerate(metadatas) if bool(m.get("own")) == own]
            if not rows:
                continue
            if own and self._own is None:
                self._own = self._open(collection_name(self.model, "own"))
            col = self._own if own else self._col
            for i in range(0, len(rows), self._batch):
                part = rows[i:i + self._batch]
                col.add(ids=[ids[r] for r in part], embeddings=vectors[part],
                        metadatas=[{k: v for k, v in metadatas[r].items() if k != "own"} for r in part])

    @_translated
    def all_ids(self, page: int = 20_000) -> set[str]:
        """Every stored id, read in pages (a 100k-note vault holds ~250k chunks)."""
        ids: set[str] = set()
        for col, _ in self._cols():
            offset = 0
            while True:
                res = col.get(include=[], limit=page, offset=offset)
                ids.update(res["ids"])
                if len(res["ids"]) < page:
                    break
                offset += page
        return ids

    @_translated
    def drop_other_models(self, keep: Iterable[str] = ()) -> list[str]:
        """Delete the collections of other embedding models (after a model change has fully migrated), except those
        of the models in `keep` (the English model's, overlay.index.latin)."""
        mine = {collection_name(model, kind) for model in (self.model, *keep) for kind in KINDS}
        dropped = []
        for col in self._client.list_collections():
            name = col if isinstance(col, str) else col.name
            if name.startswith(tuple(f"{kind}-" for kind in KINDS)) and name not in mine:
                self._client.delete_collection(name)
                dropped.append(name)
        return dropped

    @_translated
    def delete(self, ids: Sequence[str]) -> None:
        ids = list(ids)
        for col, _ in self._cols():
            for i in range(0, len(ids), self._batch):
                col.delete(ids=ids[i:i + self._batch])

    @_translated
    def query(self, vector: np.ndarray, k: int, *, include_own: bool = False) -> list[Hit]:
        """(Chroma 1.x answers fewer than k when a collection holds fewer: no count() round-trip first.)"""
        hits: list[Hit] = []
        for col, own in self._cols():
            if own and not include_own:
                continue
            res = col.query(query_embeddings=[np.asarray(vector, dtype=np.float32)], n_results=k,
                            include=["metadatas", "distances"])
            hits += [Hit(cid, 1.0 - float(dist), meta or {}) for cid, meta, dist in
                     zip(res["ids"][0], res["metadatas"][0], res["distances"][0], strict=True)]
        return sorted(hits, key=lambda h: -h.score)[:k]

    # ---- note vectors -------------------------------------------------------------------------------------------
    @_translated
    def put_notes(self, paths: Sequence[str], vectors: np.ndarray, *, new: bool = False) -> None:
        """`new`: none of these notes has a vector yet (a first index) — added without deleting first."""
        if self._notes is None:
            self._notes = self._open(collection_name(self.model, "notes"))
        ids = [_note_id(p) for p in paths]
        for i in range(0, len(ids), self._batch):  # delete + add: upserting existing ids is ~10x slower here
            part = slice(i, i + self._batch)
            meta = [{"path": p} for p in paths[part]]
            if new:
                self._notes.upsert(ids=ids[part], embeddings=vectors[part], metadatas=meta)
            else:
                self._notes.delete(ids=ids[part])
                self._notes.add(ids=ids[part], embeddings=vectors[part], metadatas=meta)

    @_translated
    def delete_notes(self, paths: Sequence[str]) -> None:
        if self._notes is not None and paths:
            ids = [_note_id(p) for p in paths]
            for i in range(0, len(ids), self._batch):
                self._notes.delete(ids=ids[i:i + self._batch])

    @_translated
    def note_paths(self) -> set[str]:
        if self._notes is None:
            return set()
        found: set[str] = set()
        offset, page = 0, 20_000
        while True:
            res = self._notes.get(include=["metadatas"], limit=page, offset=offset)
            found.update(m["path"] for m in res["metadatas"] or [])
            if len(res["ids"]) < page:
                return found
            offset += page

    @_translated
    def note_embeddings(self, paths: Sequence[str]) -> dict[str, np.ndarray]:
        if self._notes is None:
            return {}
        out: dict[str, np.ndarray] = {}
        for i in range(0, len(paths), self._batch):
            res = self._notes.get(ids=[_note_id(p) for p in paths[i:i + self._batch]],
                                  include=["embeddings", "metadatas"])
            out.update((m["path"], np.asarray(v, dtype=np.float32))
                       for m, v in zip(res["metadatas"], res["embeddings"], strict=True))
        return out

    @_translated
    def query_notes(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        if self._notes is None:
            return []
        res = self._notes.query(query_embeddings=[np.asarray(vector, dtype=np.float32)], n_results=k,
                                include=["metadatas", "distances"])
        return [(meta["path"], 1.0 - float(dist)) for meta, dist in zip(res["metadatas"][0], res["distances"][0],
                                                                          strict=True)]


# HNSW's search breadth (Chroma's `ef_search`, 100 by default); a query explores max(ef_search, n_results). With
# the breadth fixed above what a search asks for, asking for more results no longer changes which of the first
# ones are found (on npm docs the top 5 of `search --k 5` and `--k 100` differed in 27 of 54 questions). The far
# end of the 120 candidates is where HNSW misses (cosine ~0.2 in a list whose best is ~0.3): at 400, 9 of npm's 54
# questions missed one of their exact top 120, once a section at exact rank 25, and two clean indexes scored one
# question apart; at 1,000, 1 question missed one (openbox: none from 600). Cost on 40,000 chunks: 4.3 → 7.6 ms a
# query (misses of the exact top 120: 14 % → 2.4 %). Past ~20,000 chunks the HNSW build itself is not reproducible
# (the same vectors added twice in the same order: identical top 120 for 94 of 150 queries at 24,923), so search
# reads exact snapshots of these vectors instead (overlay.index.exact); Chroma's own search serves a collection
# past EXACT_MAX vectors there, where two builds can differ by a near tie.
SEARCH_EF = 1000


def _searching_wide(col: Any) -> Any:
    """The collection with `ef_search` at SEARCH_EF: set once (it is stored with the collection), also on one made
    by an earlier overlay. Chroma takes it as a configuration change only; metadata keys would not reach it."""
    hnsw = (getattr(col, "configuration", None) or {}).get("hnsw") or {}
    if hnsw.get("ef_search", SEARCH_EF) < SEARCH_EF:
        col.modify(configuration={"hnsw": {"ef_search": SEARCH_EF}})
    return col


def _note_id(path: str) -> str:
    return hashlib.sha1(path.encode("utf-8", "surrogatepass")).hexdigest()[:24]
