"""`ask` as a library call: open the index and the model, run the loop, write the note, log the run."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import frontmatter

from overlay.answer import inline, note_format, writeback
from overlay.answer.checks import Verdict, strip_failures
from overlay.answer.llm import LLM, make_llm
from overlay.answer.loop import Asker, Draft, Event
from overlay.errors import NotIndexed, OverlayError
from overlay.index.embedding import Embedder
from overlay.search.reader import note_path, open_retriever
from overlay.search.retrieval import Period, Retriever
from overlay.settings import Settings
from vault_sync import read_note, write_atomic
from vault_sync.frontmatter_edit import FrontmatterEditError, set_keys
from vault_sync.markdown import WIKILINK


@dataclass
class AskResult:
    draft: Draft
    note_text: str
    note_path: str | None
    run_id: str
    removed_at_write: list[str]
    refreshed: str | None = None  # `ask --refresh`: "in place", or "as a new note" (the old one was edited)

    @property
    def answer(self) -> str:
        return frontmatter.loads(self.note_text).content

    def as_dict(self) -> dict[str, Any]:
        d, v = self.draft, self.draft.verdict
        return {
            "question": d.question,  # as read: a question typed on the wrong layout, or with a slip in a name, mended
            "answer": self.answer,
            "sources": [s.as_dict() for s in d.sources],
            "note_path": self.note_path,
            "checks": {"citations_total": v.citations_total, "citations_valid": v.citations_valid,
                       "links_total": v.links_total, "links_resolved": v.links_resolved, "revised": d.revised,
                       "removed": [r for s in d.sections for r in s.removed] + self.removed_at_write,
                       "echo_removed": len(v.echoes), "cited_sentences": v.cited_sentences,
                       "supported": v.supported},
            "distinct_notes": len({s.path for s in d.sources}),
            "timings": d.timings.as_dict(),
            "model": d.model,
            "language": d.lang,
            "run_id": self.run_id,
            **({"refreshed": self.refreshed} if self.refreshed else {}),
        }


def ask(settings: Settings, question: str, *, k: int | None = None, write: bool = True,
        asked_from: str | None = None, llm: LLM | Callable[[], LLM] | None = None, embedder: Embedder | None = None,
        on_event: Event | None = None, retriever: Retriever | None = None,
        before_write: Callable[[], None] | None = None, title: str | None = None,
        run_id: str | None = None, log: bool = True, period: Period = None,
        history: tuple[tuple[str, str], ...] = ()) -> AskResult:
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
        question = retriever.spelled(question)  # typed on the wrong layout, or a slip in a name: as search reads it
        origin = note_path(retriever, asked_from) if asked_from else None
        folder = writeback.answers_dir(settings)
        links = note_format.Links(retriever.graph.resolver,
                                  writeback.vault_relative(settings, folder / "answer.md"))
        asker = Asker(settings, retriever, llm or (lambda: make_llm(settings)), on_event)
        draft = asker.draft(question, k=k, asked_from=origin, resolves=links.resolves, period=period,
                            history=history)
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
    if path is not None:
        writeback.keep_original(settings, run_id, text)
    result = AskResult(draft, text, writeback.vault_relative(settings, path) if path else None, run_id,
                       [f"[[{t}]]" for t in dangling])
    if log:
        writeback.log_run(settings, _run_record(result, created))
    return result


def new_run_id(when: datetime | None = None) -> str:
    return f"{(when or datetime.now().astimezone()):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def _run_record(result: AskResult, created: datetime) -> dict[str, Any]:
    data = result.as_dict()
    data.pop("answer")
    return {"time": created.isoformat(timespec="seconds"), "question": result.draft.question,
            "asked_from": result.draft.asked_from, **data}



def refresh(settings: Settings, note: str, *, k: int | None = None, llm: LLM | Callable[[], LLM] | None = None,
            embedder: Embedder | None = None, on_event: Event | None = None,
            retriever: Retriever | None = None) -> AskResult:
    """Answer an answer note's question again. The note is replaced (atomically) when nobody edited it since overlay
    wrote it; otherwise the new answer is a new note, and the old one gains `superseded_by: "[[new]]"` (two lines of
    its frontmatter, nothing else)."""
    own = retriever is None
    retriever = retriever or open_retriever(settings, embedder)
    try:
        path = note_path(retriever, note)
        before = (settings.vault / path).read_bytes()
        meta = read_note(settings.vault, path)[0].frontmatter
        if meta.get("type") != "overlay-answer" and inline.answers_in(settings, path):
            return _refresh_inline(settings, path, k=k, llm=llm, on_event=on_event, retriever=retriever)
        if meta.get("type") != "overlay-answer" or not str(meta.get("question", "")).strip():
            raise OverlayError(f"{path} is not an answer note overlay wrote (no `type: overlay-answer` and question)",
                               hint="give the path of a note in the answers folder")
        origin = _asked_from(retriever, meta, path)
        result = ask(settings, str(meta["question"]), k=k, write=False, asked_from=origin, llm=llm,
                     on_event=on_event, retriever=retriever, log=False)
    finally:
        if own:
            retriever.texts.close()
    created = datetime.now().astimezone()
    with writeback.vault_writes(settings):
        target = settings.vault / path
        current = target.read_bytes()
        writeback.keep_original(settings, result.run_id, result.note_text)
        if current == before and note_format.untouched(current.decode("utf-8", "replace")):
            write_atomic(target, result.note_text)  # the note keeps its mode
            result.note_path, result.refreshed = path, "in place"
        else:
            new = writeback.write_answer(settings, str(meta["question"]), result.note_text, when=created, locked=True)
            result.note_path, result.refreshed = writeback.vault_relative(settings, new), "as a new note"
            _point_to(target, current, result.note_path)
    writeback.log_run(settings, _run_record(result, created))
    return result


def _refresh_inline(settings: Settings, path: str, *, k: int | None, llm: LLM | Callable[[], LLM] | None,
                    on_event: Event | None, retriever: Retriever) -> AskResult:
    """Each of the note's inline answers that nobody edited, asked again and replaced where it stands (an edited one
    is left as it is and named in `refreshed`)."""
    result, kept = None, []
    for answer in inline.answers_in(settings, path):
        if not answer.intact or not str(answer.meta.get("q", "")).strip():
            kept.append(answer.run_id)
            continue
        created = datetime.now().astimezone()
        result = ask(settings, str(answer.meta["q"]), k=k, write=False, asked_from=path, llm=llm, on_event=on_event,
                     retriever=retriever, log=False)
        record, body = inline.block(result.draft, retriever.graph.resolver, path, run_id=result.run_id,
                                    created=created)
        inline.replace(settings, path, answer.run_id, record, body)
        writeback.log_run(settings, _run_record(result, created))
    if result is None:
        raise OverlayError(f"{path}: no inline answer could be refreshed (edited by you: {', '.join(kept) or 'none'})",
                           hint="an edited answer is yours now; remove it or ask again")
    result.note_path = path
    result.refreshed = "inline" + (f" (left as you edited them: {', '.join(kept)})" if kept else "")
    return result


def _asked_from(retriever: Retriever, meta: dict[str, Any], path: str) -> str | None:
    match = WIKILINK.search(str(meta.get("asked_from") or ""))
    if not match:
        return None
    resolution = retriever.graph.resolver.resolve(match.group(2).split("|")[0].split("#")[0], path)
    return resolution.path


def _point_to(old: Path, text: bytes, new_path: str) -> None:
    """The edited old answer links to its successor, if its frontmatter can take two more lines safely."""
    with contextlib.suppress(UnicodeDecodeError, FrontmatterEditError):
        updated = set_keys(text.decode("utf-8"), {"superseded_by": f"[[{new_path.removesuffix('.md')}]]"})
        write_atomic(old, updated.encode("utf-8"))
