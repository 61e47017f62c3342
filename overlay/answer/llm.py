"""The language-model interface and the factory that picks a back-end from settings.

Back-ends: a GGUF run by llama-cpp-python in the model worker process (`overlay.answer.llm_gguf` over
`overlay.engine`) and any OpenAI-compatible server (`overlay.answer.llm_openai`). Tests use `tests.fakes.FakeLLM`.
Engines are imported lazily so `index`, `search` and `status` never pay for them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from overlay.engine.models import BUNDLED, bundled_model_path, is_bundled, model_file
from overlay.settings import Settings
from vault_sync.script import language

Message = dict[str, str]  # {"role": "system" | "user" | "assistant", "content": ...}
__all__ = ["BUNDLED", "LLM", "Message", "Usage", "bundled_model_path", "make_llm", "model_file"]


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0


@runtime_checkable
class LLM(Protocol):
    """Chat messages in, text deltas out. `usage` holds the counts of the last finished `stream`."""

    name: str  # what answer notes record as `model`
    n_ctx: int
    usage: Usage

    def count_tokens(self, text: str) -> int: ...

    def stream(self, messages: list[Message], *, max_tokens: int, temperature: float) -> Iterator[str]: ...


def answer_mode(settings: Settings, *, model_given: bool = False) -> str:
    """"llm" or "extractive". `auto` answers with a model only when one is configured (or handed in): the bundled
    135M model is a smoke test that cannot write Russian, so a new user gets quoted sentences, not gibberish."""
    if settings.answer_mode != "auto":
        return settings.answer_mode
    return "llm" if model_given or settings.model_path or settings.llm_url else "extractive"


def configured_model(settings: Settings) -> str:
    """The model's name as answer notes record it, known without loading anything."""
    if settings.llm_url:
        return f"{settings.llm_model}@{settings.llm_url}"
    if is_bundled(settings):
        return "SmolLM2-135M-Instruct.Q4_1.gguf (bundled)"
    return Path(settings.model_path).name


def make_llm(settings: Settings) -> LLM:
    if settings.llm_url:
        from overlay.answer.llm_openai import OpenAICompatibleLLM

        return OpenAICompatibleLLM(settings)
    from overlay.answer.llm_gguf import WorkerLLM

    return WorkerLLM.shared(settings)


# ---- Qwen-style reasoning traces --------------------------------------------------------------------------------
_OPEN, _CLOSE = "<think>", "</think>"


def split_thinking(text: str) -> tuple[str, str]:
    """(thinking, answer) of a finished reply. Qwen3 writes `<think>…</think>` first; some templates open the tag
    in the prompt, so a lone `</think>` also ends a trace; an unclosed `<think>` (cut by max_tokens) is all trace."""
    if _CLOSE in text:
        head, _, answer = text.rpartition(_CLOSE)
        return head.replace(_OPEN, "").strip(), answer.strip()
    stripped = text.lstrip()
    if stripped.startswith(_OPEN):
        return stripped[len(_OPEN):].strip(), ""
    return "", text.strip()


class ThinkingStream:
    """Routes streamed deltas to (thinking, answer) as they arrive, for display; tags split across deltas are held
    back until they are whole. The finished text is split again with `split_thinking`, which is authoritative."""

    def __init__(self) -> None:
        self._pending = ""
        self._in_thought: bool | None = None  # None until we know whether the reply opens with <think>

    def feed(self, delta: str) -> tuple[str, str]:
        self._pending += delta
        if self._in_thought is None:
            head = self._pending.lstrip()
            if len(head) < len(_OPEN) and _OPEN.startswith(head):
                return "", ""
            self._in_thought = head.startswith(_OPEN)
            self._pending = head[len(_OPEN):] if self._in_thought else self._pending
        if not self._in_thought:
            out, self._pending = self._pending, ""
            return "", out
        if _CLOSE in self._pending:
            thought, _, rest = self._pending.partition(_CLOSE)
            self._in_thought, self._pending = False, ""
            return thought, rest.lstrip()
        keep = _partial_tag(self._pending, _CLOSE)
        out, self._pending = self._pending[: len(self._pending) - keep], self._pending[len(self._pending) - keep:]
        return out, ""


def _partial_tag(text: str, tag: str) -> int:
    """Length of the longest suffix of text that is a prefix of tag."""
    for n in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-n:]):
            return n
    return 0


def question_language(question: str, setting: str = "auto") -> str:
    """"ru" or "en": the setting when fixed, else whichever script has more letters in the question."""
    if setting in ("ru", "en"):
        return setting
    return language(question)
