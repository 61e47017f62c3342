"""`overlay watch`: keep the index live and answer notes that ask.

One loop, one thread of work: debounced file events → the same incremental `Indexer.run` as `overlay index` (a scan
diff, so a missed event costs latency, never correctness) → the notes the index flags as asking (found in the
manifest, not in memory: a question saved while the watcher was down, or pending when it was killed, is found
again) wait until they have been still for `ask_settle_s` → answered through `overlay.answer.ask` with a warm
retriever and model → marked answered only if unchanged meanwhile. `<state>/questions.sqlite` makes each question
answered once. Jobs handed over by `overlay reindex` run between batches.

Nothing that goes wrong in one batch, one note or one answer stops the loop: it is recorded in
`<state>/status.json` (time, path, reason; `overlay status` shows it), retried with back-off, and the loop goes on.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from graph import LinkGraph
from overlay.answer import inline
from overlay.answer.ask import ask, new_run_id
from overlay.answer.llm import LLM, make_llm
from overlay.answer.writeback import answers_dir
from overlay.index.chroma_store import ChromaStore
from overlay.index.chunk_store import ChunkStore
from overlay.index.exact import exact_store
from overlay.index.indexer import Indexer, IndexReport, graph_stamp
from overlay.index.note_kinds import ASKS
from overlay.jobs import handoff, metrics, triggers
from overlay.jobs.question_log import QuestionLog
from overlay.jobs.reindex import recorded_reindex
from overlay.jobs.schedule import hour_minute
from overlay.jobs.watch_health import Health
from overlay.lock import writer_lock
from overlay.search.reader import fusion_options, searched_exactly
from overlay.search.rerank import make_reranker
from overlay.search.retrieval import Retriever
from overlay.settings import Settings
from vault_sync import Manifest, SkipFile, read_note, write_atomic
from vault_sync.watcher import DebouncedWatcher

RESCAN_S = 300.0  # a full reconcile even without events (inotify can overflow; network drives miss events)
MAX_ASK_TRIES = 3
RETRY_S = 30.0
INDEX_BACKOFF_S = (1.0, 5.0, 30.0, 120.0)  # after 1, 2, 3, 4+ failed index runs in a row
QUESTIONS_RECHECK_S = 30.0  # flagged notes are looked at again this often, even without a batch
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
        self._llm = llm  # a model handed in (tests, a server that shares one); else `_model` loads the configured one
        self._loaded: LLM | None = None
        self._retriever_factory = retriever_factory
        self._warm: Retriever | None = None
        self.log: Log = log or (lambda _line: None)
        self.health = Health()
        self.pending: dict[str, _Pending] = {}
        self.questions: QuestionLog | None = None
        self.stop_event = threading.Event()
        self.nightly = nightly  # "HH:MM": run `overlay reindex` from inside the watcher at that time every day
        self.next_nightly = next_time(nightly) if nightly else None
        self._index_failures = 0
        self._index_retry_at = 0.0
        self._found_at = 0.0
        self.recheck_s = QUESTIONS_RECHECK_S

    # ---- the loop ---------------------------------------------------------------------------------------------
    def run(self) -> None:
        with writer_lock(self.settings.lock_path, "watch"):
            events = DebouncedWatcher(self.settings.vault, quiet_s=self.settings.watch_quiet_s,
                                      ignored_dirs=(self.settings.state_dir,))
            events.start()  # before the catch-up, so nothing saved during it is missed
            if events.fallback:
                self.log(f"[yellow]{events.fallback}[/]")
                self.health.error("", events.fallback)
            self.questions = QuestionLog(self.settings.questions_path)
            try:
                self._guard("recovering questions", "", self._recover)
                self._index("catch-up")
                self._guard("warming up", "", self._warm_up)
                last_full = time.monotonic()
                owed: str | None = None  # why an index run is due (kept while backing off after a failure)
                while not self.stop_event.is_set():
                    batch = events.next_batch(timeout=0.25)
                    if batch is not None:
                        owed = f"{len(batch)} changed path(s)"
                    elif owed is None and time.monotonic() - last_full > RESCAN_S:
                        owed = "periodic rescan"
                    if owed is not None and time.monotonic() >= self._index_retry_at and self._index(owed):
                        owed, last_full = None, time.monotonic()
                    if time.monotonic() - self._found_at > self.recheck_s:  # a read that failed, a lock
                        self._guard("finding questions", "", self._find_questions)
                    self._answer_ready()
                    self._guard("handed-over jobs", "", self._serve_requests)
                    self._guard("nightly reindex", "", self._maybe_nightly)
                    self.health.queue = events.pending + len(self.pending)
                    self._save_health()
            finally:
                events.stop()
                self.questions.close()
                self.health.running = False
                self._save_health(force=True)

    def _warm_up(self) -> None:
        """What the first batch would otherwise pay for (the model, the vector store, the link graph), paid at start:
        the catch-up run of an unchanged vault opens none of them."""
        _ = self.indexer.embedder, self.indexer.store
        if self.indexer.graph is None and self.settings.graph_path.is_file():
            self.indexer.graph = LinkGraph.load(self.settings.graph_path)
            self.indexer.graph_stamp = graph_stamp(self.settings.graph_path)

    def stop(self) -> None:
        """Ask the loop to end after the batch or answer it is working on."""
        self.stop_event.set()

    def _guard(self, what: str, path: str, step: Callable[[], object]) -> bool:
        """Run one step; anything it raises is recorded (status.json, the log) and the loop goes on."""
        try:
            step()
            return True
        except Exception as exc:  # one bad note, answer or engine call must never end the watcher
            self.health.error(path, f"{what} failed: {exc.__class__.__name__}: {exc}")
            self.log(f"[red]{what} failed[/]{' for ' + path if path else ''}: {exc}")
            return False

    # ---- indexing ---------------------------------------------------------------------------------------------
    def _index(self, why: str) -> bool:
        """One index run; False when it failed (it is retried after a back-off)."""
        reports: list[IndexReport] = []
        ok = self._guard(f"index ({why})", "", lambda: reports.append(self.indexer.run()))
        if ok:
            self._index_failures = 0
            self._record(reports[0], why)
            self._guard("metrics snapshot", "", lambda: metrics.after_index(self.settings, self.indexer.graph))
            if self._warm is not None and self.indexer.graph is not None:
                self._warm.use_graph(self.indexer.graph, self.indexer.graph_stamp)
        else:  # back off: a broken store fails every run; retrying at once would only fill the log
            self._index_failures += 1
            wait = INDEX_BACKOFF_S[min(self._index_failures, len(INDEX_BACKOFF_S)) - 1]
            self._index_retry_at = time.monotonic() + wait
        self._guard("finding questions", "", self._find_questions)
        return ok

    def _record(self, report: IndexReport, why: str) -> None:
        changed = report.new + report.modified + report.deleted + report.moved
        self.health.last_batch = {"time": time.time(), "why": why, "new": report.new, "modified": report.modified,
                                  "deleted": report.deleted, "moved": report.moved, "seconds": report.seconds}
        for skip in report.skipped[-5:] if changed else []:
            self.health.error(skip["path"], skip["reason"])
        if changed:
            self.log(f"indexed: {report.new} new, {report.modified} modified, {report.moved} moved, "
                     f"{report.deleted} deleted in {report.seconds:.2f} s")

    # ---- asking -----------------------------------------------------------------------------------------------
    def _find_questions(self) -> None:
        """Every note the index flags as asking, not answered yet (per the question log), becomes pending."""
        self._found_at = time.monotonic()
        manifest = Manifest(self.settings.manifest_path)
        try:
            flagged = set(manifest.flagged(ASKS))
        finally:
            manifest.close()
        for path in list(self.pending):
            if path not in flagged:
                del self.pending[path]  # answered and marked, edited, or deleted
        for path in sorted(flagged):
            self._guard("reading an asking note", path, lambda p=path: self._consider(p))

    def _consider(self, path: str) -> None:
        try:
            note, _ = read_note(self.settings.vault, path, max_bytes=self.settings.max_file_bytes)
        except (SkipFile, FileNotFoundError):
            self.pending.pop(path, None)
            return
        question = triggers.question_of(note, self.settings)
        known = self.pending.get(path)
        if question is None:
            self.pending.pop(path, None)
        elif known is None or known.question.checksum != question.checksum:
            record = self.questions.get(path, question.checksum)
            if record is None or record.state == "answering" or (
                    record.state == "failed" and record.tries < MAX_ASK_TRIES):
                self.pending[path] = _Pending(question, tries=record.tries if record else 0)
            else:
                self.pending.pop(path, None)  # answered already, or gave up: saving it again asks again

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
        question, run_id = item.question, new_run_id()
        if question.inline and not inline.editable(self.settings, path):  # UTF-16 without BOM, cp1251, KOI8-R…
            question = dataclasses.replace(question, placement="note")
            self.log(f"{path} is not UTF-8: its answer goes into a note of its own")
        self.questions.begin(path, question.checksum, run_id)
        try:
            retriever = self._retriever()
            result = ask(self.settings, question.text, asked_from=path,
                         llm=self._llm if self._llm is not None else self._model,
                         embedder=self.indexer.embedder, retriever=retriever, write=not question.inline,
                         before_write=lambda: triggers.ensure_unchanged(self.settings, question),
                         title=question.title or None, run_id=run_id, history=question.history)
            if question.inline:  # into the asking note, under the block that asks; nothing to mark
                place = inline.Place(path, question.checksum, question.anchor or 0)
                record, body = inline.block(result.draft, retriever.graph.resolver, path, run_id=run_id,
                                            created=datetime.now().astimezone())
                inline.write(self.settings, place, record, body)
                result.note_path = path
        except triggers.NoteChanged:
            del self.pending[path]  # its new text comes back with the next batch and is looked at afresh
            self.questions.failed(path, question.checksum, "changed while it was answered")
            self.log(f"{path} changed while it was answered; looking again")
            return
        except Exception as exc:  # a model, store or disk failure: recorded, retried with back-off
            reason = f"{exc.__class__.__name__}: {exc}"
            self.questions.failed(path, question.checksum, reason)
            self.health.error(path, reason)
            self.log(f"[red]could not answer[/] {path}: {exc}")
            if item.tries >= MAX_ASK_TRIES:
                del self.pending[path]  # saving the note again asks again
            item.not_before = time.monotonic() + RETRY_S * item.tries
            return
        self.questions.answered(path, question.checksum, result.note_path or "")
        del self.pending[path]  # answered: whatever happens to the mark, it is not answered again unasked
        if not question.inline:
            self._mark(path, item, result.note_path or "")
        self.health.answered += 1  # counted once the whole unit is done: the answer written, the question marked
        self.log(f"answered {path} → {result.note_path}")

    def _mark(self, path: str, item: _Pending, note_path: str) -> None:
        try:
            triggers.mark_answered(self.settings, item.question, f"[[{note_path.removesuffix('.md')}]]")
        except triggers.NoteChanged:
            self.log(f"{path} changed after its answer was written; not marked, its new text is looked at again")
        except Exception as exc:  # broken YAML, not UTF-8, a lock timeout: the answer stands, the note says why not
            self.health.error(path, f"answered in {note_path}, but not marked answered: {exc}")

    def _recover(self) -> None:
        """Questions a killed watcher was answering: done if their note exists, else asked again."""
        for record in self.questions.recover(answers_dir(self.settings), self.settings.vault):
            self.log(f"{record.path}: its answer was written before the last stop; not answered again")

    def _model(self) -> LLM:
        """The configured model, loaded on the first answer that needs one and kept (extractive answers need none)."""
        if self._loaded is None:
            self._loaded = make_llm(self.settings)
        return self._loaded

    def _retriever(self) -> Retriever:
        """One retriever for the watcher's life: the indexer's own store, embedder and in-memory graph, BM25
        reloaded only when the chunk texts changed (no 12 s graph load per answer on a 100k-note vault)."""
        if self._retriever_factory is not None:
            return self._retriever_factory()
        if self._warm is None:
            texts, model = ChunkStore(self.settings.chunks_path), self.indexer.embedder.name
            self._warm = Retriever(embedder=self.indexer.embedder,
                                   store=exact_store(self.settings, self.indexer.store, texts, model),
                                   texts=texts, sparse=None, graph=self.indexer.graph,
                                   **fusion_options(self.settings), reranker=make_reranker(self.settings),
                                   rerank_top=self.settings.rerank_top,
                                   bm25_path=self.settings.bm25_path, graph_path=self.settings.graph_path,
                                   latin=lambda: searched_exactly(self.settings, self.indexer.latin, texts))
            self._warm.use_graph(self.indexer.graph, self.indexer.graph_stamp)
        self._warm.refresh()  # no change since start: the indexer never loaded the graph, so it comes from disk
        return self._warm

    # ---- jobs handed over, the nightly run --------------------------------------------------------------------
    def _serve_requests(self) -> None:
        for request in handoff.pending(self.settings):
            self.log(f"running a handed-over {request.kind}")
            if request.kind == "reindex":
                outcome = self._reindex(bool(request.args.get("full")), via="watcher")
            else:
                outcome = {"ok": False, "error": f"unknown job {request.kind!r}"}
            handoff.answer(self.settings, request, outcome)
        handoff.stale_results(self.settings)

    def _maybe_nightly(self) -> None:
        if self.next_nightly is None or time.time() < self.next_nightly:
            return
        self.next_nightly = next_time(self.nightly, after=time.time() + 60)
        self._reindex(False, via="watcher --nightly")

    def _reindex(self, full: bool, via: str) -> dict:
        outcome = recorded_reindex(self.settings, full=full, indexer=self.indexer, via=via)
        if not outcome["ok"]:
            self.health.error("", f"reindex failed: {outcome['error']}")
            self.log(f"[red]reindex failed[/]: {outcome['error']}")
            return outcome
        report = outcome["report"]
        repaired = sum(report["repaired"].values())
        why = "nightly reindex" if via.endswith("--nightly") else "reindex handed over by `overlay reindex`"
        self.health.last_batch = {"time": time.time(), "why": why, "repaired": repaired,
                                  "seconds": report["seconds"], "report_note": report["report_note"]}
        self.log(f"reindex: {repaired} repair(s) in {report['seconds']:.1f} s")
        if self._warm is not None and self.indexer.graph is not None:
            self._warm.use_graph(self.indexer.graph, self.indexer.graph_stamp)
        self._guard("finding questions", "", self._find_questions)
        return outcome

    # ---- health -----------------------------------------------------------------------------------------------
    _saved: str = ""

    def _save_health(self, force: bool = False) -> None:
        data = json.dumps(self.health.as_dict(), ensure_ascii=False)
        if data != self._saved or force:
            try:
                write_atomic(self.settings.watcher_status_path, data)
                self._saved = data
            except OSError as exc:  # a full disk must not end the watcher; the terminal still hears of it
                self.log(f"[red]cannot save {self.settings.watcher_status_path.name}[/]: {exc}")


def next_time(at: str, after: float | None = None) -> float:
    """The next moment (epoch seconds, local time) the clock shows `at` ("HH:MM")."""
    hour, minute = hour_minute(at)
    now = datetime.fromtimestamp(after if after is not None else time.time())
    due = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if due <= now:
        due += timedelta(days=1)
    return due.timestamp()
