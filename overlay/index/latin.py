"""A second dense index for text in Latin script: the English chunks of the user's notes embedded again by an
English model (MiniLM, packaged) beside the multilingual one, and searched only for English questions.

Why: USE multilingual is what makes Russian notes and cross-lingual questions work, but on English text an English
model reads better — on a held-out English help vault the plain LlamaIndex pipeline scored 0.611 hit@1 with MiniLM
and 0.444 with USE. The second list joins the fusion (overlay.search.retrieval) only for a question in Latin script,
weighted by how much of the multilingual model's own top 10 is English text: an English question about Russian
notes leaves it out (measured: without that gate openbox's English questions lost two of twelve).

Cost: only Latin-script chunks are embedded twice, and MiniLM encodes ~27 chunks/s on 2 cores against USE's ~140,
so an English vault's first index takes several times longer; after that only changed chunks are embedded (ids are
content-addressed, as in the main collection). `latin_model = "none"` turns it off.

Kept in step by `refresh` at the end of each index run, for the notes that run touched; the manifest records which
model the collection was filled by and whether the last refresh finished, so a new model, a first run with the
setting on, or a run killed during the refresh brings the whole collection back in step on the next run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

import numpy as np

from overlay.errors import EmbeddingError
from overlay.index.chunk_store import ChunkStore
from overlay.index.chunking import chunk_body
from overlay.index.embedding import MINILM_NAMES, Embedder, minilm_path
from overlay.index.vectors import VectorStore
from overlay.settings import DEFAULT_EMBEDDING, Settings
from vault_sync.script import language

AUTO_MODEL = "minilm"
MINILM_DIM = 384  # all-MiniLM-L6-v2's, known before it is loaded
OFF = {"none", "off", ""}
BATCH = 256


class Latin(NamedTuple):
    """The English model and the collection of its vectors."""

    embedder: Embedder
    store: VectorStore


StoreFactory = Callable[[Settings, str, int], VectorStore]


def model_for(settings: Settings, main_model: str) -> str | None:
    """The English model this index uses beside `main_model` (an embedder name), or None when there is none."""
    choice = settings.latin_model.strip()
    if choice.lower() in OFF:
        return None
    if choice.lower() == "auto":
        return AUTO_MODEL if main_model == DEFAULT_EMBEDDING else None
    return choice


def collection_model(model: str) -> str:
    """The name its vectors are stored under: never the same as the model's own as a main embedding model."""
    return f"latin:{model.lower() if model.lower() in MINILM_NAMES else model}"


def collection_for(settings: Settings, main_model: str) -> str | None:
    """The name of the English model's collection beside `main_model`, known without loading anything."""
    model = model_for(settings, main_model)
    return None if model is None else collection_model(model)


def english_embedder(settings: Settings, main_model: str) -> tuple[Embedder | None, str]:
    """(the English model, or None; a warning when the setting asked for one that cannot load). "auto" without
    the package is a warning, not an error: search goes on with the multilingual model alone."""
    model = model_for(settings, main_model)
    if model is None:
        return None, ""
    try:
        source = minilm_path() if model.lower() in MINILM_NAMES else model
        embedder = _LazyEmbedder(settings, source, collection_model(model))
        if model.lower() not in MINILM_NAMES:
            embedder.load()  # its dimension is known only once loaded
    except EmbeddingError as exc:
        if settings.latin_model.strip().lower() != "auto":
            raise
        return None, f"latin_model: {exc} ({exc.hint}); English notes are searched by {main_model} alone"
    return embedder, ""


def open_latin(settings: Settings, main_model: str, store_factory: StoreFactory) -> tuple[Latin | None, str]:
    """The English model and its collection (or None, and the warning of `english_embedder`)."""
    embedder, warning = english_embedder(settings, main_model)
    if embedder is None:
        return None, warning
    return Latin(embedder, store_factory(settings, embedder.name, embedder.dim)), ""


class _LazyEmbedder:
    """MiniLM loaded on its first text, not when opened: loading sentence-transformers costs ~7 s, and an index run
    whose changes hold no English chunk (most edits of a Russian vault) never needs it."""

    def __init__(self, settings: Settings, source: str, name: str) -> None:
        self.name, self.dim = name, MINILM_DIM
        self._settings, self._source = settings, source
        self._model: Embedder | None = None

    def load(self) -> Embedder:
        if self._model is None:
            from overlay.index.embed_st import SentenceTransformerEmbedder

            self._model = SentenceTransformerEmbedder(self._source, name=self.name,
                                                      batch_size=self._settings.embedding_batch,
                                                      device=self._settings.embedding_device)
            self.dim = self._model.dim
        return self._model

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self.load().embed_documents(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self.load().embed_query(text)


def is_latin(text: str) -> bool:
    """Text in Latin script (Cyrillic letters fewer than Latin ones), its breadcrumb line aside."""
    return language(chunk_body(text)) == "en"


def refresh(paths: Iterable[str], texts: ChunkStore, latin: Latin, *, everything: bool = False) -> int:
    """Make the collection hold exactly the Latin-script chunks of the user's notes among `paths` (deleted notes
    included: theirs go); `everything`: also drop whatever it holds of chunks no longer indexed (after a refresh cut
    short). Returns how many chunks were embedded."""
    orphans: list[str] = []
    if everything:
        orphans = sorted(latin.store.all_ids() - texts.all_ids())
        if orphans:
            latin.store.delete(orphans)
    paths = sorted(set(paths))
    ids = texts.ids_for_paths(paths)
    rows = texts.get([cid for cids in ids.values() for cid in cids])
    wanted = {cid: row for cid, row in rows.items() if not row.answer and is_latin(row.text)}
    stored = {c.id for c in latin.store.chunks_for_paths(paths)}
    stale = sorted(stored - wanted.keys())
    if stale:
        latin.store.delete(stale)
    todo = [cid for cid in wanted if cid not in stored]
    for i in range(0, len(todo), BATCH):
        batch = todo[i:i + BATCH]
        texts_ = [wanted[cid].text for cid in batch]
        vectors = latin.embedder.embed_documents(texts_)
        latin.store.add(batch, vectors, [{"path": wanted[cid].path,
                                          "text_hash": hashlib.sha1(t.encode("utf-8", "surrogatepass")).hexdigest()}
                                         for cid, t in zip(batch, texts_, strict=True)])
    if everything or orphans or stale or todo:  # after a refresh cut short, too: it may have written before dying
        texts.vectors_changed()
    return len(todo)
