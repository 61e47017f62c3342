from __future__ import annotations

import pytest

from overlay.answer.llm import ThinkingStream, question_language, split_thinking


@pytest.mark.parametrize(("text", "expected"), [
    ("<think>plan</think>Answer", ("plan", "Answer")),
    ("plan</think>\nAnswer", ("plan", "Answer")),  # the template opened the tag in the prompt
    ("<think>cut off by max_tokens", ("cut off by max_tokens", "")),
    ("<think>\n\n</think>\n\nAnswer", ("", "Answer")),  # Qwen3 with thinking off
    ("Just an answer", ("", "Just an answer")),
])
def test_split_thinking(text: str, expected: tuple[str, str]) -> None:
    assert split_thinking(text) == expected


def test_thinking_stream_routes_tags_split_across_deltas() -> None:
    stream = ThinkingStream()
    thought, said = "", ""
    for delta in ["<th", "ink>I re", "ason</th", "ink>The ans", "wer"]:
        t, s = stream.feed(delta)
        thought, said = thought + t, said + s
    assert (thought, said) == ("I reason", "The answer")


def test_a_reply_without_thinking_streams_straight_through() -> None:
    stream = ThinkingStream()
    assert stream.feed("Hello") == ("", "Hello")
    assert stream.feed(" <think> is text here") == ("", " <think> is text here")


@pytest.mark.parametrize(("question", "lang"), [
    ("Какую квантизацию выбрать для Qwen3-32B?", "ru"), ("Which quantisation for Qwen3?", "en"),
    ("Как настроить LoRA для Qwen3-32B на RTX 6000?", "ru"), ("123?", "en"),
])
def test_question_language(question: str, lang: str) -> None:
    assert question_language(question) == lang


def test_language_setting_wins() -> None:
    assert question_language("Какую?", "en") == "en"


