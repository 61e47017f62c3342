"""`overlay reindex`: bring the index back in step with the vault and prove it — rescan and apply the diff, then
audit manifest ↔ vectors ↔ chunk texts ↔ graph ↔ BM25 and repair every mismatch, then write the vault audit note.

Repairs reuse the incremental path: a note whose chunks are missing anywhere is forgotten in the manifest and
indexed again (its vectors that survived are reused by id, so only what is really gone is embedded).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from graph import GraphFileError, LinkGraph
from overlay.answer.staleness import stale_answers
from overlay.index import exact, note_docs
from overlay.index.bm25 import SparseIndex
from overlay.index.chunk_store import ChunkStore
from overlay.index.indexer import Indexer, Progress, exact_stores, graph_stamp
from overlay.index.note_kinds import INLINE, OWN
from overlay.jobs import handoff, metrics
from overlay.jobs.audit_note import write_audit_note, write_failure_note
from overlay.lock import holder, writer_lock
from overlay.settings import Settings
from vault_sync import Manifest, SkipFile, read_note, write_atomic


@dataclass
class ReindexReport:
    checked: dict[str, int] = field(default_factory=dict)
    repaired: Counter = field(default_factory=Counter)
    reembedded: int = 0
    note_vectors: int = 0
    seconds: float = 0.0
    report_note: str | None = None
    messages: list[str] = field(default_factory=list)  # what was found broken, in words
    index: dict[str, Any] = field(default_factory=dict)
    stale_answers: list[dict[str, Any]] = field(default_factory=list)  # answer notes whose sources changed

    def as_dict(self) -> dict[str, Any]:
        repaired = {k: self.repaired.get(k, 0) for k in REPAIR_KINDS}
        return {"checked": self.checked, "repaired": repaired, "reembedded": self.reembedded,
                "note_vectors": self.note_vectors,
                "seconds": round(self.seconds, 3), "report_note": self.report_note, "messages": self.messages,
                "index": self.index, "stale_answers": self.stale_answers}


REPAIR_KINDS = ("missing_chunks", "orphan_chunks", "missing_texts", "orphan_texts", "graph_fixes", "note_vectors",
                "bm25_rebuilt", "exact_vectors", "state_files_rebuilt", "collections_dropped")


def reindex(settings: Settings, *, full: bool = False, indexer: Indexer | None = None,
            progress: Progress | None = None, audit: bool = True, wait_s: float = 0.0) -> ReindexReport:
    ix = indexer or Indexer(settings)
    lock = contextlib.nullcontext() if ix.lock_held else writer_lock(settings.lock_path, "reindex", wait_s=wait_s)
    with lock:
        held, ix.lock_held = ix.lock_held, True  # one lock for every step below
        try:
            return _Reindex(settings, ix, progress).run(full, audit)
        finally:
            ix.lock_held = held


class _Reindex:
    def __init__(self, settings: Settings, ix: Indexer, progress: Progress | None) -> None:
        self.s, self.ix, self.progress = settings, ix, progress
        self.report = ReindexReport()
        self.t0 = time.perf_counter()

    def run(self, full: bool, audit: bool) -> ReindexReport:
        self._rescue_state_files()
        if full:
            self._forget_everything()
        runs = [self.ix.run(self.progress)]
        missing = self._audit_chunks()
        if missing:
            self._forget(missing)
            runs.append(self.ix.run(self.progress))
        self._audit_graph()
        self._audit_note_vectors()
        self._audit_bm25()
        self._audit_exact()
        self._drop_old_models()
        self._find_stale_answers()
        self.report.reembedded = sum(r.embedded for r in runs)
        self.report.note_vectors += sum(r.note_vectors for r in runs)
        self.report.index = runs[0].as_dict()
        self.report.seconds = time.perf_counter() - self.t0
        if audit and self.s.audit_note:  # the audit note records today's metrics as it charts them
            self.report.report_note = write_audit_note(self.s, self._graph(), runs[0], self.report.as_dict())
        else:
            graph = self._graph()
            metrics.record(self.s, graph, metrics.cached_clusters(self.s, graph))
        self.report.seconds = time.perf_counter() - self.t0
        return self.report

    # ---- state files that cannot be read at all -----------------------------------------------------------
    def _rescue_state_files(self) -> None:
        """A corrupt manifest or chunk store is moved aside (kept for a post-mortem) and rebuilt from the vault."""
        for path in (self.s.manifest_path, self.s.chunks_path, self.s.questions_path):
            if not path.exists():
                continue
            try:
                db = sqlite3.connect(path)
                ok = db.execute("PRAGMA quick_check").fetchone()[0] == "ok"
                db.close()
            except sqlite3.DatabaseError:
                ok = False
            if not ok:
                stamp = int(time.time())
                aside = path.with_name(f"{path.name}.corrupt-{stamp}")
                shutil.move(path, aside)
                for suffix in ("-wal", "-shm"):  # sqlite's journal files belong to the database they came with
                    journal = path.with_name(path.name + suffix)
                    if journal.exists():
                        shutil.move(journal, aside.with_name(aside.name + suffix))
                self.report.repaired["state_files_rebuilt"] += 1
                self.report.messages.append(f"{path.name} was unreadable; moved to {aside.name} and rebuilt")
        try:
            self.ix.graph = LinkGraph.load(self.s.graph_path)  # loaded once: the index run and the audit reuse it
            self.ix.graph_stamp = graph_stamp(self.s.graph_path)
        except FileNotFoundError:
            if self.s.manifest_path.exists():
                self.report.messages.append("graph.json was missing; rebuilt from the vault")
        except GraphFileError as exc:
            self.s.graph_path.unlink()
            self.ix.graph = None
            self.report.repaired["state_files_rebuilt"] += 1
            self.report.messages.append(f"{exc}; rebuilt from the vault")

    def _forget_everything(self) -> None:
        """--full: every note is read, chunked and embedded again, into a store emptied of this model's vectors."""
        store = self.ix.store
        store.delete(sorted(store.all_ids()))
        for path in (self.s.manifest_path, self.s.chunks_path):
            path.unlink(missing_ok=True)
        self.s.graph_path.unlink(missing_ok=True)
        shutil.rmtree(self.s.bm25_path, ignore_errors=True)
        shutil.rmtree(self.s.exact_path, ignore_errors=True)
        self.ix.graph = None
        self.report.messages.append("--full: re-embedding every note")

    # ---- chunks: manifest ↔ vectors ↔ texts -----------------------------------------------------------------
    def _audit_chunks(self) -> set[str]:
        """Orphans deleted; the notes with missing chunks returned (to be indexed again)."""
        manifest = Manifest(self.s.manifest_path)
        texts = ChunkStore(self.s.chunks_path)
        try:
            entries = manifest.entries()
            owner = {cid: p for p, e in entries.items() if e.status == "ok" for cid in e.chunk_ids}
            vectors, stored = self.ix.store.all_ids(), texts.all_ids()
            self.report.checked = {"notes": len(entries), "chunks": len(owner), "vectors": len(vectors),
                                   "texts": len(stored)}
            orphan_vectors, orphan_texts = vectors - owner.keys(), stored - owner.keys()
            self.ix.store.delete(sorted(orphan_vectors))
            texts.delete_ids(orphan_texts) if orphan_texts else None
            missing_vectors, missing_texts = owner.keys() - vectors, owner.keys() - stored
        finally:
            texts.close()
            manifest.close()
        r = self.report.repaired
        r["orphan_chunks"] += len(orphan_vectors)
        r["orphan_texts"] += len(orphan_texts)
        r["missing_chunks"] += len(missing_vectors)
        r["missing_texts"] += len(missing_texts)
        if missing_vectors and len(missing_vectors) == len(owner):
            self.report.messages.append("the vector store was empty or missing; every note is embedded again")
        return {owner[c] for c in missing_vectors | missing_texts}

    def _forget(self, paths: set[str]) -> None:
        manifest = Manifest(self.s.manifest_path)
        try:
            manifest.commit([], sorted(paths))
        finally:
            manifest.close()

    # ---- graph ------------------------------------------------------------------------------------------------
    def _graph(self) -> LinkGraph:
        if self.ix.graph is None or self.ix.graph_stamp != graph_stamp(self.s.graph_path):
            self.ix.graph, self.ix.graph_stamp = LinkGraph.load(self.s.graph_path), graph_stamp(self.s.graph_path)
            self.ix.graph_unsaved = False
        return self.ix.graph

    def _audit_graph(self) -> None:
        graph = self._graph()
        manifest = Manifest(self.s.manifest_path)
        try:
            known = set(manifest.entries())
        finally:
            manifest.close()
        nodes = {n for n, a in graph.g.nodes(data=True) if a.get("kind") == "note"}
        extra, absent = nodes - known, known - nodes
        notes = []
        for path in sorted(absent):
            with contextlib.suppress(SkipFile, FileNotFoundError):
                notes.append(read_note(self.s.vault, path, max_bytes=self.s.max_file_bytes)[0])
        graph.apply(upserts=notes, deletes=sorted(extra))
        stale = graph.stale_sources()
        graph.relink(stale)
        fixes = len(extra) + len(absent) + len(stale)
        self.report.checked["graph_notes"] = len(nodes)
        if fixes:
            graph.save(self.s.graph_path)
            self.ix.graph_stamp = graph_stamp(self.s.graph_path)
            self.report.repaired["graph_fixes"] += fixes

    def _audit_note_vectors(self) -> None:
        """Note vectors ↔ notes: orphans deleted, missing ones and those whose document drifted (a run killed
        before it reached them) embedded again."""
        texts = ChunkStore(self.s.chunks_path)
        try:
            notes, stored = texts.note_paths(), self.ix.store.note_paths()
            orphans, missing = sorted(stored - notes), sorted(notes - stored)
            if orphans:
                self.ix.store.delete_notes(orphans)
            texts.set_doc_hashes(dict.fromkeys(missing, ""))
            self.report.note_vectors = note_docs.refresh(notes, texts, self.ix.store, self.ix.embedder)
        finally:
            texts.close()
        self.report.checked["note_vectors"] = len(stored)
        self.report.repaired["note_vectors"] += len(orphans) + self.report.note_vectors

    def _audit_bm25(self) -> None:
        texts = ChunkStore(self.s.chunks_path)
        try:
            if SparseIndex.built_for_of(self.s.bm25_path) != texts.generation():
                SparseIndex.build(texts, self.s.bm25_path)
                self.report.repaired["bm25_rebuilt"] += 1
        finally:
            texts.close()

    def _audit_exact(self) -> None:
        """The exact-search snapshots read afresh from the vector store, none reused; where a snapshot that was
        current held other vectors than the store, the difference is counted as repaired."""
        texts = ChunkStore(self.s.chunks_path)
        try:
            generation = texts.vector_generation()
            texts.vectors_changed()  # long-lived readers load the new builds
            for store in exact_stores(self.s, self.ix, texts):
                for kind in store.kinds():
                    before = exact.load(store.folder / kind)
                    after = store.rebuild(kind, fresh=True)
                    self.report.checked[f"exact_{kind}"] = len(after.keys) if after else 0
                    if before is not None and after is not None and before.built_for == generation:
                        self.report.repaired["exact_vectors"] += exact.differences(before, after)
        finally:
            texts.close()

    def _find_stale_answers(self) -> None:
        """Answer notes whose sources changed or vanished since they were written (listed, never rewritten)."""
        manifest = Manifest(self.s.manifest_path)
        texts = ChunkStore(self.s.chunks_path)
        try:
            own = manifest.flagged(OWN)
            found = stale_answers(self.s, own, self._graph().resolver, texts, manifest.flagged(INLINE))
        finally:
            texts.close()
            manifest.close()
        self.report.stale_answers = [a.as_dict() for a in found]

    def _drop_old_models(self) -> None:
        """After a model change: the old collection goes only now, when the new one is complete and audited."""
        manifest = Manifest(self.s.manifest_path)
        try:
            migrated = manifest.meta("embedding_model") == self.ix.embedder.name
        finally:
            manifest.close()
        if not migrated:
            return
        latin_name = self.ix.latin_name()
        dropped = self.ix.store.drop_other_models(keep=[latin_name] if latin_name else [])
        for name in dropped:  # their exact-search snapshots (named as the chunk collection) go with them
            shutil.rmtree(self.s.exact_path / name, ignore_errors=True)
        if dropped:
            self.report.repaired["collections_dropped"] += len(dropped)
            self.report.messages.append(f"dropped the collections of earlier embedding models: {', '.join(dropped)}")



