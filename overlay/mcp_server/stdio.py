"""Run the MCP server over stdio. stdout belongs to the protocol alone: the real stdout is kept for it, and file
descriptor 1 is pointed at stderr, so nothing a library prints (a C extension, a progress bar) can corrupt it."""

from __future__ import annotations

import io
import os
import sys

from overlay.mcp_server.tools import build
from overlay.session import Session


def run(session: Session) -> None:
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=0)
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = io.TextIOWrapper(protocol, encoding="utf-8", line_buffering=True)
    build(session).run("stdio")
