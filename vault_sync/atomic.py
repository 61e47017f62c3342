"""Atomic file writes: temp file in the same folder, fsync, rename. A reader never sees half a file."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


class FileExistsRefused(FileExistsError):
    """A write that must create a new file found one already there; nothing was written."""


def write_atomic(path: Path, data: bytes | str, *, exclusive: bool = False) -> None:
    """Replace (or, with `exclusive`, create without ever replacing) `path` atomically."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:40]}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        if exclusive:
            try:
                os.link(tmp, path)  # fails if path exists: no window where an existing file is replaced
            except FileExistsError:
                raise FileExistsRefused(f"{path} already exists; not overwritten") from None
        else:
            os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