# ---- the nightly run: recorded, handed to a running watcher, never failing silently -----------------------------
LOCK_WAIT_S = 30 * 60.0  # a manual `overlay index` in progress: the nightly run waits for it, up to this long


def recorded_reindex(settings: Settings, *, full: bool = False, indexer: Indexer | None = None,
                     progress: Progress | None = None, via: str = "command") -> dict[str, Any]:
    """`reindex`, with its outcome saved for `overlay status` (`<state>/reindex.json`); a failure also goes into
    the audit note. Returns {"ok": True, "report": …} or {"ok": False, "error": …}; raises nothing but interrupts."""
    started = time.time()
    try:
        report = reindex(settings, full=full, indexer=indexer, progress=progress, wait_s=LOCK_WAIT_S).as_dict()
        outcome: dict[str, Any] = {"ok": True, "report": report}
    except Exception as exc:  # recorded and reported, whatever it is: the nightly run must never fail silently
        error = f"{exc.__class__.__name__}: {exc}"
        outcome = {"ok": False, "error": error, "hint": getattr(exc, "hint", None)}
        with contextlib.suppress(Exception):
            outcome["report_note"] = write_failure_note(settings, error)
    record = {"time": started, "ok": outcome["ok"], "via": via, "seconds": round(time.time() - started, 3),
              "error": outcome.get("error"), "report_note": (outcome.get("report") or {}).get("report_note")
              or outcome.get("report_note")}
    with contextlib.suppress(OSError):
        write_atomic(settings.nightly_path, json.dumps(record, ensure_ascii=False))
    return outcome


def reindex_now_or_hand_off(settings: Settings, *, full: bool = False,
                            progress: Progress | None = None) -> dict[str, Any]:
    """What `overlay reindex` does: run here, or — while `overlay watch` holds the writer lock — hand the job to
    the watcher and wait for its result."""
    if (holder(settings.lock_path) or {}).get("command") == "watch":
        outcome, where = handoff.submit(settings, "reindex", {"full": full},
                                        run_here=lambda: recorded_reindex(settings, full=full, progress=progress))
        return {**outcome, "via": "watcher" if where == "watcher" else "command"}
    return {**recorded_reindex(settings, full=full, progress=progress), "via": "command"}


def last_run(settings: Settings) -> dict[str, Any] | None:
    try:
        return json.loads(settings.nightly_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
