"""Notes that ask: frontmatter `overlay: ask`, the tag `#overlay/ask`, or an `> [!ask]` callout — and marking them
answered without touching a byte of the note beyond its frontmatter."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import frontmatter
import yaml

from overlay.settings import Settings
from vault_sync import Note, write_atomic
from vault_sync.changes import file_checksum
from vault_sync.markdown import CALLOUT

ANSWERED = "answered"
_FRONTMATTER = re.compile(r"\A(\ufeff?)---[ \t]*\r?\n(.*?\r?\n)?---[ \t]*(\r?\n|\Z)", re.DOTALL)
_TAG = re.compile(r"(?<![\w/#])#([\w/-]+)")


@dataclass(frozen=True)
class Question:
    path: str
    text: str
    checksum: str  # of the asking note as read: it is marked answered only if still the same
    title: str = ""


def question_of(note: Note, settings: Settings) -> Question | None:
    """The note's question when it asks and is not already answered, else None. Answer notes never ask."""
    if note.frontmatter.get("type") == "overlay-answer" or _in_answers(note.path, settings):
        return None
    state = str(note.frontmatter.get("overlay", "")).strip().lower()
    if state == ANSWERED:
        return None
    callout = _callout_text(note.body, settings.ask_callout)
    tagged = settings.ask_tag.lower() in (t.lower() for t in note.tags)
    if state != settings.ask_value and callout is None and not tagged:
        return None
    text = callout if callout else _strip_tag(note.body, settings.ask_tag)
    text = text.strip() or note.title
    return Question(note.path, text, note.checksum, note.title)


def _in_answers(path: str, settings: Settings) -> bool:
    folder = settings.answers_folder.strip("/").lower()
    return bool(folder) and path.lower().startswith(folder + "/")


def _callout_text(body: str, kind: str) -> str | None:
    """Title and body lines of the first `> [!kind]` callout."""
    lines = body.splitlines()
    for i, line in enumerate(lines):
        match = CALLOUT.match(line.lstrip())
        if not match or match.group(2).lower() != kind.lower():
            continue
        parts = [match.group(4).strip()]
        for more in lines[i + 1:]:
            if not more.lstrip().startswith(">"):
                break
            parts.append(more.lstrip()[1:].strip())
        return "\n".join(p for p in parts if p)
    return None


def _strip_tag(body: str, tag: str) -> str:
    return _TAG.sub(lambda m: "" if m.group(1).lower() == tag.lower() else m.group(0), body)


class NoteChanged(Exception):
    """The asking note changed after it was read; it is not marked (its new text is looked at again)."""


def ensure_unchanged(settings: Settings, question: Question) -> None:
    if file_checksum(settings.vault / question.path) != question.checksum:
        raise NoteChanged(question.path)


def mark_answered(settings: Settings, question: Question, answer_link: str) -> None:
    """Set `overlay: answered` and `overlay_answer` in the asking note's frontmatter; the body stays byte for byte.
    Refused (NoteChanged) when the note is no longer what was read."""
    path = settings.vault / question.path
    raw = path.read_bytes()
    if hashlib.sha256(raw).hexdigest() != question.checksum:
        raise NoteChanged(question.path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("it is not UTF-8, so it was not marked answered (re-save it as UTF-8)") from None
    match = _FRONTMATTER.match(text)
    meta = _load_meta(match.group(2) or "") if match else {}
    meta["overlay"] = ANSWERED
    meta["overlay_answer"] = answer_link
    newline = "\r\n" if "\r\n" in text[:2000] else "\n"
    block = frontmatter.YAMLHandler().export(meta).replace("\n", newline)
    bom = match.group(1) if match else ""
    body = text[match.end():] if match else text.removeprefix("\ufeff")
    updated = f"{bom}---{newline}{block}{newline}---{newline}{body}"
    ensure_unchanged(settings, question)  # the last look before the swap
    write_atomic(path, updated.encode("utf-8"))


def _load_meta(block: str) -> dict:
    try:
        data = yaml.safe_load(block) if block.strip() else {}
    except yaml.YAMLError:
        raise ValueError("its frontmatter is not valid YAML, so it was not marked answered") from None
    if not isinstance(data, dict):
        raise ValueError("its frontmatter is not a mapping, so it was not marked answered")
    return data
