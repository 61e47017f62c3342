"""The library face of overlay: what the CLI (and any other front-end) calls. Computing only, no rendering."""

from __future__ import annotations

from typing import Any

from graph import GraphFileError, LinkGraph
from overlay.chunkstore import ChunkStore
from overlay.embedding import Embedder, embedder_name, make_embedder
from overlay.errors import NoteNotFound, NotIndexed
from overlay.health import read_health
from overlay.indexer import Indexer, IndexReport, Progress
from overlay.related import Related
from overlay.related import related as find_related
from overlay.retrieval import Retriever, SearchResult
from overlay.settings import Settings
from overlay.sparse import SparseIndex
from overlay.store import VectorStore
from vault_sync import Manifest


def index(settings: Settings, progress: Progress | None = None) -> IndexReport:
    return Indexer(settings).run(progress)


def status(settings: Settings) -> dict[str, Any]:
    """Read-only, fast: the manifest alone (graph figures are recorded there at each index)."""
    if not settings.manifest_path.is_file():
        raise NotIndexed(f"no index yet for {settings.vault}")
    manifest = Manifest(settings.manifest_path)
    try:
        counts = manifest.counts()
        graph_stats = manifest.meta("graph_stats", {}) or {}
        return {
            "vault": str(settings.vault),
            "notes": counts["notes"],
            "chunks": counts["chunks"],
            "links": graph_stats.get("links", 0),
            "unresolved_links": graph_stats.get("unresolved_links", 0),
            "skipped": manifest.skipped(),
            "embedding_model": manifest.meta("embedding_model") or embedder_name(settings),
            "last_index": manifest.meta("last_index"),
            "state_dir": str(settings.state_dir),
            "watcher": read_health(settings),
        }
    finally:
        manifest.close()


def open_retriever(settings: Settings, embedder: Embedder | None = None) -> Retriever:
    """Everything a query needs, opened read-only (the writer lock is not taken: searches run beside an index)."""
    if not settings.manifest_path.is_file():
        raise NotIndexed(f"no index yet for {settings.vault}")
    embedder = embedder or make_embedder(settings)
    try:
        graph = LinkGraph.load(settings.graph_path)
    except (FileNotFoundError, GraphFileError):
        graph = None  # graph expansion is skipped; `overlay index` rebuilds the file
    texts = ChunkStore(settings.chunks_path)
    return Retriever(embedder=embedder, store=VectorStore(settings, embedder.name, embedder.dim), texts=texts,
                     sparse=SparseIndex.current(texts, settings.bm25_path), graph=graph,
                     graph_weight=settings.graph_weight, fusion=settings.fusion)


def search(settings: Settings, query: str, k: int = 10, *, mode: str = "hybrid", include_answers: bool = False,
           exclude: tuple[str, ...] = (), embedder: Embedder | None = None) -> list[SearchResult]:
    retriever = open_retriever(settings, embedder)
    try:
        return retriever.search(query, k, mode=mode, include_answers=include_answers, exclude=exclude)
    finally:
        retriever.texts.close()


def related(settings: Settings, note: str, k: int = 10) -> list[Related]:
    retriever = open_retriever(settings)
    try:
        path = note_path(retriever, note)
        return find_related(retriever, path, k)
    finally:
        retriever.texts.close()


def note_path(retriever: Retriever, note: str) -> str:
    """Accept a vault path, with or without .md, or a note name / alias as a wiki-link would."""
    if retriever.graph is None:
        raise NotIndexed("no link graph yet", hint="run `overlay index`")
    resolution = retriever.graph.resolver.resolve(note.removesuffix(".md"), "")
    if resolution.path is None:
        raise NoteNotFound(f"no note {note!r} in the index")
    return resolution.path


def load_graph(settings: Settings) -> LinkGraph:
    try:
        return LinkGraph.load(settings.graph_path)
    except FileNotFoundError:
        raise NotIndexed(f"no link graph yet for {settings.vault}") from None
    except GraphFileError as exc:
        raise NotIndexed(f"{exc}", hint="run `overlay index` to rebuild it") from None
