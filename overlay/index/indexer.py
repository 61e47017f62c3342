"""Index orchestration: scan -> diff -> parse -> chunk -> embed -> Chroma -> graph -> manifest (last).

Crash safety comes from the order and from content-addressed chunk ids: whatever a killed run left in Chroma is
found again by path on the replay, reused instead of re-embedded, and anything stale is deleted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graph import GraphFileError, LinkGraph
from overlay.index import latin, note_docs, note_kinds, store_sync
from overlay.index.bm25 import SparseIndex
from overlay.index.chroma_store import ChromaStore
from overlay.index.chunk_store import ChunkStore
from overlay.index.chunking import Chunk, chunk_note
from overlay.index.embedding import Embedder, embedder_name, make_embedder
from overlay.index.exact import ExactStore, english_store, exact_store
from overlay.index.vectors import VectorStore
from overlay.lock import writer_lock
from overlay.settings import Settings
from vault_sync import (
    PARSER_VERSION,
    ChangeSet,
    Entry,
    Manifest,
    Note,
    SkipFile,
    diff,
    file_checksum,
    read_note,
    scan_vault,
)

Progress = Callable[[str, int, int], None]  # (stage, done, total)
BATCH_NOTES = 128
CHECKPOINT_S = 60.0
BM25_EAGER_NOTES = 50
# Bumped when what the index records per note changes; an index from an older overlay re-reads every note once
# (vectors are reused by chunk id, so only changed chunk texts are embedded again).
# 2: manifest flags (notes that ask, the overlay's own notes), own notes stored apart from the user's.
# 3: a note's frontmatter properties in its first chunk.
# 4: note-level vectors (overlay.index.note_docs).
# 5: a note's document is its names and its opening (no link titles); chats per exchange, dates, hub shares.
# 6: no bookkeeping properties (timestamps, paths, `modified_at`) in the first chunk; a note's names ×2 in BM25.
# 7: soft hyphens, zero-width spaces and stress marks on Cyrillic letters out of the indexed text (stems.unmark).
INDEX_FORMAT = 7


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
    note_vectors: int = 0  # note-level vectors embedded (a note's, or a neighbour's, document changed)
    latin_vectors: int = 0  # English chunks embedded by the English model (overlay.index.latin)
    skipped: list[dict[str, str]] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    reread: str = ""  # why every note was read again (an index from another overlay version, other ask settings)
    changed_paths: list[str] = field(default_factory=list)  # indexed this run (new, modified, moved-to): not in JSON
    deleted_paths: list[str] = field(default_factory=list)  # not in JSON either

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("changed_paths", "deleted_paths")}


class Indexer:
    """Owns one vault's index. Engines are created on first need, so a no-change run never loads a model; the
    graph stays in memory between runs of one Indexer (the watcher's case) while graph.json is unchanged."""

    def __init__(self, settings: Settings, *, embedder: Embedder | None = None,
                 store_factory: Callable[[Settings, str, int], VectorStore] = ChromaStore,
                 latin_factory: Callable[[Settings, str], tuple[latin.Latin | None, str]] | None = None,
                 lock_held: bool = False) -> None:
        self.settings = settings
        self.lock_held = lock_held  # the caller (the watcher) holds the writer lock for its whole life
        self._embedder = embedder
        self._store_factory = store_factory
        self._store: VectorStore | None = None
        self._latin_factory = latin_factory or (lambda s, main: latin.open_latin(s, main, ChromaStore))
        self._latin: tuple[latin.Latin | None, str] | None = None
        self.graph: LinkGraph | None = None
        self.graph_stamp: tuple[int, int] | None = None  # graph.json's as of the last load or save
        self.graph_unsaved = False  # `graph` holds changes graph.json lacks

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = make_embedder(self.settings)
        return self._embedder

    def embedder_name_hint(self) -> str:
        return self._embedder.name if self._embedder is not None else embedder_name(self.settings)

    @property
    def store(self) -> VectorStore:
        if self._store is None:
            self._store = self._store_factory(self.settings, self.embedder.name, self.embedder.dim)
        return self._store

    @property
    def latin(self) -> latin.Latin | None:
        """The English model beside the main one and its collection (None when off); loaded on first need."""
        return self._latin_pair()[0]

    def latin_name(self) -> str | None:
        """The collection name of the English model, known without loading it."""
        return latin.collection_for(self.settings, self.embedder_name_hint())

    def _latin_pair(self) -> tuple[latin.Latin | None, str]:
        if self._latin is None:
            off = latin.model_for(self.settings, self.embedder.name) is None
            self._latin = (None, "") if off else self._latin_factory(self.settings, self.embedder.name)
        return self._latin

    def run(self, progress: Progress | None = None) -> IndexReport:
        lock = contextlib.nullcontext() if self.lock_held else writer_lock(self.settings.lock_path, "index")
        with lock:
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
        self.graph_upserts: list[Note] = []  # applied in one go at each checkpoint: one relink per note
        self.graph_deletes: list[str] = []
        self.doc_paths: set[str] = set()  # notes whose note document may have changed (see note_docs)
        self.attachments: set[str] | None = None

    def execute(self) -> IndexReport:
        known = self.manifest.entries()
        scan = scan_vault(self.s.vault, ignore=(*self.s.ignore, *own_report_globs(self.s)),
                          extra_ignored_dirs=(self.s.state_dir,))
        cs = diff(scan.notes, known, lambda p: file_checksum(self.s.vault / p))
        attachments_key = hashlib.sha1("\n".join(sorted(scan.attachments)).encode()).hexdigest()
        fresh_model = self.manifest.meta("embedding_model") in (None, self.ix.embedder_name_hint())
        if not fresh_model:  # a model change: every note goes into the new model's collection
            cs.modified += [p for p in cs.unchanged if known[p].status == "ok"]
            cs.unchanged, cs.touched = [p for p in cs.unchanged if known[p].status != "ok"], []
        was, now = self.manifest.meta("index_version"), index_version(self.s)
        if known and was != now:  # an older overlay, or other triggers
            self.report.reread = (f"the index was written by another overlay version or other ask settings "
                                  f"({was} → {now}): every note read again; vectors are reused where a chunk's "
                                  "text is unchanged")
            cs.modified += cs.unchanged
            cs.unchanged, cs.touched = [], []
        if (cs.empty and self.s.graph_path.is_file() and fresh_model
                and self.manifest.meta("attachments") == attachments_key):
            return self._finish(cs, scan.problems, attachments_key, changed=False)
        self.graph = self._load_graph(cs)
        self.attachments = scan.attachments
        self._index_notes(cs)
        self._delete_notes(cs.deleted)
        for path in cs.touched:
            old, stat = known[path], scan.notes[path]
            self.pending.append(dataclasses.replace(old, size=stat.size, mtime_ns=stat.mtime_ns))
        return self._finish(cs, scan.problems, attachments_key, changed=True)

    # ---- graph ----------------------------------------------------------------------------------------------
    def _load_graph(self, cs: ChangeSet) -> LinkGraph:
        """The Indexer's graph while graph.json is the one it last saved (its unsaved changes kept), else the file,
        else a graph rebuilt from the vault (to be saved)."""
        ix = self.ix
        if ix.graph is not None and ix.graph_stamp == _stamp(self.s.graph_path):
            return ix.graph
        try:
            graph, unsaved = LinkGraph.load(self.s.graph_path), False
        except (FileNotFoundError, GraphFileError) as exc:
            if isinstance(exc, GraphFileError):
                self.report.warnings.append({"path": str(self.s.graph_path),
                                             "reason": f"{exc}; rebuilt from the vault"})
            graph, unsaved = LinkGraph(), True
            graph.apply(upserts=[self._read_quietly(p) for p in cs.unchanged])  # changed notes come with the batches
        ix.graph, ix.graph_stamp, ix.graph_unsaved = graph, _stamp(self.s.graph_path), unsaved
        return graph

    def _read_quietly(self, path: str) -> Note:
        try:
            return read_note(self.s.vault, path, max_bytes=self.s.max_file_bytes)[0]
        except (SkipFile, FileNotFoundError):
            return _placeholder(path)

    # ---- notes ----------------------------------------------------------------------------------------------
    def _index_notes(self, cs: ChangeSet) -> None:
        moved_from = {new: old for old, new in cs.moved}
        todo = cs.to_index
        last_checkpoint = time.perf_counter()
        for start in range(0, len(todo), BATCH_NOTES):
            batch = self._read_batch(todo[start:start + BATCH_NOTES], moved_from)
            self._commit(store_sync.plan(batch, self.ix.store))
            self.progress("index", min(start + BATCH_NOTES, len(todo)), len(todo))
            if time.perf_counter() - last_checkpoint > CHECKPOINT_S:
                self._checkpoint()
                last_checkpoint = time.perf_counter()
        for path, reason in cs.unreadable.items():
            self.report.skipped.append({"path": path, "reason": reason})

    def _read_batch(self, paths: list[str], moved_from: dict[str, str]) -> store_sync.Batch:
        old_paths = [moved_from[p] for p in paths if p in moved_from]
        batch = store_sync.Batch(paths=[*paths, *old_paths], old_paths=old_paths)
        for path in paths:
            stat = _file_stat(self.s.vault / path)
            if stat is None:  # vanished between scan and read
                continue
            try:
                note, encoding = read_note(self.s.vault, path, max_bytes=self.s.max_file_bytes)
                chunks = self._chunk(note)
            except FileNotFoundError:
                continue
            except SkipFile as exc:
                batch.entries.append(Entry(path, _checksum_or_blank(self.s.vault / path), *stat, status="skipped",
                                           reason=str(exc)))
                batch.graph_notes.append(_placeholder(path))
                continue
            batch.notes[path] = note
            batch.chunks[path] = chunks
            marks = note_kinds.flags(note, self.s)
            if note_kinds.OWN in marks:
                batch.own.add(path)
            else:
                batch.note_texts[path] = note_docs.own_text(note)
            batch.entries.append(Entry(path, note.checksum, *stat, status="ok", reason="; ".join(note.warnings) or None,
                                       encoding=encoding, chunk_ids=tuple(c.id for c in chunks), flags=marks))
            batch.graph_notes.append(dataclasses.replace(note, body="", frontmatter={}))
        return batch

    def _chunk(self, note: Note) -> list[Chunk]:
        try:
            return chunk_note(note, max_tokens=self.s.chunk_tokens, overlap=self.s.chunk_overlap)
        except Exception as exc:  # as in read_note: one odd note must not stop the run
            raise SkipFile(f"could not chunk ({exc.__class__.__name__}: {exc}); please report") from None

    def _commit(self, batch: store_sync.Batch) -> None:
        store_sync.commit(batch, self.ix.store, self.texts, self.ix.embedder)
        self.pending += batch.entries
        self.pending_deletes += batch.old_paths  # the manifest rows of moved-from paths go with the batch
        self.graph_upserts += batch.graph_notes
        self.graph_deletes += batch.old_paths
        self.report.embedded += len(batch.fresh)
        self.report.reused += len(batch.reusable)

    def _delete_notes(self, deleted: list[str]) -> None:
        if not deleted:
            return
        self.ix.store.delete([c.id for c in self.ix.store.chunks_for_paths(deleted)])
        self.texts.replace_paths(deleted, [])
        self.graph_deletes += deleted
        self.pending_deletes += deleted

    # ---- commit ---------------------------------------------------------------------------------------------
    def _checkpoint(self, meta: dict[str, Any] | None = None) -> None:
        """Graph first, manifest last: a crash in between replays the batch, which is idempotent."""
        if self.graph is not None:
            self.doc_paths |= {n.path for n in self.graph_upserts} | set(self.graph_deletes)
            was_unsaved, self.ix.graph_unsaved = self.ix.graph_unsaved, True  # apply failing half-way: memory ahead
            write = self.graph.apply(self.graph_upserts, self.graph_deletes, self.attachments) or was_unsaved
            self.ix.graph_unsaved = write
            self.graph_upserts, self.graph_deletes = [], []
            if write:  # most edits change no link, title or tag: graph.json stays as it is
                self.graph.save(self.s.graph_path)
                self.ix.graph_stamp, self.ix.graph_unsaved = _stamp(self.s.graph_path), False
            if write or self.manifest.meta("graph_stats") is None:  # a manifest started afresh beside graph.json
                meta = {**(meta or {}), "graph_stats": self.graph.stats()}
        self.manifest.commit(self.pending, self.pending_deletes, meta)
        self.pending, self.pending_deletes = [], []

    def _build_sparse(self, changed_notes: int) -> None:
        """A bulk run builds BM25 now; after a small one the first search rebuilds it (see overlay.index.bm25)."""
        if changed_notes >= BM25_EAGER_NOTES or SparseIndex.built_for_of(self.s.bm25_path) is None:
            SparseIndex.build(self.texts, self.s.bm25_path)

    def _build_exact(self, changed_notes: int) -> None:
        """A bulk run brings the exact-search snapshots in step now; after a small one the first search does
        (overlay.index.exact), which keeps a one-note re-index fast."""
        for store in exact_stores(self.s, self.ix, self.texts):
            store.bring_in_step(unless_built=changed_notes < BM25_EAGER_NOTES)

    # ---- vectors derived from the chunk texts: note vectors, the English model's ------------------------------
    def _derived_due(self) -> bool:
        """A refresh of the derived vectors did not finish, or the English model is another than last time."""
        return bool(self.manifest.meta("derived_pending")) or self.manifest.meta("latin_model") != self.ix.latin_name()

    def _refresh_derived(self) -> None:
        """Note vectors and English-model vectors for the notes this run touched — for every note when a previous
        refresh was cut short or the English model changed (marked in the manifest first, so a kill in between is
        caught up by the next run)."""
        everything = self._derived_due()
        self.manifest.commit([], [], {"derived_pending": True})
        paths = self.doc_paths | (self.texts.note_paths() if everything else set())
        self.report.note_vectors = note_docs.refresh(paths, self.texts, self.ix.store, self.ix.embedder)
        pair, warning = self.ix._latin_pair()
        if warning:
            self.report.warnings.append({"path": str(self.s.state_dir / "config.toml"), "reason": warning})
        if pair is not None:
            self.report.latin_vectors = latin.refresh(paths, self.texts, pair, everything=everything)
        # latin_model: the one asked for (a package that is missing is reported on that run and by doctor, not
        # retried by every run); latin_filled: the one whose collection is complete, which search opens.
        self.manifest.commit([], [], {"derived_pending": False, "latin_model": self.ix.latin_name(),
                                      "latin_filled": pair and pair.embedder.name})

    def _finish(self, cs: ChangeSet, problems: list[tuple[str, str]], attachments_key: str, *,
                changed: bool) -> IndexReport:
        r = self.report
        r.new, r.modified, r.deleted, r.moved = len(cs.new), len(cs.modified), len(cs.deleted), len(cs.moved)
        r.unchanged = len(cs.unchanged)
        r.changed_paths, r.deleted_paths = list(cs.to_index), list(cs.deleted)
        if changed:
            self._checkpoint({"attachments": attachments_key, "embedding_model": self.ix.embedder_name_hint(),
                              "index_version": index_version(self.s),
                              "last_index": {"at": time.time(), "seconds": round(time.perf_counter() - self.t0, 3),
                                             "new": r.new, "modified": r.modified, "deleted": r.deleted,
                                             "moved": r.moved}})
            self._build_sparse(r.new + r.modified + r.deleted + r.moved)
            self._refresh_derived()
            self._build_exact(r.new + r.modified + r.deleted + r.moved)
        counts = self.manifest.counts()
        r.notes, r.chunks = counts["notes"], counts["chunks"]
        if not changed and self._derived_due():
            self._refresh_derived()
        r.skipped = [*self.manifest.skipped(), *r.skipped, *({"path": p, "reason": why} for p, why in problems)]
        r.warnings += self.manifest.warnings()
        r.seconds = round(time.perf_counter() - self.t0, 3)
        return r


def exact_stores(settings: Settings, ix: Indexer, texts: ChunkStore) -> list[ExactStore]:
    """The exact-search views of the index's collections: the main model's, and the English model's once filled."""
    stores = [exact_store(settings, ix.store, texts, ix.embedder.name)]
    pair = ix.latin
    if pair is not None:
        stores.append(english_store(settings, pair, texts))
    return stores


def index_version(settings: Settings) -> str:
    """The parser, the index format, and the settings that decide a note's flags: a change of any re-reads notes."""
    triggers = "|".join((settings.ask_value, settings.ask_tag, settings.ask_callout, settings.answers_folder))
    return f"p{PARSER_VERSION}.i{INDEX_FORMAT}.{hashlib.sha1(triggers.encode()).hexdigest()[:8]}"


def own_report_globs(settings: Settings) -> tuple[str, ...]:
    """The audit note is a report about the vault, rewritten every night: indexing it would re-chunk a long note
    each run and make every note it lists look linked."""
    if not settings.audit_note:
        return ()
    return (f"{settings.answers_folder.strip('/')}/{settings.audit_note}.md",)


def graph_stamp(path: Path) -> tuple[int, int] | None:
    return _stamp(path)


def file_stamp(path: Path) -> tuple[int, int] | None:
    """(mtime_ns, size) of a file, None when it is missing: changes whenever the file is replaced."""
    return _stamp(path)


def _stamp(path: Path) -> tuple[int, int] | None:
    st = _file_stat(path)
    return (st[1], st[0]) if st else None


def _file_stat(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def _placeholder(path: str) -> Note:
    """A file Obsidian would still resolve links to, though we could not read it."""
    return Note(path=path, title=path.rsplit("/", 1)[-1].rsplit(".", 1)[0], body="", checksum="")


def _checksum_or_blank(path: Path) -> str:
    try:
        return file_checksum(path)
    except OSError:
        return ""
