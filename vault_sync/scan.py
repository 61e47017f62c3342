"""Walk a vault the way Obsidian sees it: notes (.md, .canvas) and attachments, dot-folders and ignore globs out."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path

NOTE_SUFFIXES = (".md", ".canvas")


@dataclass(frozen=True, slots=True)
class FileStat:
    path: str  # vault-relative, POSIX
    size: int
    mtime_ns: int


@dataclass
class ScanResult:
    notes: dict[str, FileStat] = field(default_factory=dict)
    attachments: set[str] = field(default_factory=set)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (path, reason): loops, unreadable folders


def is_ignored(rel: str, globs: tuple[str, ...]) -> bool:
    """Hidden names (Obsidian skips them: .obsidian, .trash, .git, our state dir) and user globs like `Templates/`,
    `Archive/**`, `*.excalidraw.md`."""
    if any(part.startswith(".") for part in rel.split("/")):
        return True
    for glob in globs:
        stem = glob.rstrip("/*")
        if fnmatchcase(rel, glob) or (stem and (rel == stem or rel.startswith(stem + "/"))):
            return True
    return False


def scan_vault(root: Path, *, ignore: tuple[str, ...] = (), extra_ignored_dirs: tuple[Path, ...] = ()) -> ScanResult:
    """One pass over the tree. Symlinked folders are followed (Obsidian does) but never twice: a loop is reported.
    Files that vanish mid-scan are simply absent; unreadable folders are reported and skipped."""
    result = ScanResult()
    skip_real = {os.path.realpath(p) for p in extra_ignored_dirs}
    stack: list[tuple[str, str, frozenset[tuple[int, int]]]] = [(str(root), "", frozenset())]
    while stack:
        abs_dir, rel_dir, ancestors = stack.pop()
        try:
            st = os.stat(abs_dir)
            key = (st.st_dev, st.st_ino)
            if key in ancestors:
                result.problems.append((rel_dir, "symlink loop: folder links back to one of its parents"))
                continue
            entries = list(os.scandir(abs_dir))
        except FileNotFoundError:
            continue
        except OSError as exc:
            result.problems.append((rel_dir or ".", f"unreadable folder: {exc.strerror or exc}"))
            continue
        for entry in entries:
            _visit(entry, rel_dir, ancestors | {key}, ignore, skip_real, stack, result)
    return result


def _visit(entry: os.DirEntry[str], rel_dir: str, ancestors: frozenset[tuple[int, int]], ignore: tuple[str, ...],
           skip_real: set[str], stack: list, result: ScanResult) -> None:
    rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
    if is_ignored(rel, ignore):
        return
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:  # bytes that are not UTF-8 in a name (old archives); nothing downstream can store it
        shown = rel.encode("utf-8", "replace").decode("utf-8")
        result.problems.append((shown, "file name is not valid UTF-8: rename the file to index it"))
        return
    try:
        if entry.is_dir(follow_symlinks=True):
            if os.path.realpath(entry.path) not in skip_real:
                stack.append((entry.path, rel, ancestors))
            return
        if not entry.is_file(follow_symlinks=True):
            if entry.is_symlink() and not os.path.exists(entry.path):
                result.problems.append((rel, "broken symlink"))
            return
        st = entry.stat(follow_symlinks=True)
    except FileNotFoundError:
        return
    except OSError as exc:
        result.problems.append((rel, f"unreadable: {exc.strerror or exc}"))
        return
    if entry.name.lower().endswith(NOTE_SUFFIXES):
        result.notes[rel] = FileStat(rel, st.st_size, st.st_mtime_ns)
    else:
        result.attachments.add(rel)
