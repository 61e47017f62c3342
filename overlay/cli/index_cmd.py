"""`overlay index` and `overlay status`."""

from __future__ import annotations

from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from overlay import app
from overlay.cli import emit_json, err, main, out, vault_options
from overlay.settings import Settings


@main.command("index")
@vault_options
def index_command(settings: Settings, as_json: bool) -> None:
    """Bring the index in step with the vault (only what changed is re-embedded)."""
    with Progress(TextColumn("[bold]indexing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=err, transient=True, disable=as_json or not err.is_terminal) as bar:
        task = bar.add_task("index", total=None)
        report = app.index(settings, lambda _stage, done, total: bar.update(task, completed=done, total=total))
    data = report.as_dict()
    if as_json:
        emit_json(data)
        return
    out.print(f"[bold]{data['notes']}[/] notes, {data['chunks']} chunks in {data['seconds']:.1f}s — "
              f"new {data['new']}, modified {data['modified']}, moved {data['moved']}, deleted {data['deleted']}, "
              f"unchanged {data['unchanged']}; embedded {data['embedded']}, reused {data['reused']}")
    _problems("skipped", data["skipped"])
    _problems("warnings", data["warnings"])


def _problems(title: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    table = Table(title=f"{title} ({len(rows)})", title_justify="left", show_lines=False)
    table.add_column("path", overflow="fold")
    table.add_column("reason", overflow="fold")
    for row in rows[:50]:
        table.add_row(row["path"], row["reason"])
    out.print(table)
    if len(rows) > 50:
        out.print(f"… and {len(rows) - 50} more (see --json)")


@main.command("status")
@vault_options
def status_command(settings: Settings, as_json: bool) -> None:
    """What is indexed, what was skipped and why, and when the last index ran."""
    data = app.status(settings)
    if as_json:
        emit_json(data)
        return
    table = Table(show_header=False, box=None)
    for key in ("vault", "notes", "chunks", "links", "unresolved_links", "embedding_model", "state_dir"):
        table.add_row(key, str(data[key]))
    last = data.get("last_index") or {}
    table.add_row("last_index", f"{last.get('seconds', '?')}s" if last else "never")
    table.add_row("skipped", str(len(data["skipped"])))
    out.print(table)
    _problems("skipped", data["skipped"])
