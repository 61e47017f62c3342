"""A question asked inside an exported chat comes with its conversation: the turns before it.

Two uses. Retrieval: a follow-up ("а что с памятью?", "and the price?") names nothing to search for on its own, so
a short question is searched together with the user's previous turn. The model: the turns are given to it as the
conversation before the question (the latest ones that fit a quarter of its window), so it answers the follow-up
it was asked; they are not sources (the asking note is never cited as evidence for itself).

Hand-written and deliberately simple: a rewrite by the model would cost a generation before retrieval on every
question, and the extractive mode has no model at all. Measured on the follow-up dev set
(`examples/eval/followups.jsonl`, see README).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

FOLLOW_UP_WORDS = 8  # a question with fewer words is read as a follow-up of the conversation
CONTEXT_CHARS = 300  # of the previous user turn added to the search
TURN_CHARS = 1500  # of each earlier turn shown to the model
Turn = tuple[str, str]  # ("user" | "assistant", text)


def search_query(question: str, history: Sequence[Turn]) -> str:
    """What retrieval searches for: the question, plus the user's previous turn when the question is a follow-up."""
    if len(re.findall(r"\w+", question)) >= FOLLOW_UP_WORDS:
        return question
    previous = next((text for role, text in reversed(history) if role == "user" and text.strip()), "")
    return f"{question}\n{' '.join(previous.split())[:CONTEXT_CHARS]}" if previous else question


def as_messages(history: Sequence[Turn], budget: int, count: Callable[[str], int]) -> list[dict[str, str]]:
    """The latest turns that fit `budget` tokens, oldest first, as chat messages (each cut at TURN_CHARS)."""
    kept: list[dict[str, str]] = []
    used = 0
    for role, text in reversed(history):
        content = text.strip()[:TURN_CHARS]
        cost = count(content) + 8
        if not content or used + cost > budget:
            break
        kept.append({"role": role, "content": content})
        used += cost
    kept.reverse()
    while kept and kept[0]["role"] != "user":  # a conversation starts with the user
        kept.pop(0)
    return kept
