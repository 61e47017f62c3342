"""`overlay search`."""

from __future__ import annotations

import click
from rich.table import Table

from overlay import library
from overlay.cli import emit_json, main, out, period_of, period_options, vault_options
from overlay.index.stems import unmark
from overlay.search.retrieval import MODES
from overlay.settings import Settings


@main.command("search")
@click.argument("query")
@click.option("--k", default=10, show_default=True, type=click.IntRange(1, 200), help="Number of notes (or sections).")
@click.option("--mode", type=click.Choice(MODES), default="hybrid", show_default=True,
              help="dense (meaning), sparse (BM25 words), graph (notes linked to the best hits), or all fused.")
@click.option("--sections", "flat", is_flag=True, help="One row per note section instead of one per note.")
@click.option("--include-answers", is_flag=True, help="Also search the overlay's own answer notes.")
@period_options
@vault_options
def search_command(settings: Settings, as_json: bool, query: str, k: int, mode: str, flat: bool,
                   include_answers: bool, after, before) -> None:
    """Find the notes (and their sections) that answer QUERY (Russian or English)."""
    period = period_of(after, before)
    read: list[str] = []
    find = library.search if flat else library.search_notes
    results = [r.as_dict() for r in find(settings, query, k, mode=mode, include_answers=include_answers, period=period,
                                         read=read.append)]
    if as_json:
        emit_json(results)
        return
    if read and read[0] != unmark(query):  # typed on the wrong layout, or a slip in a note's name
        out.print(f"searched for: {read[0]}")
    if not results:
        out.print("no results")
        return
    table = Table("score", "note", "snippet", "why", show_lines=True)
    for r in results:
        for i, section in enumerate(r.get("sections") or [r]):
            where = (r["path"] if i == 0 else "") + (f" › {section['heading']}" if section["heading"] else "")
            table.add_row(f"{section['score']:.4f}", where, section["snippet"], "\n".join(section["why"]))
    out.print(table)


@main.command("related")
@click.argument("note")
@click.option("--k", default=10, show_default=True, type=click.IntRange(1, 200))
@vault_options
def related_command(settings: Settings, as_json: bool, note: str, k: int) -> None:
    """Notes most related to NOTE (a vault path like "Folder/Note.md"), marking those not linked yet."""
    results = [r.as_dict() for r in library.related(settings, note, k)]
    if as_json:
        emit_json(results)
        return
    table = Table("score", "note", "linked", "why")
    for r in results:
        table.add_row(f"{r['score']:.4f}", r["path"], "yes" if r["linked"] else "[bold]not yet[/]", ", ".join(r["why"]))
    out.print(table)
