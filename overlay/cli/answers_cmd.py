"""`overlay answers remove NOTE`: take overlay's inline answers out of a note again."""

from __future__ import annotations

import click

from overlay import library
from overlay.cli import emit_json, main, out, vault_options
from overlay.settings import Settings


@main.group("answers")
def answers_group() -> None:
    """Overlay's answers inside your notes (answer_placement = "inline")."""


@answers_group.command("remove")
@click.argument("note")
@click.option("--run", "run_id", default=None, metavar="RUN_ID", help="Only the answer of this run (default: all).")
@vault_options
def remove_command(settings: Settings, as_json: bool, note: str, run_id: str | None) -> None:
    """Remove overlay's inline answers from NOTE: the file is left exactly as it was before they were inserted.
    Refused, and nothing changed, if you edited inside one of them."""
    result = library.remove_inline_answers(settings, note, run_id)
    if as_json:
        emit_json(result)
        return
    out.print(f"removed {len(result['removed'])} inline answer(s) from {result['path']}: "
              f"{', '.join(result['removed'])}", highlight=False)
