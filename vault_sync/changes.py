"""Manifest vs scan -> ChangeSet. Size+mtime is the fast path; the checksum decides; renames are found by checksum."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from vault_sync.manifest import Entry
from vault_sync.scan import FileStat


@dataclass
class ChangeSet:
    new: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    moved: list[tuple[str, str]] = field(default_factory=list)  # (old, new)
    unchanged: list[str] = field(default_factory=list)
    touched: list[str] = field(default_factory=list)  # unchanged content, new mtime: manifest refresh only
    unreadable: dict[str, str] = field(default_factory=dict)  # path -> reason
    checksums: dict[str, str] = field(default_factory=dict)  # for every path whose bytes were read

    @property
    def to_index(self) -> list[str]:
        """Paths whose content must be (re)parsed: new, modified and the new side of moves."""
        return [*self.new, *self.modified, *(new for _, new in self.moved)]

    @property
    def empty(self) -> bool:
        return not (self.new or self.modified or self.deleted or self.moved or self.touched or self.unreadable)


def file_checksum(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def diff(scanned: dict[str, FileStat], known: dict[str, Entry], checksum_of: Callable[[str], str]) -> ChangeSet:
    """Compare a scan with the manifest. `checksum_of(path)` may raise FileNotFoundError (vanished: treated as
    absent) or another OSError (recorded as unreadable)."""
    cs = ChangeSet()
    candidates: list[str] = []
    vanished: set[str] = set()
    for path, stat in scanned.items():
        old = known.get(path)
        if old and old.size == stat.size and old.mtime_ns == stat.mtime_ns:
            cs.unchanged.append(path)
            continue
        try:
            digest = checksum_of(path)
        except FileNotFoundError:
            vanished.add(path)
            continue
        except OSError as exc:
            cs.unreadable[path] = f"unreadable: {exc.strerror or exc}"
            continue
        cs.checksums[path] = digest
        if old is None:
            candidates.append(path)
        elif old.checksum == digest and old.status == "ok":
            cs.unchanged.append(path)
            cs.touched.append(path)
        else:
            cs.modified.append(path)
    gone = [p for p in known if p not in scanned or p in vanished]
    _pair_moves(cs, candidates, gone, known)
    return cs


def _pair_moves(cs: ChangeSet, candidates: list[str], gone: list[str], known: dict[str, Entry]) -> None:
    by_checksum: dict[str, list[str]] = {}
    for path in gone:
        if known[path].status == "ok":
            by_checksum.setdefault(known[path].checksum, []).append(path)
    moved_from: set[str] = set()
    for path in candidates:
        olds = by_checksum.get(cs.checksums[path])
        if olds:
            old = olds.pop(0)
            moved_from.add(old)
            cs.moved.append((old, path))
        else:
            cs.new.append(path)
    cs.deleted = [p for p in gone if p not in moved_from]
