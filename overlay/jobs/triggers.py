"""Notes that ask: frontmatter `overlay: ask`, the tag `#overlay/ask`, or an `> [!ask]` callout — and marking them
answered without touching a byte of the note beyond its frontmatter."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from overlay.answer.writeback import NoteChanged, vault_writes
from overlay.index.note_kinds import ANSWERED, asking
from overlay.settings import Settings
from vault_sync import Note, editable_utf8, write_atomic
from vault_sync.changes import file_checksum
from vault_sync.frontmatter_edit import FrontmatterEditError, set_keys


@dataclass(frozen=True)
class Question:
    path: str
    text: str
    checksum: str  # of the asking note as read: it is marked answered only if still the same
    title: str = ""
    anchor: int | None = None  # 1-based line an inline answer goes under (None: the whole note asks)
    placement: str = "note"  # "note" (a new note) or "inline" (under `anchor`)
    history: tuple[tuple[str, str], ...] = ()  # a chat's turns before the question

    @property
    def inline(self) -> bool:
        return self.placement == "inline" and self.anchor is not None


def question_of(note: Note, settings: Settings) -> Question | None:
    """The note's question when it asks and is not already answered, else None. Answer notes never ask."""
    ask = asking(note, settings)
    if ask is None:
        return None
    return Question(note.path, ask.text, note.checksum, note.title, ask.anchor, ask.placement, ask.history)


def ensure_unchanged(settings: Settings, question: Question) -> None:
    if file_checksum(settings.vault / question.path) != question.checksum:
        raise NoteChanged(question.path)


def mark_answered(settings: Settings, question: Question, answer_link: str) -> None:
    """Set `overlay: answered` and `overlay_answer` in the asking note's frontmatter as two lines of text; every other
    byte of the note stays. Refused (NoteChanged) when the note is no longer what was read; ValueError when it cannot
    be edited safely (not UTF-8, broken YAML): the note is then left alone."""
    path = settings.vault / question.path
    with vault_writes(settings):
        raw = path.read_bytes()
        if hashlib.sha256(raw).hexdigest() != question.checksum:
            raise NoteChanged(question.path)
        try:
            text = editable_utf8(raw)
        except UnicodeDecodeError:
            raise ValueError("it is not UTF-8, so it was not marked answered (re-save it as UTF-8)") from None
        try:
            updated = set_keys(text, {"overlay": ANSWERED, "overlay_answer": answer_link})
        except FrontmatterEditError as exc:
            raise ValueError(f"{exc}, so it was not marked answered") from None
        ensure_unchanged(settings, question)  # the last look before the swap
        write_atomic(path, updated.encode("utf-8"))  # the note keeps its mode
