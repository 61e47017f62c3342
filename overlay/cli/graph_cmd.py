"""`overlay graph export`."""

from __future__ import annotations

from pathlib import Path

import click

from graph import FORMATS, export_graph
from overlay import library
from overlay.cli import emit_json, err, main, vault_options
from overlay.errors import NoteNotFound, OverlayError
from overlay.jobs import metrics
from overlay.settings import Settings
from vault_sync import write_atomic


@main.group("graph")
def graph_group() -> None:
    """The vault's link graph."""


@graph_group.command("export")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="json", show_default=True)
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write to this file (default: standard output).")
@click.option("--around", default=None, metavar="NOTE", help="html: only this note's neighbourhood (a local graph).")
@click.option("--depth", default=1, show_default=True, type=click.IntRange(1, 5), help="With --around: link steps.")
@vault_options
def export_command(settings: Settings, as_json: bool, fmt: str, output: Path | None, around: str | None,
                   depth: int) -> None:
    """Export the graph: json (networkx node-link data), graphml, gexf, or html (a page with clusters, search and
    filters). Node ids are vault paths."""
    graph = library.load_graph(settings)
    if around is not None:
        if fmt != "html":
            raise OverlayError("--around makes a local graph page: use it with --format html")
        resolution = graph.resolver.resolve(around.removesuffix(".md"), "")
        if resolution.path is None or not graph.g.has_node(resolution.path):
            raise NoteNotFound(f"no note {around!r} in the graph")
        around = resolution.path
    groups = metrics.cached_clusters(settings, graph) if fmt == "html" and around is None else None
    text = export_graph(graph, fmt, around=around, depth=depth, vault_name=settings.vault.name, groups=groups)
    if output is None:
        click.echo(text)
        return
    write_atomic(output, text)
    summary = {"path": str(output), "format": fmt, "bytes": len(text.encode())}
    if as_json:
        emit_json(summary)
    else:
        err.print(f"wrote {summary['bytes']:,} bytes of {fmt} to {output}")
