"""`overlay graph export`."""

from __future__ import annotations

from pathlib import Path

import click

from graph import FORMATS, export_graph
from overlay import library
from overlay.cli import emit_json, err, main, vault_options
from overlay.settings import Settings
from vault_sync import write_atomic


@main.group("graph")
def graph_group() -> None:
    """The vault's link graph."""


@graph_group.command("export")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="json", show_default=True)
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write to this file (default: standard output).")
@vault_options
def export_command(settings: Settings, as_json: bool, fmt: str, output: Path | None) -> None:
    """Export the graph: json (networkx node-link data), graphml or gexf. Node ids are vault paths."""
    text = export_graph(library.load_graph(settings), fmt)
    if output is None:
        click.echo(text)
        return
    write_atomic(output, text)
    summary = {"path": str(output), "format": fmt, "bytes": len(text.encode())}
    if as_json:
        emit_json(summary)
    else:
        err.print(f"wrote {summary['bytes']:,} bytes of {fmt} to {output}")
