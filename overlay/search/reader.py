"""Everything a query needs, opened read-only: the embedder, the vector store, the chunk texts, BM25, the graph.
The writer lock is not taken: searches run beside an index run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graph import GraphFileError, LinkGraph
from overlay.errors import NoteNotFound, NotIndexed
from overlay.index import latin
from overlay.index.bm25 import SparseIndex
from overlay.index.chroma_store import ChromaStore
from overlay.index.chunk_store import ChunkStore
from overlay.index.embedding import Embedder, make_embedder
from overlay.index.exact import english_store, exact_store
from overlay.index.latin import Latin
from overlay.search.rerank import make_reranker
from overlay.search.retrieval import Retriever
from overlay.settings import Settings
from vault_sync import Manifest

FUSION_SETTINGS = ("graph_weight", "fusion", "note_evidence", "bm25_coverage", "note_weight", "link_boost",
                   "hub_penalty", "dense_standout", "consensus", "title_weight", "context_questions")


def fusion_options(settings: Settings) -> dict[str, Any]:
    """The Retriever's fusion options as the settings give them: a new adjustment is wired here once, for every
    retriever built from settings (the faces, the benchmarks, the tests)."""
    return {name: getattr(settings, name) for name in FUSION_SETTINGS}


def open_retriever(settings: Settings, embedder: Embedder | None = None, *, live: bool = False) -> Retriever:
    """`live`: the retriever follows later index runs (BM25 and graph reloaded when they change), for a process
    that searches many times (a server)."""
    if not settings.manifest_path.is_file():
        raise NotIndexed(f"no index yet for {settings.vault}")
    embedder = embedder or make_embedder(settings)
    try:
        graph = LinkGraph.load(settings.graph_path)
    except (FileNotFoundError, GraphFileError):
        graph = None  # graph expansion is skipped; `overlay index` rebuilds the file
    texts = ChunkStore(settings.chunks_path)
    store = exact_store(settings, ChromaStore(settings, embedder.name, embedder.dim), texts, embedder.name)
    return Retriever(embedder=embedder, store=store, texts=texts,
                     sparse=SparseIndex.current(texts, settings.bm25_path), graph=graph,
                     **fusion_options(settings), reranker=make_reranker(settings), rerank_top=settings.rerank_top,
                     bm25_path=settings.bm25_path if live else None, graph_path=settings.graph_path if live else None,
                     latin=english_opener(settings, embedder.name, texts))


def english_opener(settings: Settings, main_model: str, texts: ChunkStore) -> Callable[[], Latin | None] | None:
    """None when no English model is configured beside `main_model`; else what opens it — once an index run has
    filled its collection (the manifest records that), so search never creates a collection nor reads a half-filled
    one, and a long-lived retriever picks it up after the first run that fills it."""
    collection = latin.collection_for(settings, main_model)
    if collection is None:
        return None

    def open_when_filled() -> Latin | None:
        manifest = Manifest(settings.manifest_path)
        try:
            filled = manifest.meta("latin_filled") == collection
        finally:
            manifest.close()
        return searched_exactly(settings, latin.open_latin(settings, main_model, ChromaStore)[0], texts) \
            if filled else None

    return open_when_filled


def searched_exactly(settings: Settings, pair: Latin | None, texts: ChunkStore) -> Latin | None:
    """The English model with its collection searched exactly (overlay.index.exact)."""
    if pair is None:
        return None
    return Latin(pair.embedder, english_store(settings, pair, texts))


def note_path(retriever: Retriever, note: str) -> str:
    """Accept a vault path, with or without .md, or a note name / alias as a wiki-link would."""
    if retriever.graph is None:
        raise NotIndexed("no link graph yet", hint="run `overlay index`")
    resolution = retriever.graph.resolver.resolve(note.removesuffix(".md"), "")
    if resolution.path is None:
        raise NoteNotFound(f"no note {note!r} in the index")
    return resolution.path
