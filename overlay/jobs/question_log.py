"""What became of each question a note asked, kept on disk so that a restarted watcher answers every pending
question exactly once: a question (asking note path + its checksum when read) is `answering` from just before the
model runs until its answer note exists, then `answered`; one that keeps failing is `failed` with its last error.

A watcher killed while the model writes leaves `answering` with no note: the question is asked again. Killed
after the note was written but before this log said so: the note is found by the run id it records
(`recover`), so it is not answered twice. Saving the asking note again changes its checksum: a new question.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from vault_sync import inline_answers

_SCHEMA = """
CREATE TABLE IF NOT EXISTS questions (
    path TEXT NOT NULL, checksum TEXT NOT NULL, state TEXT NOT NULL, run_id TEXT, answer TEXT, tries INTEGER NOT NULL
    DEFAULT 0, error TEXT, updated REAL NOT NULL, PRIMARY KEY (path, checksum)
);
"""
RUN_ID_PROBE_BYTES = 4096  # an answer note's run_id sits in its frontmatter


@dataclass(frozen=True)
class Record:
    path: str
    checksum: str
    state: str  # "answering" | "answered" | "failed"
    run_id: str | None
    answer: str | None
    tries: int
    error: str | None


class QuestionLog:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=30, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def get(self, path: str, checksum: str) -> Record | None:
        row = self._db.execute("SELECT path, checksum, state, run_id, answer, tries, error FROM questions "
                               "WHERE path = ? AND checksum = ?", (path, checksum)).fetchone()
        return Record(*row) if row else None

    def begin(self, path: str, checksum: str, run_id: str) -> None:
        with self._db:
            self._db.execute(
                "INSERT INTO questions (path, checksum, state, run_id, tries, updated) VALUES (?, ?, 'answering', ?, "
                "1, ?) ON CONFLICT (path, checksum) DO UPDATE SET state = 'answering', run_id = excluded.run_id, "
                "tries = tries + 1, updated = excluded.updated", (path, checksum, run_id, time.time()))

    def answered(self, path: str, checksum: str, answer: str) -> None:
        self._set(path, checksum, "answered", answer=answer, error=None)

    def failed(self, path: str, checksum: str, error: str) -> None:
        self._set(path, checksum, "failed", error=error)

    def _set(self, path: str, checksum: str, state: str, **values: str | None) -> None:
        sets = ", ".join(f"{k} = ?" for k in values)
        with self._db:
            self._db.execute(f"UPDATE questions SET state = ?, {sets}, updated = ? WHERE path = ? AND checksum = ?",
                             (state, *values.values(), time.time(), path, checksum))

    def in_flight(self) -> list[Record]:
        rows = self._db.execute("SELECT path, checksum, state, run_id, answer, tries, error FROM questions "
                                "WHERE state = 'answering'")
        return [Record(*r) for r in rows]

    def recover(self, answers_folder: Path, vault: Path) -> list[Record]:
        """Questions a killed watcher left `answering`: those whose answer note exists (found by run id) become
        `answered`; the rest stay, to be asked again. Returns the recovered ones."""
        pending = self.in_flight()
        if not pending:
            return []
        by_run = {r.run_id: r for r in pending if r.run_id}
        recovered = []
        for note in sorted(answers_folder.rglob("*.md")) if answers_folder.is_dir() else []:
            run_id = _run_id_of(note)
            if run_id in by_run:
                record = by_run.pop(run_id)
                self.answered(record.path, record.checksum, note.relative_to(vault).as_posix())
                recovered.append(record)
        for run_id, record in list(by_run.items()):  # an inline answer sits in the asking note itself
            if _holds_inline(vault / record.path, run_id):
                self.answered(record.path, record.checksum, record.path)
                recovered.append(record)
        return recovered


def _holds_inline(note: Path, run_id: str) -> bool:
    try:
        text = note.read_bytes().decode("utf-8", "replace")
    except OSError:
        return False
    return any(a.run_id == run_id for a in inline_answers.find(text))


def _run_id_of(note: Path) -> str | None:
    try:
        with open(note, "rb") as fh:
            head = fh.read(RUN_ID_PROBE_BYTES).decode("utf-8", "replace")
    except OSError:
        return None
    for line in head.splitlines():
        if line.startswith("run_id:"):
            return line.split(":", 1)[1].strip().strip("'\"")
    return None
