"""Index orchestration: scan -> diff -> parse -> chunk -> embed -> Chroma -> graph -> manifest (last).

Crash safety comes from the order and from content-addressed chunk ids: whatever a killed run left in Chroma is
found again by path on the replay, reused instead of re-embedded, and anything stale is deleted.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from graph import GraphFileError, LinkGraph
from overlay.chunking import Chunk, chunk_note
from overlay.chunkstore import ChunkStore
from overlay.embedding import Embedder, embedder_name, make_embedder
from overlay.lock import writer_lock
from overlay.settings import Settings
from overlay.store import VectorStore
from vault_sync import ChangeSet, Entry, Manifest, Note, SkipFile, diff, file_checksum, read_note, scan_vault

Progress = Callable[[str, int, int], None]  # (stage, done, total)
BATCH_NOTES = 128
CHECKPOINT_S = 60.0
ANSWER_TYPE = "overlay-answer"


@dataclass
class IndexReport:
    notes: int = 0
    new: int = 0
    modified: int = 0
    deleted: int = 0
    moved: int = 0
    unchanged: int = 0
    chunks: int = 0
    embedded: int = 0
    reused: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Indexer:
    """Owns one vault's index. Engines are created on first need, so a no-change run never loads a model."""

    def __init__(self, settings: Settings, *, embedder: Embedder | None = None,
                 store_factory: Callable[[Settings, str, int], Any] = VectorStore) -> None:
        self.settings = settings
        self._embedder = embedder
        self._store_factory = store_factory
        self._store: Any = None

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = make_embedder(self.settings)
        return self._embedder

    def embedder_name_hint(self) -> str:
        return self._embedder.name if self._embedder is not None else embedder_name(self.settings)

    @property
    def store(self) -> Any:
        if self._store is None:
            self._store = self._store_factory(self.settings, self.embedder.name, self.embedder.dim)
        return self._store

    def run(self, progress: Progress | None = None) -> IndexReport:
        with writer_lock(self.settings.lock_path, "index"):
            manifest = Manifest(self.settings.manifest_path)
            texts = ChunkStore(self.settings.chunks_path)
            try:
                return _Run(self, manifest, texts, progress or (lambda *_: None)).execute()
            finally:
                texts.close()
                manifest.close()


