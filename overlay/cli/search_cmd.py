"""`overlay search`."""

from __future__ import annotations

import click
from rich.table import Table

from overlay import app
from overlay.cli import emit_json, main, out, vault_options
from overlay.settings import Settings


@main.command("search")
@click.argument("query")
@click.option("--k", default=10, show_default=True, type=click.IntRange(1, 200), help="Number of results.")
@click.option("--include-answers", is_flag=True, help="Also search the overlay's own answer notes.")
@vault_options
def search_command(settings: Settings, as_json: bool, query: str, k: int, include_answers: bool) -> None:
    """Find the note sections closest in meaning to QUERY (Russian or English)."""
    results = [r.as_dict() for r in app.search(settings, query, k, include_answers=include_answers)]
    if as_json:
        emit_json(results)
        return
    if not results:
        out.print("no results")
        return
    table = Table("score", "note", "snippet", show_lines=True)
    for r in results:
        where = r["path"] + (f" › {r['heading']}" if r["heading"] else "")
        table.add_row(f"{r['score']:.3f}", where, r["snippet"])
    out.print(table)
