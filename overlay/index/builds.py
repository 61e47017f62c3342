"""Derived files that are rebuilt whole and swapped in (BM25, the exact-search vectors): each build is a folder of
its own, `CURRENT` names the live one and is replaced atomically, so a reader sees the old build or the new one,
never half of either. The build before the live one is kept until the next swap, so a reader that read `CURRENT`
just before it still finds its files. (By hand: a three-step protocol on plain files; no library we use has it.)"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from vault_sync import write_atomic

CURRENT = "CURRENT"
LOAD_TRIES = 3  # a swap between reading CURRENT and opening the build: read CURRENT again
T = TypeVar("T")


def current(folder: Path) -> Path | None:
    """The live build folder, or None."""
    try:
        name = (folder / CURRENT).read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return folder / name if name and "/" not in name and not name.startswith(".") else None


def read_live(folder: Path, read: Callable[[Path], T | None]) -> T | None:
    """`read` of the live build; None when there is none or it is damaged (`read` raising OSError or ValueError,
    or returning None), and read again when a swap pruned it mid-read (FileNotFoundError)."""
    for _ in range(LOAD_TRIES):
        build = current(folder)
        if build is None:
            return None
        try:
            return read(build)
        except FileNotFoundError:
            continue
        except (OSError, ValueError):
            return None
    return None


def new_build(folder: Path, built_for: object) -> Path:
    """An empty folder for a build, invisible to readers until `publish` names it (no rename: a watcher of the
    vault would see a renamed folder twice)."""
    folder.mkdir(parents=True, exist_ok=True)
    build = folder / f"g{built_for}-{secrets.token_hex(4)}"
    build.mkdir()
    return build


def publish(build: Path) -> None:
    """Make `build` the live one; drop every other build but the one it replaces."""
    folder = build.parent
    previous = current(folder)
    write_atomic(folder / CURRENT, build.name)
    _prune(folder, keep={build.name, previous.name if previous else ""})


def _prune(folder: Path, keep: set[str]) -> None:
    """Builds other than the live one and the one before it (builds that died half-way included), and loose files
    (BM25's single-folder layout of overlay 0.1: ids.json and the matrix at the top)."""
    for entry in folder.iterdir():
        if entry.is_dir() and entry.name not in keep:
            shutil.rmtree(entry, ignore_errors=True)
        elif entry.is_file() and entry.name != CURRENT:
            entry.unlink(missing_ok=True)
