"""`overlay reindex` and `overlay schedule`."""

from __future__ import annotations

import click

from overlay.cli import emit_json, main, out, vault_options
from overlay.cli.index_cmd import progress_bar
from overlay.errors import OverlayError
from overlay.jobs import schedule
from overlay.jobs.reindex import reindex_now_or_hand_off
from overlay.settings import Settings


@main.command("reindex")
@click.option("--full", is_flag=True, help="Re-embed every note (after a model upgrade, or to start clean).")
@click.option("--quiet", is_flag=True, help="Print nothing when all went well (for cron: errors still print).")
@vault_options
def reindex_command(settings: Settings, as_json: bool, full: bool, quiet: bool) -> None:
    """Rescan, audit manifest/vectors/texts/graph/BM25, repair every mismatch, and write the vault audit note.

    While `overlay watch` runs for the vault, the job is handed to it and this command waits for the result."""
    with progress_bar(as_json or quiet) as update:
        outcome = reindex_now_or_hand_off(settings, full=full, progress=update)
    if not outcome["ok"]:
        raise OverlayError(f"reindex failed: {outcome['error']}", hint=outcome.get("hint") or
                           "the error is also in `overlay status` and the audit note; `--debug` shows a traceback")
    report = outcome["report"]
    if as_json:
        emit_json({**report, "via": outcome["via"]})
        return
    if quiet:
        return
    checked, repaired = report["checked"], {k: v for k, v in report["repaired"].items() if v}
    via = " (run by the watcher)" if outcome["via"] == "watcher" else ""
    out.print(f"checked {checked.get('notes', 0)} notes, {checked.get('chunks', 0)} chunks, "
              f"{checked.get('graph_notes', 0)} graph notes in {report['seconds']:.1f}s{via}; "
              f"re-embedded {report['reembedded']}", highlight=False)
    out.print("repaired: " + (", ".join(f"{k} {v}" for k, v in repaired.items()) or "nothing needed"), highlight=False)
    for message in report["messages"]:
        out.print(f"- {message}", highlight=False)
    if report["report_note"]:
        out.print(f"[green]audit note[/] {report['report_note']}", highlight=False)


@main.command("schedule")
@click.argument("action", type=click.Choice(["print", "install", "remove"]))
@click.option("--at", "at", default="03:30", show_default=True, help="Time of day (24 h) for the nightly reindex.")
@click.option("--cron", "use_cron", is_flag=True, help="Use a crontab line even where systemd is available.")
@vault_options
def schedule_command(settings: Settings, as_json: bool, action: str, at: str, use_cron: bool) -> None:
    """Run `overlay reindex` for this vault every night: a systemd user timer, else a crontab line."""
    use_systemd = False if use_cron else None
    if action == "remove":
        message = schedule.remove(settings, use_systemd=use_systemd)
    else:
        p = schedule.plan(settings, at, use_systemd=use_systemd)
        if action == "print":
            if as_json:
                emit_json({"kind": p.kind, "files": {str(k): v for k, v in p.files.items()},
                           "cron_line": p.cron_line, "commands": p.commands})
            else:
                click.echo(p.describe(), nl=False)
            return
        message = schedule.install(p, settings)
    if as_json:
        emit_json({"action": action, "result": message})
    else:
        out.print(message, highlight=False)
