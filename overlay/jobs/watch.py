"""`overlay watch`: keep the index live and answer notes that ask.

One loop, one thread of work: debounced file events → the same incremental `Indexer.run` as `overlay index` (a scan
diff, so a missed event costs latency, never correctness) → asking notes among what changed wait until they have
been still for `ask_settle_s` → answered through `overlay.answer.ask` → marked answered only if unchanged meanwhile. The
writer lock is held for the watcher's whole life; health goes to `<state>/status.json` for `overlay status`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from overlay.answer.ask import ask
from overlay.answer.llm import LLM, make_llm
from overlay.errors import OverlayError
from overlay.index.chroma_store import ChromaStore
from overlay.index.indexer import Indexer, IndexReport
from overlay.jobs import triggers
from overlay.jobs.reindex import reindex
from overlay.jobs.schedule import hour_minute
from overlay.jobs.watch_health import Health
from overlay.lock import writer_lock
from overlay.search.retrieval import Retriever
from overlay.settings import Settings
from vault_sync import SkipFile, read_note, write_atomic
from vault_sync.watcher import DebouncedWatcher

RESCAN_S = 300.0  # a full reconcile even without events (inotify can overflow; network drives miss events)
MAX_ASK_TRIES = 3
RETRY_S = 30.0
Log = Callable[[str], None]


@dataclass
class _Pending:
    question: triggers.Question
    tries: int = 0
    not_before: float = 0.0  # after a failure: back off, 30 s, 60 s, ...


class Watcher:
    def __init__(self, settings: Settings, *, indexer: Indexer | None = None, llm: LLM | None = None,
                 retriever_factory: Callable[[], Retriever] | None = None, log: Log | None = None,
                 nightly: str | None = None) -> None:
        self.settings = settings
        self.indexer = indexer or Indexer(settings, store_factory=ChromaStore)
        self.indexer.lock_held = True
        self._llm = llm
        self._retriever_factory = retriever_factory
        self.log: Log = log or (lambda _line: None)
        self.health = Health()
        self.pending: dict[str, _Pending] = {}
        self.stop_event = threading.Event()
        self.nightly = nightly  # "HH:MM": run `overlay reindex` from inside the watcher at that time every day
        self.next_nightly = next_time(nightly) if nightly else None

    # ---- the loop ---------------------------------------------------------------------------------------------
    def run(self) -> None:
        with writer_lock(self.settings.lock_path, "watch"):
            events = DebouncedWatcher(self.settings.vault, quiet_s=self.settings.watch_quiet_s,
                                      ignored_dirs=(self.settings.state_dir,))
            events.start()  # before the catch-up, so nothing saved during it is missed
            if events.fallback:
                self.log(f"[yellow]{events.fallback}[/]")
                self.health.error("", events.fallback)
            try:
                self._index("catch-up")
                last_full = time.monotonic()
                while not self.stop_event.is_set():
                    batch = events.next_batch(timeout=0.25)
                    if batch is not None or time.monotonic() - last_full > RESCAN_S:
                        self._index(f"{len(batch)} changed path(s)" if batch else "periodic rescan")
                        last_full = time.monotonic()
                    self._answer_ready()
                    self._maybe_nightly()
                    self.health.queue = events.pending + len(self.pending)
                    self._save_health()
            finally:
                events.stop()
                self.health.running = False
                self._save_health(force=True)

    def stop(self) -> None:
        """Ask the loop to end after the batch or answer it is working on."""
        self.stop_event.set()

    # ---- indexing ---------------------------------------------------------------------------------------------
    def _index(self, why: str) -> None:
        try:
            report = self.indexer.run()
        except Exception as exc:  # one bad batch must not stop the watcher; the next batch retries the diff
            self.health.error("", f"index ({why}) failed: {exc.__class__.__name__}: {exc}")
            self.log(f"[red]index failed[/]: {exc}")
            return
        self._record(report, why)
        for path in report.changed_paths:
            self._consider(path)

    def _record(self, report: IndexReport, why: str) -> None:
        changed = report.new + report.modified + report.deleted + report.moved
        self.health.last_batch = {"time": time.time(), "why": why, "new": report.new, "modified": report.modified,
                                  "deleted": report.deleted, "moved": report.moved, "seconds": report.seconds}
        for skip in report.skipped[-5:] if changed else []:
            self.health.error(skip["path"], skip["reason"])
        if changed:
            self.log(f"indexed: {report.new} new, {report.modified} modified, {report.moved} moved, "
                     f"{report.deleted} deleted in {report.seconds:.2f} s")

    def _maybe_nightly(self) -> None:
        if self.next_nightly is None or time.time() < self.next_nightly:
            return
        self.next_nightly = next_time(self.nightly, after=time.time() + 60)
        try:
            report = reindex(self.settings, indexer=self.indexer).as_dict()
        except Exception as exc:  # as for a batch: recorded, and the watcher goes on
            self.health.error("", f"nightly reindex failed: {exc.__class__.__name__}: {exc}")
            return
        repaired = sum(report["repaired"].values())
        self.health.last_batch = {"time": time.time(), "why": "nightly reindex", "repaired": repaired,
                                  "seconds": report["seconds"], "report_note": report["report_note"]}
        self.log(f"nightly reindex: {repaired} repair(s) in {report['seconds']:.1f} s")

    # ---- asking -----------------------------------------------------------------------------------------------
    def _consider(self, path: str) -> None:
        if not path.endswith(".md"):
            return
        try:
            note, _ = read_note(self.settings.vault, path, max_bytes=self.settings.max_file_bytes)
        except (SkipFile, FileNotFoundError, OSError):
            self.pending.pop(path, None)
            return
        question = triggers.question_of(note, self.settings)
        if question is None:
            self.pending.pop(path, None)
        else:
            self.pending[path] = _Pending(question)

    def _answer_ready(self) -> None:
        for path, item in list(self.pending.items()):
            if self.stop_event.is_set():
                return
            try:
                mtime = (self.settings.vault / path).stat().st_mtime
            except FileNotFoundError:
                del self.pending[path]
                continue
            if time.time() - mtime < self.settings.ask_settle_s or time.monotonic() < item.not_before:
                continue  # still being typed, or failed a moment ago
            self._answer(path, item)

    def _answer(self, path: str, item: _Pending) -> None:
        item.tries += 1
        try:
            result = ask(self.settings, item.question.text, asked_from=path, llm=self._model(),
                         embedder=self.indexer.embedder, retriever=self._retriever(),
                         before_write=lambda: triggers.ensure_unchanged(self.settings, item.question),
                         title=item.question.title or None)
        except triggers.NoteChanged:
            del self.pending[path]  # its new text comes back with the next batch and is looked at afresh
            self.log(f"{path} changed while it was answered; looking again")
            return
        except (OverlayError, OSError) as exc:
            self.health.error(path, f"{exc.__class__.__name__}: {exc}")
            self.log(f"[red]could not answer[/] {path}: {exc}")
            if item.tries >= MAX_ASK_TRIES:
                del self.pending[path]  # saving the note again asks again
            item.not_before = time.monotonic() + RETRY_S * item.tries
            return
        del self.pending[path]  # answered: whatever happens to the mark, it is not answered again unasked
        self.health.answered += 1
        self.log(f"answered {path} → {result.note_path}")
        self._mark(path, item, result.note_path)

    def _mark(self, path: str, item: _Pending, note_path: str) -> None:
        try:
            triggers.mark_answered(self.settings, item.question, f"[[{note_path.removesuffix('.md')}]]")
        except triggers.NoteChanged:
            self.log(f"{path} changed after its answer was written; not marked, its new text is looked at again")
        except (ValueError, OSError) as exc:  # broken YAML, not UTF-8: the answer stands, the note says why not
            self.health.error(path, f"answered in {note_path}, but not marked answered: {exc}")

    def _model(self) -> LLM:
        if self._llm is None:
            self._llm = make_llm(self.settings)
        return self._llm

    def _retriever(self) -> Retriever | None:
        return self._retriever_factory() if self._retriever_factory else None

    # ---- health -----------------------------------------------------------------------------------------------
    _saved: str = ""

    def _save_health(self, force: bool = False) -> None:
        data = json.dumps(self.health.as_dict(), ensure_ascii=False)
        if data != self._saved or force:
            write_atomic(self.settings.watcher_status_path, data)
            self._saved = data


def next_time(at: str, after: float | None = None) -> float:
    """The next moment (epoch seconds, local time) the clock shows `at` ("HH:MM")."""
    hour, minute = hour_minute(at)
    now = datetime.fromtimestamp(after if after is not None else time.time())
    due = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if due <= now:
        due += timedelta(days=1)
    return due.timestamp()
