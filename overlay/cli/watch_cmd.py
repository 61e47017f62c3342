"""`overlay watch`."""

from __future__ import annotations

import signal

import click

from overlay.cli import emit_json, err, main, vault_options
from overlay.jobs.watch import Watcher
from overlay.settings import Settings


@main.command("watch")
@click.option("--nightly", metavar="HH:MM", default=None,
              help="Also run `overlay reindex` (audit, repair, audit note) every day at this time.")
@vault_options
def watch_command(settings: Settings, as_json: bool, nightly: str | None) -> None:
    """Keep the index in step with the vault and answer notes that ask (`overlay: ask`, #overlay/ask, > [!ask]).

    Runs in the foreground; Ctrl-C or SIGTERM stops it after the batch or answer in progress."""
    watcher = Watcher(settings, log=lambda line: err.print(line, highlight=False), nightly=nightly)

    def stop(signum: int, _frame: object) -> None:
        err.print(f"[dim]{signal.Signals(signum).name}: stopping after the current batch…[/]")
        watcher.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    err.print(f"watching {settings.vault} (state in {settings.state_dir}); Ctrl-C stops", highlight=False)
    watcher.run()
    err.print(f"stopped; answered {watcher.health.answered} question(s)")
    if as_json:
        emit_json(watcher.health.as_dict())
