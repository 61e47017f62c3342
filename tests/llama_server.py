"""A real OpenAI-compatible llama.cpp server for integration tests: llama-cpp-python's, through overlay's AMX-safe
launcher (`python -m overlay.engine.server`), on a free loopback port, waited for until it answers."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def llama_server(*args: str, timeout_s: float = 90.0) -> Iterator[str]:
    """The server's API base (`http://127.0.0.1:PORT/v1`) while the block runs; `args` go to llama_cpp.server."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "overlay.engine.server", *args, "--host", "127.0.0.1",
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"llama_cpp.server did not start (exit {proc.poll()})")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
