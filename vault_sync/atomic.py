"""Atomic file writes: temp file in the same folder, fsync, rename, fsync the folder. A reader never sees half a
file; a replaced file keeps its mode; a new file gets the mode the process umask gives (0644 under 022)."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
import threading
from pathlib import Path

# Filesystems without hard links (exFAT, FAT, SMB/CIFS, some FUSE mounts) refuse os.link with one of these.
_NO_HARD_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EMLINK, errno.ENOSYS,
                  errno.EACCES}
_UMASK_LOCK = threading.Lock()


class FileExistsRefused(FileExistsError):
    """A write that must create a new file found one already there; nothing was written."""


def write_atomic(path: Path, data: bytes | str, *, exclusive: bool = False) -> None:
    """Replace (or, with `exclusive`, create without ever replacing) `path` atomically."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = _existing_mode(path) if not exclusive else None
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:40]}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), new_file_mode() if mode is None else mode)
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        if exclusive:
            _link_exclusive(tmp, path, payload)
        else:
            os.replace(tmp, path)
        _fsync_dir(path.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _link_exclusive(tmp: str, path: Path, payload: bytes) -> None:
    """Hard-link the finished temp file to its name: fails if the name exists, so nothing is ever replaced. Where
    the filesystem has no hard links, O_CREAT|O_EXCL on the final name instead (still never replacing)."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise FileExistsRefused(f"{path} already exists; not overwritten") from None
    except OSError as exc:
        if exc.errno not in _NO_HARD_LINKS:
            raise
        _create_exclusive(path, payload)


def _create_exclusive(path: Path, payload: bytes) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies, as for any new file
    except FileExistsError:
        raise FileExistsRefused(f"{path} already exists; not overwritten") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(path)  # ours, half-written: never leave a truncated note behind
        raise


def _existing_mode(path: Path) -> int | None:
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return None


def new_file_mode() -> int:
    """0o666 less the process umask: what `open()` would give a new file."""
    try:  # Linux tells the umask without changing it (os.umask is a set-and-restore, racy with threads)
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return 0o666 & ~mask


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (a crash right after it could otherwise lose the new name)."""
    with contextlib.suppress(OSError):  # not every platform or filesystem lets a folder be opened and synced
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
