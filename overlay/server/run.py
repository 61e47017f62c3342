"""Starting the HTTP server: loopback by default; another address only when asked for explicitly, and only with a
token that already exists (made by a loopback start or `overlay serve --print-token`)."""

from __future__ import annotations

import ipaddress
import threading

import uvicorn

from overlay.errors import OverlayError
from overlay.server.app import create_app
from overlay.server.token import ensure_token, read_token, token_path
from overlay.session import Session
from overlay.settings import Settings

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7337  # also in overlay/cli/serve_cmd.py and watch_cmd.py (kept out of the CLI's imports)


class ServeRefused(OverlayError):
    hint = "run `overlay serve --print-token` once on this machine to make a token, then pass --host again"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def server(settings: Settings, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
           session: Session | None = None) -> uvicorn.Server:
    if is_loopback(host):
        token = ensure_token(settings)
    else:
        token = read_token(settings) or ""
        if not token:
            raise ServeRefused(f"refusing to listen on {host} without a token ({token_path(settings)} is missing)")
    app = create_app(session or Session(settings), token)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                            lifespan="off")
    return uvicorn.Server(config)


def serve_in_thread(srv: uvicorn.Server) -> threading.Thread:
    """Run beside the watcher (`overlay watch --serve`): the watcher's thread keeps the index, this one answers."""
    srv.install_signal_handlers = lambda: None  # the watcher owns SIGTERM/SIGINT
    thread = threading.Thread(target=srv.run, name="overlay-serve", daemon=True)
    thread.start()
    return thread
