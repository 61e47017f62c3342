"""Answers written inside a user's note, right under the block that asked: inserted as text, found again, taken out
again to the byte.

An inline answer is plain Markdown between two HTML comments, so it reads in Obsidian exactly like the user's own
answer layout (headings, lists, footnotes; a callout would box it and break footnotes) while the fences stay
invisible:

    <!-- overlay-answer {"run": "...", "q": "...", "sources": [...], "built_from": [...], ...} -->

    …the answer…

    <!-- /overlay-answer RUN SHA -->

The insertion is exactly "\\n" + open + "\\n\\n" + body + "\\n\\n" + close + "\\n\\n" (in the file's own line
ending), right after the last line of the asking block; a last line without a line ending gets one, and the open
fence records that (`"eof": true`), so removal can give it back. SHA is the sha256 of the open line and the body as
written: an answer the user edited no longer matches, and is never removed or replaced silently.

Every edit is proven before it is returned: the new text is the old text with the insertion at one place and
nothing else, and removing the block gives the old text back — else `InlineEditError` and nothing changes.
Hand-written: this is a text format of our own; no library edits Markdown without re-serialising it.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

OPEN = re.compile(r"^<!-- overlay-answer (\{.*\}) -->\r?$")
CLOSE = re.compile(r"^<!-- /overlay-answer (\S+) ([0-9a-f]{16}) -->\r?$")
_LINE = re.compile(r"[^\n]*\n|[^\n]+\Z")


class InlineEditError(ValueError):
    """The note cannot be edited safely here; nothing changed."""


class AnswerEdited(InlineEditError):
    """The user edited inside an inline answer: it is left as it is."""


@dataclass(frozen=True)
class InlineAnswer:
    run_id: str
    meta: dict[str, Any]
    first: int  # 0-based line of the blank line before the open fence (the insertion's first line)
    last: int  # 0-based line of the blank line after the close fence (its last line)
    intact: bool  # nobody edited it since it was written
    body: str  # the answer as it stands, without the fences

    @property
    def anchor(self) -> int:
        """0-based line of the asking block's last line, which the answer sits under."""
        return self.first - 1


def lines_of(text: str) -> list[str]:
    return _LINE.findall(text)


def newline_of(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def block_text(meta: dict[str, Any], body: str, newline: str = "\n") -> str:
    """The fenced block, without the blank lines around it ("\\n" line ends turned into `newline`)."""
    payload = json.dumps(meta, ensure_ascii=False, separators=(",", ":")).replace(">", "\\u003e")
    opening = f"<!-- overlay-answer {payload} -->"
    inner = body.strip("\n").replace("\r\n", "\n")
    digest = _digest(opening, inner)
    text = f"{opening}\n\n{inner}\n\n<!-- /overlay-answer {meta['run']} {digest} -->"
    return text.replace("\n", newline)


def insert(text: str, after_line: int, meta: dict[str, Any], body: str) -> str:
    """`text` with an answer inserted after its 0-based line `after_line` (the asking block's last line)."""
    lines = lines_of(text)
    if not 0 <= after_line < len(lines):
        raise InlineEditError(f"line {after_line + 1} is not in the note ({len(lines)} lines)")
    nl = newline_of(text)
    eof = not lines[after_line].endswith("\n")
    meta = {**meta, **({"eof": True} if eof else {})}
    inserted = (nl if eof else "") + nl + block_text(meta, body, nl) + nl + nl
    at = sum(len(line) for line in lines[:after_line + 1])
    new = text[:at] + inserted + text[at:]
    found = [a for a in find(new) if a.run_id == meta["run"]]
    if len(found) != 1 or not found[0].intact or found[0].anchor != after_line or remove(new, meta["run"]) != text:
        raise InlineEditError("the answer could not be inserted as a block that comes out again unchanged")
    return new


def find(text: str) -> list[InlineAnswer]:
    """The inline answers in `text`, in order."""
    lines = lines_of(text)
    out = []
    i = 0
    while i < len(lines):
        opening = OPEN.match(lines[i].rstrip("\n"))
        if not opening:
            i += 1
            continue
        close = next((j for j in range(i + 1, len(lines)) if CLOSE.match(lines[j].rstrip("\n"))), None)
        if close is None:
            break
        try:
            meta = json.loads(opening.group(1))
        except ValueError:
            meta = {}
        run, digest = CLOSE.match(lines[close].rstrip("\n")).groups()
        inner = "".join(lines[i + 1:close]).replace("\r\n", "\n")
        body = inner[1:-2] if inner.startswith("\n") and inner.endswith("\n\n") else inner
        intact = (isinstance(meta, dict) and meta.get("run") == run and i > 0 and not lines[i - 1].strip()
                  and close + 1 < len(lines) and not lines[close + 1].strip()
                  and _digest(lines[i].rstrip("\r\n"), body) == digest)
        out.append(InlineAnswer(run, meta if isinstance(meta, dict) else {}, i - 1, close + 1, intact, body))
        i = close + 1
    return out


def remove(text: str, run_id: str) -> str:
    """`text` without the inline answer `run_id`, as it was before that answer was inserted. AnswerEdited when the
    user edited inside it (or around its fences); InlineEditError when there is no such answer."""
    answer = next((a for a in find(text) if a.run_id == run_id), None)
    if answer is None:
        raise InlineEditError(f"no inline answer {run_id} in this note")
    if not answer.intact:
        raise AnswerEdited(f"the inline answer {run_id} was edited since overlay wrote it; it was left as it is")
    lines = lines_of(text)
    head = "".join(lines[:answer.first])
    if answer.meta.get("eof"):  # the asking line had no line ending: the insertion gave it one
        head = head[:-len(newline_of(head[-2:]))] if head.endswith("\n") else head
    return head + "".join(lines[answer.last + 1:])


def blank(text: str) -> str:
    """`text` with every inline answer's lines (fences included) emptied, line count kept: what a parser indexes —
    overlay's answers are its own, never the note's evidence."""
    lines = lines_of(text)
    for answer in find(text):
        for i in range(answer.first + 1, answer.last):
            lines[i] = "\n" if lines[i].endswith("\n") else ""
    return "".join(lines)


def _digest(opening: str, body: str) -> str:
    return hashlib.sha256(f"{opening}\n{body.strip(chr(10))}".encode("utf-8", "surrogatepass")).hexdigest()[:16]
