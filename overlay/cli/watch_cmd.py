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
@click.option("--serve", "serve_http", is_flag=True,
              help="Also serve the HTTP API (as `overlay serve`) from this process: one service for the vault.")
@click.option("--port", default=7337, show_default=True, type=click.IntRange(1, 65535),
              help="With --serve: the port (on 127.0.0.1).")
@vault_options
def watch_command(settings: Settings, as_json: bool, nightly: str | None, serve_http: bool, port: int) -> None:
    """Keep the index in step with the vault and answer notes that ask (`overlay: ask`, #overlay/ask, > [!ask]).

    Runs in the foreground; Ctrl-C or SIGTERM stops it after the batch or answer in progress."""
    watcher = Watcher(settings, log=lambda line: err.print(line, highlight=False), nightly=nightly)

    def stop(signum: int, _frame: object) -> None:
        err.print(f"[dim]{signal.Signals(signum).name}: stopping after the current batch…[/]")
        watcher.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    err.print(f"watching {settings.vault} (state in {settings.state_dir}); Ctrl-C stops", highlight=False)
    srv = None
    if serve_http:  # imported here: the web stack costs every other command nothing
        from overlay.server.run import DEFAULT_HOST, serve_in_thread, server
        from overlay.session import Session

        srv = server(settings, DEFAULT_HOST, port, session=Session(settings, embedder=watcher.indexer.embedder))
        serve_in_thread(srv)
        err.print(f"serving http://{DEFAULT_HOST}:{port} (token: `overlay serve --print-token`)", highlight=False)
    try:
        watcher.run()
    finally:
        if srv is not None:
            srv.should_exit = True
    err.print(f"stopped; answered {watcher.health.answered} question(s)")
    if as_json:
        emit_json(watcher.health.as_dict())