class _Run:
    """One pass of the index; holds the per-run bookkeeping so that Indexer stays small."""

    def __init__(self, indexer: Indexer, manifest: Manifest, texts: ChunkStore, progress: Progress) -> None:
        self.ix, self.s, self.progress = indexer, indexer.settings, progress
        self.manifest, self.texts = manifest, texts
        self.t0 = time.perf_counter()
        self.report = IndexReport()
        self.pending: list[Entry] = []
        self.pending_deletes: list[str] = []
        self.graph: LinkGraph | None = None

    def execute(self) -> IndexReport:
        known = self.manifest.entries()
        scan = scan_vault(self.s.vault, ignore=self.s.ignore, extra_ignored_dirs=(self.s.state_dir,))
        cs = diff(scan.notes, known, lambda p: file_checksum(self.s.vault / p))
        attachments_key = hashlib.sha1("\n".join(sorted(scan.attachments)).encode()).hexdigest()
        graph_ok = self.s.graph_path.is_file()
        fresh_model = self.manifest.meta("embedding_model") in (None, self.ix.embedder_name_hint())
        if not fresh_model:  # a model change: every note goes into the new model's collection
            cs.modified += [p for p in cs.unchanged if known[p].status == "ok"]
            cs.unchanged, cs.touched = [p for p in cs.unchanged if known[p].status != "ok"], []
        if cs.empty and graph_ok and fresh_model and self.manifest.meta("attachments") == attachments_key:
            return self._finish(cs, known, scan.problems, attachments_key, changed=False)
        self.graph = self._load_graph(known, cs)
        self._index_notes(cs, known)
        self._delete_notes(cs.deleted, known)
        self.graph.apply(attachments=scan.attachments)
        for path in cs.touched:
            old, stat = known[path], scan.notes[path]
            self.pending.append(Entry(path, old.checksum, stat.size, stat.mtime_ns, old.status, old.reason,
                                      old.encoding, old.chunk_ids))
        return self._finish(cs, known, scan.problems, attachments_key, changed=True)

    # ---- graph ----------------------------------------------------------------------------------------------
    def _load_graph(self, known: dict[str, Entry], cs: ChangeSet) -> LinkGraph:
        try:
            return LinkGraph.load(self.s.graph_path)
        except FileNotFoundError:
            pass
        except GraphFileError as exc:
            self.report.warnings.append({"path": str(self.s.graph_path), "reason": f"{exc}; rebuilt from the vault"})
        graph = LinkGraph()
        unchanged = [p for p in cs.unchanged if p in known]
        notes = [n for n in (self._read_quietly(p) for p in unchanged) if n]
        graph.apply(upserts=notes)
        return graph

    def _read_quietly(self, path: str) -> Note | None:
        try:
            return read_note(self.s.vault, path, max_bytes=self.s.max_file_bytes)[0]
        except (SkipFile, FileNotFoundError):
            return _placeholder(path)

    # ---- notes ----------------------------------------------------------------------------------------------
    def _index_notes(self, cs: ChangeSet, known: dict[str, Entry]) -> None:
        moved_from = {new: old for old, new in cs.moved}
        todo = cs.to_index
        last_checkpoint = time.perf_counter()
        for start in range(0, len(todo), BATCH_NOTES):
            batch = todo[start:start + BATCH_NOTES]
            self._index_batch(batch, moved_from, known)
            self.progress("index", min(start + BATCH_NOTES, len(todo)), len(todo))
            if time.perf_counter() - last_checkpoint > CHECKPOINT_S:
                self._checkpoint()
                last_checkpoint = time.perf_counter()
        for path, reason in cs.unreadable.items():
            self.report.skipped.append({"path": path, "reason": reason})

    def _index_batch(self, batch: list[str], moved_from: dict[str, str], known: dict[str, Entry]) -> None:
        notes: list[tuple[Note, str]] = []
        graph_notes: list[Note] = []
        for path in batch:
            stat = self._stat(path)
            if stat is None:  # vanished between scan and read
                continue
            try:
                note, encoding = read_note(self.s.vault, path, max_bytes=self.s.max_file_bytes)
            except FileNotFoundError:
                continue
            except SkipFile as exc:
                self.pending.append(Entry(path, _checksum_or_blank(self.s.vault / path), *stat, status="skipped",
                                          reason=str(exc)))
                graph_notes.append(_placeholder(path))
                continue
            notes.append((note, encoding))
            graph_notes.append(note)
        chunks = {note.path: chunk_note(note, max_tokens=self.s.chunk_tokens, overlap=self.s.chunk_overlap)
                  for note, _ in notes}
        old_paths = [moved_from[p] for p in batch if p in moved_from]
        self._sync_chunks(chunks, [*batch, *old_paths], {n.path: n for n, _ in notes})
        for note, encoding in notes:
            stat = self._stat(note.path) or (0, 0)
            self.pending.append(Entry(note.path, note.checksum, *stat, status="ok",
                                      reason="; ".join(note.warnings) or None, encoding=encoding,
                                      chunk_ids=tuple(c.id for c in chunks[note.path])))
        self.pending_deletes += [p for p in old_paths if p in known]
        self.graph.apply(upserts=graph_notes, deletes=old_paths)

    def _sync_chunks(self, chunks: dict[str, list[Chunk]], paths: list[str], notes: dict[str, Note]) -> None:
        """Make the store hold exactly `chunks` for `paths`: keep what is there, reuse vectors of identical text
        (moves, crash leftovers), embed the rest, delete the stale."""
        wanted = {c.id: c for cs in chunks.values() for c in cs}
        stored = self.ix.store.chunks_for_paths(paths) if paths else []
        stored_ids = {c.id for c in stored}
        stale = [c.id for c in stored if c.id not in wanted]
        missing = [c for cid, c in wanted.items() if cid not in stored_ids]
        by_hash = {c.text_hash: c.id for c in stored if c.id in stale}
        reusable = [c for c in missing if c.text_hash in by_hash]
        vectors = self.ix.store.embeddings([by_hash[c.text_hash] for c in reusable]) if reusable else {}
        fresh = [c for c in missing if c.text_hash not in by_hash]
        embedded = self.ix.embedder.embed_documents([c.text for c in fresh]) if fresh else None
        self.ix.store.delete(stale)
        if missing:
            rows = [vectors[by_hash[c.text_hash]] for c in reusable]
            import numpy as np

            matrix = np.vstack([*rows, *(embedded if embedded is not None else [])])
            ordered = [*reusable, *fresh]
            self.ix.store.add([c.id for c in ordered], matrix, [_metadata(c, notes[c.path]) for c in ordered])
        kept = [c for cid, c in wanted.items() if cid in stored_ids]
        if kept:
            self.ix.store.update_metadata([c.id for c in kept], [_metadata(c, notes[c.path]) for c in kept])
        self.texts.replace_paths(paths, list(wanted.values()))
        self.report.embedded += len(fresh)
        self.report.reused += len(reusable)

    def _delete_notes(self, deleted: list[str], known: dict[str, Entry]) -> None:
        if not deleted:
            return
        stored = self.ix.store.chunks_for_paths(deleted)
        self.ix.store.delete([c.id for c in stored])
        self.texts.replace_paths(deleted, [])
        self.graph.apply(deletes=deleted)
        self.pending_deletes += deleted

    def _stat(self, path: str) -> tuple[int, int] | None:
        try:
            st = (self.s.vault / path).stat()
        except OSError:
            return None
        return st.st_size, st.st_mtime_ns

    # ---- commit ---------------------------------------------------------------------------------------------
    def _checkpoint(self, meta: dict[str, Any] | None = None) -> None:
        """Graph first, manifest last: a crash in between replays the batch, which is idempotent."""
        if self.graph is not None:
            self.graph.save(self.s.graph_path)
            meta = {**(meta or {}), "graph_stats": self.graph.stats()}
        self.manifest.commit(self.pending, self.pending_deletes, meta)
        self.pending, self.pending_deletes = [], []

    def _finish(self, cs: ChangeSet, known: dict[str, Entry], problems: list[tuple[str, str]],
                attachments_key: str, *, changed: bool) -> IndexReport:
        r = self.report
        r.new, r.modified, r.deleted, r.moved = len(cs.new), len(cs.modified), len(cs.deleted), len(cs.moved)
        r.unchanged = len(cs.unchanged)
        if changed:
            meta = {"attachments": attachments_key, "embedding_model": self.ix.embedder_name_hint(),
                    "last_index": {"at": time.time(), "seconds": round(time.perf_counter() - self.t0, 3),
                                   "new": r.new, "modified": r.modified, "deleted": r.deleted, "moved": r.moved}}
            self._checkpoint(meta)
        counts = self.manifest.counts()
        r.notes, r.chunks = counts["notes"], counts["chunks"]
        r.skipped = [*self.manifest.skipped(), *r.skipped, *({"path": p, "reason": why} for p, why in problems)]
        r.warnings += [{"path": e.path, "reason": e.reason} for e in self.manifest.entries().values()
                       if e.status == "ok" and e.reason] if changed else []
        r.seconds = round(time.perf_counter() - self.t0, 3)
        return r


def _metadata(chunk: Chunk, note: Note) -> dict[str, Any]:
    """What Chroma filters on (path, answer) and what reuse needs (text_hash); the rest is in the ChunkStore."""
    return {"path": chunk.path, "text_hash": chunk.text_hash, "answer": note.frontmatter.get("type") == ANSWER_TYPE}


def _placeholder(path: str) -> Note:
    """A file Obsidian would still resolve links to, though we could not read it."""
    return Note(path=path, title=path.rsplit("/", 1)[-1].rsplit(".", 1)[0], body="", checksum="")


def _checksum_or_blank(path) -> str:
    try:
        return file_checksum(path)
    except OSError:
        return ""
