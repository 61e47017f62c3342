"""The reasoning loop: retrieve → prompt with numbered sources → stream each answer section → verify citations and
links → one revision pass with the failures stated → remove what still fails.

The note's skeleton (sections, related-notes lists, Sources) is built by code from retrieval and verification, the
model writes only the prose of each section: even a weak model yields a well-formed note whose every link is real.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

import prompts
from overlay.answer import conversation, extractive, support
from overlay.answer import sources as source_list
from overlay.answer.checks import Verdict, echoes, normalise_citations, strip_failures, verify
from overlay.answer.llm import (
    LLM,
    Message,
    ThinkingStream,
    answer_mode,
    configured_model,
    question_language,
    split_thinking,
)
from overlay.answer.sources import Source
from overlay.answer.support import SupportChecker
from overlay.errors import LLMError
from overlay.search.retrieval import Period, Retriever
from overlay.settings import Settings

Event = Callable[[str, str], None]  # ("section" | "text" | "thinking" | "revise" | "sources", payload)
PROMPT_MARGIN = 64  # tokens of chat-template wrapping around our messages
MAX_PROBLEMS = 8  # listed in one revision request; what is not listed and still fails is removed
QUOTE_CHARS = 200  # of a failing sentence quoted back to the model


@dataclass
class Section:
    title: str
    text: str = ""
    thinking: str = ""
    revised: bool = False
    removed: list[str] = field(default_factory=list)


@dataclass
class Timings:
    retrieve_s: float = 0.0
    rerank_s: float = 0.0  # of retrieve_s: the reranker's share (0 when none is configured)
    prompt_tokens: int = 0
    gen_tokens: int = 0
    ttft_s: float | None = None
    gen_s: float = 0.0  # from each call's first token to its end, summed
    total_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        rate = self.gen_tokens / self.gen_s if self.gen_s > 0 else None
        return {"retrieve_s": round(self.retrieve_s, 3), "rerank_s": round(self.rerank_s, 3),
                "prompt_tokens": self.prompt_tokens,
                "gen_tokens": self.gen_tokens, "ttft_s": None if self.ttft_s is None else round(self.ttft_s, 3),
                "gen_tok_s": None if rate is None else round(rate, 1), "total_s": round(self.total_s, 3)}


@dataclass
class Draft:
    """What the loop produced, before it becomes a note."""

    question: str
    lang: str
    model: str
    sources: list[Source]
    sections: list[Section]
    verdict: Verdict
    timings: Timings
    asked_from: str | None = None
    history: tuple[tuple[str, str], ...] = ()  # the conversation before the question (a chat's earlier turns)

    @property
    def revised(self) -> int:
        return sum(s.revised for s in self.sections)


class Asker:
    def __init__(self, settings: Settings, retriever: Retriever, llm: LLM | Callable[[], LLM],
                 on_event: Event | None = None, mode: str | None = None) -> None:
        """`llm` may be a factory: it is called only when there is something to answer from (a 32B model is not
        loaded to say that the notes hold nothing on the question). `mode`: "llm" or "extractive" (default: what
        the settings say, a model handed in counting as configured)."""
        self.settings, self.retriever = settings, retriever
        self._llm = llm
        self.mode = mode or answer_mode(settings, model_given=isinstance(llm, LLM))
        self._support: SupportChecker | None = None  # made per answer, once its sources are known
        self._history = False  # the answer has a conversation to show the model (it takes part of the window)
        self.emit: Event = on_event or (lambda _kind, _payload: None)

    def draft(self, question: str, *, k: int | None = None, asked_from: str | None = None,
              resolves: Callable[[str], bool], exclude: Collection[str] = (), period: Period = None,
              history: tuple[tuple[str, str], ...] = ()) -> Draft:
        """`history`: the conversation before the question (a chat's turns): searched with a follow-up, and shown
        to the model before it (overlay.answer.conversation)."""
        started = time.perf_counter()
        lang = question_language(question, self.settings.answer_language)
        timings = Timings()
        found = source_list.gather(self.retriever, conversation.search_query(question, history),
                                   k or self.settings.ask_k,
                                   min_similarity=self.settings.min_similarity,
                                   exclude={*exclude, *([asked_from] if asked_from else [])}, period=period)
        timings.retrieve_s = time.perf_counter() - started
        timings.rerank_s = getattr(self.retriever, "rerank_s", 0.0)
        draft = Draft(question, lang, "extractive" if self.mode == "extractive" else configured_model(self.settings),
                      [], [], Verdict(), timings, asked_from, history)
        if found and self.mode == "extractive":
            draft.model = "extractive"
            draft.sources = found
            self.emit("sources", str(len(found)))
            draft.sections.append(self._extract(draft, resolves))
        elif found:
            draft.model = self.llm.name
            self._history = bool(history)
            draft.sources = source_list.fit(found, self._source_budget(question, lang), self.llm.count_tokens)
            if not draft.sources:
                raise LLMError(f"n_ctx {self.llm.n_ctx} leaves no room for a single source next to "
                               f"max_answer_tokens {self.settings.max_answer_tokens} (twice, for a revision)",
                               hint="raise n_ctx or lower max_answer_tokens")
            self.emit("sources", str(len(draft.sources)))
            for spec in prompts.table("sections.toml")[lang]["sections"]:
                draft.sections.append(self._section(draft, spec, resolves))
        timings.total_s = time.perf_counter() - started
        return draft

    def _extract(self, draft: Draft, resolves: Callable[[str], bool]) -> Section:
        """The extractive answer: quoted source sentences, each cited; verbatim, so every citation is supported."""
        title = prompts.table("sections.toml")[draft.lang]["extractive_title"]
        self.emit("section", title)
        text = extractive.render(extractive.select(draft.question, draft.sources, self.retriever.embedder),
                                 draft.sources)
        self.emit("text", text)
        verdict = verify(text, len(draft.sources), resolves)
        verdict.cited_sentences = verdict.supported = len(support.claims(text))
        draft.verdict.add(verdict)
        return Section(title, text)

    # ---- one section --------------------------------------------------------------------------------------------
    def _section(self, draft: Draft, spec: dict[str, str], resolves: Callable[[str], bool]) -> Section:
        section = Section(spec["title"])
        self.emit("section", section.title)
        task = prompts.render(f"task.{draft.lang}.md", sources=source_list.render(draft.sources),
                              question=draft.question, title=spec["title"], ask=spec["ask"], switch=self._switch())
        messages = [{"role": "system", "content": prompts.text(f"system.{draft.lang}.md")},
                    *conversation.as_messages(draft.history, self._history_budget(), self.llm.count_tokens),
                    {"role": "user", "content": task}]
        text, thinking = self.generate(messages, draft.timings)
        if not text.strip() and thinking and self.settings.thinking:
            # the reasoning used up max_answer_tokens (Qwen3 thinks at length): ask once more without thinking
            messages[-1] = {**messages[-1], "content": messages[-1]["content"] + " /no_think"}
            text, _ = self.generate(messages, draft.timings)
        verdict = self._review(text, draft, resolves)
        revision = None if verdict.ok else self._revision(draft, spec["title"], verdict, [*messages, text])
        if revision is not None:
            section.revised = True
            self.emit("revise", section.title)
            messages += [{"role": "assistant", "content": text}, {"role": "user", "content": revision}]
            text, more = self.generate(messages, draft.timings)
            thinking = "\n\n".join(t for t in (thinking, more) if t)
            verdict = self._review(text, draft, resolves)
        draft.verdict.add(verdict)
        section.removed = ([f"[^{n}]" for n in verdict.bad_citations] + [f"[[{t}]]" for t in verdict.bad_links]
                           + [f"echo: {e}" for e in verdict.echoes]
                           + [f"unsupported [^{n}]: {s}" for s, n in verdict.unsupported])
        section.text = strip_failures(text, verdict) if not verdict.ok else text
        section.thinking = thinking
        return section

    def _review(self, text: str, draft: Draft, resolves: Callable[[str], bool]) -> Verdict:
        """Citations and links (checks.verify), echoes of the prompt, and support of each citation by its source."""
        verdict = verify(text, len(draft.sources), resolves)
        verdict.echoes = echoes(text, self._prompt_text(draft))
        if self._support is None:
            self._support = SupportChecker(self.retriever.embedder, {s.n: s.text for s in draft.sources})
        judged = self._support.judge(text)
        verdict.cited_sentences = len(judged)
        verdict.supported = sum(claim.holds for claim in judged)
        verdict.unsupported = [(claim.sentence.text, n) for claim in judged for n in claim.unsupported]
        return verdict

    def _prompt_text(self, draft: Draft) -> str:
        """Everything the model was told except the sources (quoting a source is allowed, quoting orders is not)."""
        words = prompts.table("sections.toml")[draft.lang]
        specs = words["sections"]
        parts = [prompts.text(f"system.{draft.lang}.md"), prompts.text(f"revise.{draft.lang}.md"),
                 prompts.text(f"task.{draft.lang}.md").replace("$sources", ""), draft.question,
                 f"{words['question_label']}: {draft.question}", *(s["ask"] for s in specs)]
        return "\n".join(parts)

    def generate(self, messages: list[Message], timings: Timings) -> tuple[str, str]:
        """(answer, thinking) of one streamed call; counts tokens and times."""
        asked = time.perf_counter()
        first: float | None = None
        pieces: list[str] = []
        router = ThinkingStream()
        stream = self.llm.stream(messages, max_tokens=self.settings.max_answer_tokens,
                                 temperature=self.settings.temperature)
        for delta in stream:
            if first is None:
                first = time.perf_counter()
                if timings.ttft_s is None:
                    timings.ttft_s = first - asked
            pieces.append(delta)
            thought, said = router.feed(delta)
            if thought:
                self.emit("thinking", thought)
            if said:
                self.emit("text", said)
            if len(pieces) % 16 == 0 and looping("".join(pieces)) is not None:
                if hasattr(stream, "close"):
                    stream.close()  # a small model repeating itself: stop paying for tokens nobody will read
                break
        if first is not None:
            timings.gen_s += time.perf_counter() - first
        timings.prompt_tokens += self.llm.usage.prompt_tokens
        timings.gen_tokens += self.llm.usage.completion_tokens
        text = "".join(pieces)
        cut = looping(text)
        thinking, answer = split_thinking(text[:cut] if cut is not None else text)
        return normalise_citations(answer), thinking

    @property
    def llm(self) -> LLM:
        if not isinstance(self._llm, LLM):
            self._llm = self._llm()
        return self._llm

    def _revision(self, draft: Draft, title: str, verdict: Verdict, context: list[Message | str]) -> str | None:
        """The revision request, its list of problems as long as the window holds next to `context` (the prompt and
        the draft) and a fresh answer; None when not even one problem fits (the failures are then removed unrevised).
        A weak model's draft can fail in dozens of sentences: listing them all overflowed n_ctx (measured: 4,947
        tokens asked of 4,096 with the bundled model)."""
        words = prompts.table("sections.toml")[draft.lang]
        total = len(draft.sources)
        problems = [prompts.fill(words["bad_citation"], n=n, total=total)
                    for n in verdict.bad_citations]
        problems += [prompts.fill(words["bad_link"], target=t) for t in verdict.bad_links]
        problems += [prompts.fill(words["echo"], sentence=_clip(e)) for e in verdict.echoes]
        problems += [prompts.fill(words["unsupported"], sentence=_clip(s), n=n) for s, n in verdict.unsupported]
        used = sum(self.llm.count_tokens(m if isinstance(m, str) else m["content"]) for m in context)
        room = self.llm.n_ctx - self.settings.max_answer_tokens - used - 2 * PROMPT_MARGIN
        for shown in range(min(len(problems), MAX_PROBLEMS), 0, -1):
            text = prompts.render(f"revise.{draft.lang}.md", problems="\n".join(f"- {p}" for p in problems[:shown]),
                                  title=title, n=total, switch=self._switch())
            if self.llm.count_tokens(text) <= room:
                return text
        return None

    def _switch(self) -> str:
        return "" if self.settings.thinking else " /no_think"  # Qwen3's soft switch; other models ignore it

    def _history_budget(self) -> int:
        return self.llm.n_ctx // 4  # the sources' budget below leaves this much for the conversation

    def _source_budget(self, question: str, lang: str) -> int:
        """Tokens left for sources: the window minus the fixed prompt, the question, and two answers (the draft
        and its revision are both in context during a revision pass)."""
        fixed = (prompts.text(f"system.{lang}.md") + prompts.text(f"task.{lang}.md") + question
                 + prompts.text(f"revise.{lang}.md"))
        reserve = 2 * self.settings.max_answer_tokens + self.llm.count_tokens(fixed) + 2 * PROMPT_MARGIN
        return max(self.llm.n_ctx - reserve - (self._history_budget() if self._history else 0), 0)


def looping(text: str, window: int = 40, times: int = 4) -> int | None:
    """Where a degenerate loop starts (the end of the first copy of a tail that occurs `times` times), else None."""
    if len(text) < window * times:
        return None
    tail = text[-window:]
    if text.count(tail) < times:
        return None
    period = next((p for p in range(1, window) if tail[p:] == tail[:-p]), window)  # a loop shorter than window
    return text.find(tail) + period


def _clip(sentence: str) -> str:
    return sentence if len(sentence) <= QUOTE_CHARS else sentence[:QUOTE_CHARS].rsplit(" ", 1)[0] + " …"
