"""The manifest: what was indexed, by checksum. Committed last in every run, so a crash replays the batch."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, checksum TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    status TEXT NOT NULL, reason TEXT, encoding TEXT, chunk_ids TEXT NOT NULL DEFAULT '[]', indexed_at REAL,
    flags TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class Entry:
    path: str
    checksum: str
    size: int
    mtime_ns: int
    status: str = "ok"  # "ok" | "skipped"
    reason: str | None = None  # why skipped, or a warning for an indexed file
    encoding: str | None = None
    chunk_ids: tuple[str, ...] = field(default=(), compare=False)
    indexed_at: float = 0.0
    flags: tuple[str, ...] = ()  # what the application recorded about the file (e.g. "asks", "own")


class Manifest:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(files)")}
        if "flags" not in columns:  # a manifest written before flags existed
            with self._db:
                self._db.execute("ALTER TABLE files ADD COLUMN flags TEXT NOT NULL DEFAULT '[]'")

    def close(self) -> None:
        self._db.close()

    def entries(self) -> dict[str, Entry]:
        rows = self._db.execute(
            "SELECT path, checksum, size, mtime_ns, status, reason, encoding, chunk_ids, indexed_at, flags FROM files")
        return {r[0]: Entry(r[0], r[1], r[2], r[3], r[4], r[5], r[6], tuple(json.loads(r[7])), r[8] or 0.0,
                            tuple(json.loads(r[9]))) for r in rows}

    def flagged(self, flag: str) -> list[str]:
        """Paths whose entry carries `flag`, sorted."""
        rows = self._db.execute("SELECT files.path FROM files, json_each(files.flags) WHERE json_each.value = ? "
                                "ORDER BY files.path", (flag,))
        return [r[0] for r in rows]

    def commit(self, upserts: Iterable[Entry], deletes: Iterable[str], meta: dict[str, object] | None = None) -> None:
        """One transaction: either the whole batch is recorded or none of it."""
        now = time.time()
        with self._db:
            self._db.executemany("DELETE FROM files WHERE path = ?", [(p,) for p in deletes])
            self._db.executemany(
                "INSERT OR REPLACE INTO files (path, checksum, size, mtime_ns, status, reason, encoding, chunk_ids, "
                "indexed_at, flags) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(e.path, e.checksum, e.size, e.mtime_ns, e.status, e.reason, e.encoding,
                  json.dumps(list(e.chunk_ids)), e.indexed_at or now, json.dumps(list(e.flags))) for e in upserts])
            for key, value in (meta or {}).items():
                self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))

    def meta(self, key: str, default: object = None) -> object:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def counts(self) -> dict[str, int]:
        ok, skipped, chunks = self._db.execute(
            "SELECT COALESCE(SUM(status = 'ok'), 0), COALESCE(SUM(status = 'skipped'), 0), "
            "COALESCE(SUM(json_array_length(chunk_ids)), 0) FROM files").fetchone()
        return {"notes": ok, "skipped": skipped, "chunks": chunks}

    def warnings(self) -> list[dict[str, str]]:
        """Indexed files with a recorded problem (broken frontmatter, encoding guess or repair)."""
        rows = self._db.execute(
            "SELECT path, reason FROM files WHERE status = 'ok' AND reason IS NOT NULL ORDER BY path")
        return [{"path": p, "reason": r} for p, r in rows]

    def skipped(self) -> list[dict[str, str]]:
        rows = self._db.execute("SELECT path, reason FROM files WHERE status = 'skipped' ORDER BY path")
        return [{"path": p, "reason": r or ""} for p, r in rows]
