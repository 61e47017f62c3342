"""Text → sentences, for the checks on what a model wrote and for extractive answers.

Hand-written: notes are mostly lines (list items, table rows, short statements) rather than prose, and punkt-style
tokenizers (nltk, llama-index's sentence splitter) join a bullet list into one "sentence" and split on `e.g.` /
`т.е.` / `4.8`. Here a text is cut into lines — a hard-wrapped paragraph is joined back first, a list item, quote,
table row or heading always starts a new line — then each line at a sentence end: `.`, `!`, `?`, `…` followed by a
space and a capital letter, a digit or a quote — never inside a number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_END = re.compile(r"(?<=[.!?…])(?<!\b[A-Za-zА-Яа-яЁё]\.)\s+(?=[«\"„(\[A-ZА-ЯЁ0-9])")
_LIST_MARK = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+")
_QUOTE_MARK = re.compile(r"^\s*(?:>\s*)+")
WORD = re.compile(r"\w+", re.UNICODE)
_STARTS_BLOCK = re.compile(r"^\s*(?:[-*+]\s|\d{1,3}[.)]\s|>|#{1,6}\s|\||```|~~~)|^[\w][\w \t.-]{0,60}::")


@dataclass(frozen=True, slots=True)
class Sentence:
    text: str  # exactly as written (a wrapped sentence keeps its line break), list and quote marks removed
    start: int  # offset of the sentence in the text it came from: text == source[start:end]
    end: int

    @property
    def flat(self) -> str:
        """On one line, runs of white space as one space: for showing and embedding."""
        return " ".join(self.text.split())


def split(text: str) -> list[Sentence]:
    out: list[Sentence] = []
    for line, offset in _lines(text):
        body = _QUOTE_MARK.sub("", line)
        body = _LIST_MARK.sub("", body)
        lead = offset + len(line) - len(body)
        start = 0
        for match in _END.finditer(body):
            _add(out, text, body[start:match.start()], lead + start)
            start = match.end()
        _add(out, text, body[start:], lead + start)
    return out


def _lines(text: str) -> list[tuple[str, int]]:
    """(logical line, its offset): a wrapped paragraph's lines are joined with a space (same length: the newline
    becomes the space, so offsets stay valid)."""
    out: list[tuple[str, int]] = []
    offset = 0
    for raw in text.split("\n"):
        if out and _joins(out[-1][0], raw):
            line, at = out[-1]
            out[-1] = (f"{line} {raw}", at)
        else:
            out.append((raw, offset))
        offset += len(raw) + 1
    return out


def _joins(previous: str, raw: str) -> bool:
    """`raw` continues the logical line before it: a wrapped paragraph line, or a list item wrapped onto an
    indented line. Blank lines, list items, quotes, headings, table rows and inline fields start anew."""
    if not raw.strip() or not previous.strip() or _STARTS_BLOCK.match(raw):
        return False
    if _STARTS_BLOCK.match(previous):
        return bool(_LIST_MARK.match(previous)) and raw.startswith(("  ", "\t"))
    return True


def _add(out: list[Sentence], original: str, piece: str, at: int) -> None:
    """`piece` is a slice of a logical line starting at `at` in `original`; the sentence keeps the original's
    characters (a joined line break is a line break again)."""
    stripped = piece.strip()
    if WORD.search(stripped):
        start = at + len(piece) - len(piece.lstrip())
        out.append(Sentence(original[start:start + len(stripped)], start, start + len(stripped)))

