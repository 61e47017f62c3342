"""Chunk texts and their places in the vault, in sqlite beside the manifest.

Chroma holds only vectors and the few fields it filters on: its document store builds a full-text index that
cost ~40 % of the write time here, and retrieval needs the texts (snippets, BM25, prompts) without a round-trip
to a possibly remote Chroma server. Rows are keyed by content-addressed chunk id, so a replayed batch rewrites the
same rows; per-path pruning removes what a crashed run left behind.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from overlay.index.chunking import Chunk

_SCHEMA = """
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY, path TEXT NOT NULL, heading TEXT NOT NULL, heading_path TEXT NOT NULL,
    ordinal INTEGER NOT NULL, line INTEGER NOT NULL, text TEXT NOT NULL,
    terms TEXT NOT NULL, answer INTEGER NOT NULL DEFAULT 0, link_share REAL NOT NULL DEFAULT 0,
    date TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS chunks_path ON chunks(path);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS notes (path TEXT PRIMARY KEY, own_text TEXT NOT NULL, doc_hash TEXT NOT NULL DEFAULT '');
INSERT OR IGNORE INTO meta VALUES ('generation', 0);
"""
_BUMP_BOTH = "UPDATE meta SET value = value + 1 WHERE key IN ('generation', 'vectors')"
_BUMP_VECTORS = "UPDATE meta SET value = value + 1 WHERE key = 'vectors'"


@dataclass(frozen=True, slots=True)
class ChunkRow:
    id: str
    path: str
    heading: str
    heading_path: str
    ordinal: int
    line: int
    text: str
    terms: str
    answer: int
    link_share: float = 0.0  # of the section's lines that carry a link: high in hubs (lists of links)
    date: str = ""  # YYYY-MM-DD the text is from (a chat turn's date, the note's date), "" when unknown


class ChunkStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=30, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        # The vector generation starts at a random number: a store made afresh (`reindex --full`, a corrupt one
        # rebuilt) must not count up to the tag of a snapshot built from the store it replaced.
        if self._db.execute("SELECT 1 FROM meta WHERE key = 'vectors'").fetchone() is None:
            with self._db:
                self._db.execute("INSERT OR IGNORE INTO meta VALUES ('vectors', ?)", (secrets.randbelow(2 ** 52),))
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(chunks)")}
        with self._db:  # a chunk store written before these columns existed (its rows are rewritten on upgrade)
            if "link_share" not in columns:
                self._db.execute("ALTER TABLE chunks ADD COLUMN link_share REAL NOT NULL DEFAULT 0")
            if "date" not in columns:
                self._db.execute("ALTER TABLE chunks ADD COLUMN date TEXT NOT NULL DEFAULT ''")

    def close(self) -> None:
        self._db.close()

    def replace_paths(self, paths: Iterable[str], chunks: Sequence[Chunk], answers: Collection[str] = (),
                      notes: dict[str, str] | None = None) -> None:
        """Make the rows of `paths` exactly `chunks` (one transaction); BM25 stems are computed here, once. `notes`:
        each indexed note's own part of its note document (see note_docs); paths not in it lose theirs."""
        paths = set(paths)
        with self._db:
            self._db.execute(_BUMP_BOTH)
            self._db.executemany("DELETE FROM chunks WHERE path = ?", [(p,) for p in paths])
            self._db.executemany("DELETE FROM notes WHERE path = ?", [(p,) for p in paths - set(notes or {})])
            self._db.executemany("INSERT INTO notes (path, own_text) VALUES (?, ?) ON CONFLICT (path) DO UPDATE SET "
                                 "own_text = excluded.own_text", list((notes or {}).items()))
            self._db.executemany(
                "INSERT OR REPLACE INTO chunks (id, path, heading, heading_path, ordinal, line, text, terms, answer, "
                "link_share, date) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(c.id, c.path, c.heading, " > ".join(c.heading_path), c.ordinal, c.line, c.text,
                  " ".join(c.terms()), int(c.path in answers), c.link_share, c.date) for c in chunks])

    def generation(self) -> int:
        """Bumped by every write, in the same transaction: derived indexes (BM25) compare it to know if stale."""
        return self._meta("generation")

    def vector_generation(self) -> int:
        """Bumped by every write of chunks or note documents and by `vectors_changed`: the exact-search snapshots
        (overlay.index.exact) compare it to know if stale. Apart from `generation`, so that a note vector or an
        English-model vector written after BM25 was built does not make BM25 stale."""
        return self._meta("vectors")

    def vectors_changed(self) -> None:
        """Vectors were written that no chunk or note-document write of this store records (the English model's)."""
        with self._db:
            self._db.execute(_BUMP_VECTORS)

    def _meta(self, key: str) -> int:
        return self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0]

    def all_terms(self) -> tuple[list[str], list[str], list[bool], int]:
        """(ids, BM25 stems, own-note flags, generation), read in one transaction so they belong together."""
        with self._db:
            self._db.execute("BEGIN")
            rows = self._db.execute("SELECT id, terms, answer FROM chunks ORDER BY rowid").fetchall()
            generation = self.generation()
        return [r[0] for r in rows], [r[1] for r in rows], [bool(r[2]) for r in rows], generation

    def chunk_owners(self) -> tuple[dict[str, bool], int]:
        """({chunk id: of the overlay's own notes}, vector generation), read in one transaction."""
        with self._db:
            self._db.execute("BEGIN")
            rows = self._db.execute("SELECT id, answer FROM chunks").fetchall()
            generation = self.vector_generation()
        return {r[0]: bool(r[1]) for r in rows}, generation

    def ids_for_paths(self, paths: Sequence[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for cid, path in self._select_in("SELECT id, path FROM chunks WHERE path IN ({}) ORDER BY path, ordinal",
                                         paths):
            out.setdefault(path, []).append(cid)
        return out

    def get(self, ids: Sequence[str]) -> dict[str, ChunkRow]:
        rows = self._select_in("SELECT id, path, heading, heading_path, ordinal, line, text, terms, answer, "
                               "link_share, date FROM chunks WHERE id IN ({})", ids)
        return {row[0]: ChunkRow(*row) for row in rows}

    def _select_in(self, sql: str, values: Sequence[str]) -> list[tuple]:
        """`sql` with one `IN ({})`, run in slices that stay under sqlite's bound-variable limit."""
        rows: list[tuple] = []
        for i in range(0, len(values), 500):
            part = list(values[i:i + 500])
            rows += self._db.execute(sql.format(",".join("?" * len(part))), part).fetchall()
        return rows

    def count(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]

    def all_ids(self) -> set[str]:
        return {r[0] for r in self._db.execute("SELECT id FROM chunks")}

    def delete_ids(self, ids: Collection[str]) -> None:
        with self._db:
            self._db.execute(_BUMP_BOTH)
            ids = list(ids)
            for i in range(0, len(ids), 500):
                part = ids[i:i + 500]
                self._db.execute(f"DELETE FROM chunks WHERE id IN ({','.join('?' * len(part))})", part)

    # ---- note documents (one per note: the note-level vector's text, see overlay.index.note_docs) --------------
    def note_parts(self, paths: Sequence[str]) -> dict[str, tuple[str, str]]:
        """path -> (own text, hash of the document last embedded for it)."""
        rows = self._select_in("SELECT path, own_text, doc_hash FROM notes WHERE path IN ({})", paths)
        return {r[0]: (r[1], r[2]) for r in rows}

    def set_doc_hashes(self, hashes: dict[str, str]) -> None:
        """Called once the note vectors of these documents are stored."""
        if not hashes:
            return
        with self._db:
            self._db.execute(_BUMP_VECTORS)
            self._db.executemany("UPDATE notes SET doc_hash = ? WHERE path = ?", [(h, p) for p, h in hashes.items()])

    def note_paths(self) -> set[str]:
        return {r[0] for r in self._db.execute("SELECT path FROM notes")}

    def doc_hashes(self) -> tuple[dict[str, str], int]:
        """({path: hash of its embedded document} for notes that have a note vector, vector generation), read in
        one transaction."""
        with self._db:
            self._db.execute("BEGIN")
            rows = self._db.execute("SELECT path, doc_hash FROM notes WHERE doc_hash != ''").fetchall()
            generation = self.vector_generation()
        return dict(rows), generation

    def earliest_dates(self) -> dict[str, str]:
        """path -> the earliest date any of its chunks carries (YYYY-MM-DD), for notes whose text is dated."""
        return dict(self._db.execute("SELECT path, MIN(date) FROM chunks WHERE date != '' GROUP BY path").fetchall())

    def answer_paths(self) -> set[str]:
        """The overlay's own notes (answers, audits)."""
        return {r[0] for r in self._db.execute("SELECT DISTINCT path FROM chunks WHERE answer = 1")}

    def user_headings(self) -> list[tuple[str, str]]:
        """(path, heading) of every section with a heading in the user's notes (not the overlay's own)."""
        return self._db.execute("SELECT DISTINCT path, heading FROM chunks WHERE heading != '' AND answer = 0 "
                                "ORDER BY path, heading").fetchall()

    def first_chunks(self, paths: Sequence[str]) -> dict[str, str]:
        """path -> id of its first chunk (what stands for the note when the note as a whole matches)."""
        rows = self._select_in("SELECT path, id FROM chunks WHERE path IN ({}) ORDER BY path, ordinal", paths)
        out: dict[str, str] = {}
        for path, cid in rows:
            out.setdefault(path, cid)
        return out
