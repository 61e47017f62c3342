"""The library facade: the calls every face (the CLI, the HTTP and MCP servers) makes. Computing only, no rendering."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graph import GraphFileError, LinkGraph
from overlay.answer import inline
from overlay.engine import deaths
from overlay.errors import NoteNotFound, NotIndexed
from overlay.index.embedding import Embedder, embedder_name
from overlay.index.indexer import Indexer, IndexReport, Progress
from overlay.jobs import metrics
from overlay.jobs.reindex import last_run
from overlay.jobs.watch_health import read_health
from overlay.search.grouping import NoteResult, best_notes
from overlay.search.reader import note_path, open_retriever
from overlay.search.related import Related
from overlay.search.related import related as find_related
from overlay.search.retrieval import Period, SearchResult
from overlay.settings import Settings
from vault_sync import Manifest


def index(settings: Settings, progress: Progress | None = None) -> IndexReport:
    indexer = Indexer(settings)
    report = indexer.run(progress)
    try:
        metrics.after_index(settings, indexer.graph)
    except (OSError, GraphFileError) as exc:  # the index is done; a missed snapshot is a warning, not a failure
        report.warnings.append({"path": str(metrics.path_of(settings)), "reason": f"metrics not recorded: {exc}"})
    return report


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
            "english_model": manifest.meta("latin_filled"),  # beside it for English text (overlay.index.latin), or None
            "last_index": manifest.meta("last_index"),
            "state_dir": str(settings.state_dir),
            "watcher": read_health(settings),
            "engine": deaths.read(settings),
            "nightly": last_run(settings),
            "metrics": metrics.summary(metrics.history(settings)),
        }
    finally:
        manifest.close()


def search(settings: Settings, query: str, k: int = 10, *, mode: str = "hybrid", include_answers: bool = False,
           exclude: tuple[str, ...] = (), embedder: Embedder | None = None,
           period: Period = None, read: Callable[[str], None] | None = None) -> list[SearchResult]:
    """The k best note sections, flat. `read` is told the query as search reads it (Retriever.spelled)."""
    retriever = open_retriever(settings, embedder)
    try:
        if read is not None:
            read(retriever.spelled(query))
        return retriever.search(query, k, mode=mode, include_answers=include_answers, exclude=exclude, period=period)
    finally:
        retriever.texts.close()


def search_notes(settings: Settings, query: str, k: int = 10, *, mode: str = "hybrid",
                 include_answers: bool = False, embedder: Embedder | None = None,
                 period: Period = None, read: Callable[[str], None] | None = None) -> list[NoteResult]:
    """The k best notes, each with its best sections. `read`: as for `search`."""
    retriever = open_retriever(settings, embedder)
    try:
        if read is not None:
            read(retriever.spelled(query))
        return best_notes(retriever, query, k, mode=mode, include_answers=include_answers, period=period)
    finally:
        retriever.texts.close()


def related(settings: Settings, note: str, k: int = 10) -> list[Related]:
    retriever = open_retriever(settings)
    try:
        path = note_path(retriever, note)
        return find_related(retriever, path, k)
    finally:
        retriever.texts.close()


def load_graph(settings: Settings) -> LinkGraph:
    try:
        return LinkGraph.load(settings.graph_path)
    except FileNotFoundError:
        raise NotIndexed(f"no link graph yet for {settings.vault}") from None
    except GraphFileError as exc:
        raise NotIndexed(f"{exc}", hint="run `overlay index` to rebuild it") from None


def remove_inline_answers(settings: Settings, note: str, run_id: str | None = None) -> dict[str, Any]:
    """Take overlay's inline answers out of a note (a vault path, or a name as a wiki-link would give it), leaving
    it as it was before they were inserted. Refused, with nothing changed, if the user edited inside one."""
    vault = settings.vault.resolve()
    given = (vault / note).resolve()
    path = given.relative_to(vault).as_posix() if given.is_file() and given.is_relative_to(vault) else \
        _resolve(settings, note)
    return {"path": path, "removed": inline.remove(settings, path, run_id)}


def _resolve(settings: Settings, note: str) -> str:
    resolution = load_graph(settings).resolver.resolve(note.removesuffix(".md"), "")
    if resolution.path is None:
        raise NoteNotFound(f"no note {note!r} in the index")
    return resolution.path
