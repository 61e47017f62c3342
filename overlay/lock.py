"""The locks of one state dir, and who takes them (README: "Who writes what"):

- `writer.lock`: the index (manifest, chunk texts, vectors, graph). `index`, `reindex` and `watch` (for its whole
  life) hold it; `search`, `ask` and `status` only read. Taken without waiting, or waiting up to `wait_s`.
- `bm25.lock`: building and swapping the BM25 folder; whoever finds it stale (an index run, a search) rebuilds it.
- `vault.lock`: writing into the vault (answer notes, marking an asking note, the audit note), short.
flock locks are released by the kernel when a process dies, so a killed run never leaves a lock behind.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from overlay.errors import IndexLocked, OverlayError

POLL_S = 0.1


class LockTimeout(OverlayError):
    hint = "another overlay process holds it for long; `overlay status` shows the watcher, `ps` the rest"


@contextmanager
def writer_lock(path: Path, command: str, *, wait_s: float = 0.0) -> Iterator[None]:
    """The index writer's lock; IndexLocked names the holder when it is not free within `wait_s`."""
    with _flock(path, wait_s) as fd:
        if fd is None:
            raise IndexLocked(f"the index is being written by {describe(holder(path))}")
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "command": command, "since": time.time()}).encode())
        yield


@contextmanager
def short_lock(path: Path, what: str, *, timeout_s: float = 120.0) -> Iterator[None]:
    """A lock held for a moment (a BM25 swap, one note written); waits up to `timeout_s`."""
    with _flock(path, timeout_s) as fd:
        if fd is None:
            raise LockTimeout(f"{what}: {path.name} still held after {timeout_s:.0f} s")
        yield


def holder(path: Path) -> dict[str, Any] | None:
    """Who holds the writer lock now ({"pid", "command", "since"}), or None when it is free."""
    if not path.exists():
        return None
    with _flock(path, 0.0) as fd:
        if fd is not None:
            return None
    try:
        return json.loads(path.read_text(encoding="utf-8") or "{}") or {"command": "?"}
    except (OSError, ValueError):
        return {"command": "?"}


def describe(info: dict[str, Any] | None) -> str:
    if not info:
        return "another overlay process"
    return f"`overlay {info.get('command', '?')}` (pid {info.get('pid', '?')})"


@contextmanager
def _flock(path: Path, wait_s: float) -> Iterator[int | None]:
    """The locked fd, or None when the lock stayed taken for `wait_s` seconds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    yield None
                    return
                time.sleep(POLL_S)
        yield fd
    finally:
        os.close(fd)  # closing releases the flock, also when the process is killed
