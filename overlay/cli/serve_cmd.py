"""`overlay serve`."""

from __future__ import annotations

import click

from overlay.cli import err, main, vault_options
from overlay.settings import Settings

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 7337  # as overlay.server.run (not imported here: it loads the web stack)


@main.command("serve")
@click.option("--host", default=DEFAULT_HOST, show_default=True,
              help="Address to listen on. Anything but loopback needs an existing token.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(1, 65535))
@click.option("--print-token", is_flag=True, help="Print the bearer token (made on first use) and exit.")
@vault_options
def serve_command(settings: Settings, as_json: bool, host: str, port: int, print_token: bool) -> None:
    """Serve search, related notes, the graph and answers over local HTTP (for the Obsidian plugin)."""
    from overlay.server.run import is_loopback, server
    from overlay.server.token import ensure_token

    if print_token:
        click.echo(ensure_token(settings))
        return
    srv = server(settings, host, port)
    if not is_loopback(host):
        err.print(f"[yellow]listening on {host}: anyone who can reach it and has the token can read the vault[/]")
    err.print(f"overlay serve: http://{host}:{port} for {settings.vault} (token: `overlay serve --print-token`)",
              highlight=False)
    srv.run()
