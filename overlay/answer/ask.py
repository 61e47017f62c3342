"""`ask` as a library call: open the index and the model, run the loop, write the note, log the run."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import frontmatter

from overlay.answer import note_format, writeback
from overlay.answer.checks import Verdict, strip_failures
from overlay.answer.llm import LLM, make_llm
from overlay.answer.loop import Asker, Draft, Event
from overlay.errors import NotIndexed, OverlayError
from overlay.index.embedding import Embedder
from overlay.search.reader import note_path, open_retriever
from overlay.search.retrieval import Retriever
from overlay.settings import Settings


@dataclass
class AskResult:
    draft: Draft
    note_text: str
    note_path: str | None
    run_id: str
    removed_at_write: list[str]

    @property
    def answer(self) -> str:
        return frontmatter.loads(self.note_text).content

    def as_dict(self) -> dict[str, Any]:
        d, v = self.draft, self.draft.verdict
        return {
            "answer": self.answer,
            "sources": [s.as_dict() for s in d.sources],
            "note_path": self.note_path,
            "checks": {"citations_total": v.citations_total, "citations_valid": v.citations_valid,
                       "links_total": v.links_total, "links_resolved": v.links_resolved, "revised": d.revised,
                       "removed": [r for s in d.sections for r in s.removed] + self.removed_at_write},
            "timings": d.timings.as_dict(),
            "model": d.model,
            "language": d.lang,
            "run_id": self.run_id,
        }


def ask(settings: Settings, question: str, *, k: int | None = None, write: bool = True,
        asked_from: str | None = None, llm: LLM | None = None, embedder: Embedder | None = None,
        on_event: Event | None = None, retriever: Retriever | None = None,
        before_write: Callable[[], None] | None = None, title: str | None = None,
        run_id: str | None = None) -> AskResult:
    """`retriever` and `llm` are opened from settings unless given (a watcher keeps both warm). `before_write` may
    raise to cancel the note at the last moment (the watcher: the asking note changed while the model wrote).
    `title` names the answer note (default: the question; the watcher passes the asking note's title). `run_id` is
    made here unless given (the watcher records it before the model runs, to find the note again after a crash)."""
    question = question.strip()
    if not question:
        raise OverlayError("the question is empty")
    own = retriever is None
    retriever = retriever or open_retriever(settings, embedder)
    try:
        if retriever.graph is None:
            raise NotIndexed("no link graph yet, so links in an answer cannot be checked")
        origin = note_path(retriever, asked_from) if asked_from else None
        folder = writeback.answers_dir(settings)
        links = note_format.Links(retriever.graph.resolver,
                                  writeback.vault_relative(settings, folder / "answer.md"))
        asker = Asker(settings, retriever, llm or (lambda: make_llm(settings)), on_event)
        draft = asker.draft(question, k=k, asked_from=origin, resolves=links.resolves)
    except OverlayError as exc:  # a failed run is a run too: the log says what went wrong, and when
        writeback.log_run(settings, {"time": datetime.now().astimezone().isoformat(timespec="seconds"),
                                     "question": question, "asked_from": asked_from,
                                     "error": f"{exc.__class__.__name__}: {exc}"})
        raise
    finally:
        if own:
            retriever.texts.close()
    created = datetime.now().astimezone()
    run_id = run_id or new_run_id(created)
    text = note_format.render(draft, links, created=created, run_id=run_id)
    # The last guard: every [[link]] of the finished note resolves, whatever went before.
    dangling = note_format.on_every_link(text, links.resolves)
    if dangling:
        text = strip_failures(text, Verdict(bad_links=dangling))
    if write and before_write is not None:
        before_write()
    path = writeback.write_answer(settings, title or question, text, when=created) if write else None
    result = AskResult(draft, text, writeback.vault_relative(settings, path) if path else None, run_id,
                       [f"[[{t}]]" for t in dangling])
    writeback.log_run(settings, _run_record(result, created))
    return result


def new_run_id(when: datetime | None = None) -> str:
    return f"{(when or datetime.now().astimezone()):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def _run_record(result: AskResult, created: datetime) -> dict[str, Any]:
    data = result.as_dict()
    data.pop("answer")
    return {"time": created.isoformat(timespec="seconds"), "question": result.draft.question,
            "asked_from": result.draft.asked_from, **data}

