"""The single-writer lock in the state dir: `index`, `watch` and `reindex` write; `search` and `status` only read."""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from overlay.errors import IndexLocked


@contextmanager
def writer_lock(path: Path, command: str) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            raise IndexLocked(f"the index is being written by {holder}") from None
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "command": command, "since": time.time()}).encode())
        yield
    finally:
        os.close(fd)  # closing releases the flock, also when the process is killed


def _holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0) or b"{}")
        return f"`overlay {info.get('command', '?')}` (pid {info.get('pid', '?')})"
    except (OSError, ValueError):
        return "another overlay process"
