"""`overlay index` and `overlay status`."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from overlay import library
from overlay.cli import emit_json, err, main, out, vault_options
from overlay.settings import Settings


@main.command("index")
@vault_options
def index_command(settings: Settings, as_json: bool) -> None:
    """Bring the index in step with the vault (only what changed is re-embedded)."""
    with progress_bar(as_json) as update:
        report = library.index(settings, update)
    data = report.as_dict()
    if as_json:
        emit_json(data)
        return
    out.print(f"[bold]{data['notes']}[/] notes, {data['chunks']} chunks in {data['seconds']:.1f}s — "
              f"new {data['new']}, modified {data['modified']}, moved {data['moved']}, deleted {data['deleted']}, "
              f"unchanged {data['unchanged']}; embedded {data['embedded']}, reused {data['reused']}"
              + (f", English model {data['latin_vectors']}" if data["latin_vectors"] else ""))
    if data["reread"]:
        out.print(f"[dim]{data['reread']}[/]", highlight=False)
    problems("skipped", data["skipped"])
    problems("warnings", data["warnings"])


@contextmanager
def progress_bar(quiet: bool) -> Iterator[Callable[[str, int, int], None]]:
    """A rich progress bar on stderr (none for --json or when stderr is not a terminal)."""
    with Progress(TextColumn("[bold]indexing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=err, transient=True, disable=quiet or not err.is_terminal) as bar:
        task = bar.add_task("index", total=None)
        yield lambda _stage, done, total: bar.update(task, completed=done, total=total)


def problems(title: str, rows: list[dict[str, Any]]) -> None:
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
    data = library.status(settings)
    if as_json:
        emit_json(data)
        return
    table = Table(show_header=False, box=None)
    for key in ("vault", "notes", "chunks", "links", "unresolved_links", "embedding_model", "english_model",
                "state_dir"):
        table.add_row(key, str(data[key] or "none"))
    last = data.get("last_index") or {}
    table.add_row("last_index", f"{last.get('seconds', '?')}s" if last else "never")
    table.add_row("skipped", str(len(data["skipped"])))
    w = data.get("watcher") or {}
    table.add_row("watcher", f"running (pid {w.get('pid')}), answered {w.get('answered', 0)}, "
                             f"{len(w.get('errors', []))} recent error(s)" if w.get("running") else "not running")
    engine = data.get("engine") or {}
    if engine.get("deaths"):
        last_death = engine["deaths"][-1]
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(last_death["time"]))
        table.add_row("model process", f"[red]died {engine['total']} time(s)[/], last {when} "
                                       f"({last_death['cause']}, {last_death.get('owner', '?')})")
    night = data.get("nightly")
    if night:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(night["time"]))
        table.add_row("last reindex", f"{when}, {'ok' if night['ok'] else '[red]FAILED[/]: ' + str(night['error'])}"
                                      f" ({night['via']}, {night['seconds']:.1f}s)")
    m = data.get("metrics") or {}
    if m:
        change = m.get("change", {})
        clusters = f"clusters {m['clusters']}" if m.get("clusters") else "clusters after a reindex"
        table.add_row("since " + m["since"], f"notes {change.get('notes', 0):+d}, links {change.get('links', 0):+d}, "
                                             f"unlinked {100 * (m.get('orphan_share') or 0):.0f} %, {clusters}")
    out.print(table)
    problems("skipped", data["skipped"])
    errors = [{"path": f"{time.strftime('%m-%d %H:%M', time.localtime(e['time']))} {e['path']}".strip(),
               "reason": e["reason"]} for e in w.get("errors", [])]
    problems("watcher errors (latest last)", errors)
    died = [{"path": f"{time.strftime('%m-%d %H:%M', time.localtime(d['time']))} {d.get('owner', '')}".strip(),
             "reason": f"{d['cause']} while {d['stage']}. fix: {d['fix']}"} for d in engine.get("deaths", [])[-5:]]
    problems("model process deaths (latest last)", died)
