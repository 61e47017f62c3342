"""`overlay` command line: parse flags, call overlay.library, render. Nothing here computes."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from overlay.errors import OverlayError
from overlay.settings import load_settings, parse_assignments

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def vault_options(func):
    """--vault / --json / --debug on every command; OverlayError becomes one line plus a hint, exit 1."""

    @click.option("--vault", type=click.Path(path_type=Path, file_okay=False), default=None,
                  help="Vault folder (default: $OVERLAY_VAULT, else the nearest parent holding .obsidian/).")
    @click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
    @click.option("--debug", is_flag=True, envvar="OVERLAY_DEBUG", help="Show the full traceback on errors.")
    @click.option("--set", "assignments", multiple=True, metavar="NAME=VALUE",
                  help="Override a setting for this run (repeatable), e.g. --set ask_k=5 --set n_ctx=8192.")
    @functools.wraps(func)
    def wrapper(vault: Path | None, as_json: bool, debug: bool, assignments: tuple[str, ...], **kwargs: Any) -> None:
        try:
            settings = load_settings(vault, **parse_assignments(assignments))
            func(settings=settings, as_json=as_json, **kwargs)
        except OverlayError as exc:
            if debug:
                raise
            err.print(f"[bold red]error:[/] {exc}", highlight=False)
            if exc.hint:
                err.print(f"[dim]hint: {exc.hint}[/]", highlight=False)
            sys.exit(1)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="overlay")
def main() -> None:
    """Local-first AI overlay for an Obsidian vault."""


def period_options(func):
    """--after / --before YYYY-MM-DD: only text dated within (chat exchanges, daily notes, notes with `date:`)."""
    date = click.DateTime(formats=["%Y-%m-%d"])
    func = click.option("--before", type=date, default=None, help="Only text dated on or before YYYY-MM-DD.")(func)
    return click.option("--after", type=date, default=None, help="Only text dated on or after YYYY-MM-DD.")(func)


def period_of(after: Any, before: Any) -> tuple[str, str] | None:
    if after is None and before is None:
        return None
    return (after.date().isoformat() if after else "", before.date().isoformat() if before else "")


def _register() -> None:
    from overlay.cli import (  # noqa: F401  (commands attach themselves)
        answers_cmd,
        ask_cmd,
        dataset_cmd,
        doctor_cmd,
        eval_cmd,
        graph_cmd,
        index_cmd,
        mcp_cmd,
        reindex_cmd,
        search_cmd,
        serve_cmd,
        watch_cmd,
    )


_register()

