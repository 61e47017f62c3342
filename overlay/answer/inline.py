"""Answers inside the note that asked, in the user's own layout (seed 004: an exported chat with the grounded answer
right under his turn, before the assistant's reply). The text format and its proofs are vault_sync.inline_answers;
this module decides what goes in, where, and when it may be written: under the vault lock, only into the note as
it was read (else `NoteChanged`: nothing is inserted, and its new text is looked at again), keeping its mode.

An answer's footnotes are named after its run (`[^a1b2-1]`), so two answers in one note, or the note's own
footnotes, never collide.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from graph import LinkResolver
from overlay.answer import note_format
from overlay.answer.loop import Draft
from overlay.answer.writeback import NoteChanged, keep_original, vault_writes
from overlay.errors import OverlayError
from overlay.settings import Settings
from vault_sync import editable_utf8, write_atomic
from vault_sync import inline_answers as blocks

_COMMENT_LINE = re.compile(r"^\s*<!--(?!\s*/?overlay-answer).*-->\s*$")  # an exporter's `<!-- UID: … -->`


@dataclass(frozen=True)
class Place:
    """Where an answer goes: the note, as it was read (its sha256), and the 1-based line it goes under."""

    path: str
    checksum: str
    anchor: int


def block(draft: Draft, resolver: LinkResolver, path: str, *, run_id: str,
          created: datetime) -> tuple[dict[str, Any], str]:
    """(what the open fence records, the answer's text) for `draft` written into the note at `path`."""
    body, meta = note_format.compose(draft, note_format.Links(resolver, path))
    tag = run_id.rsplit("-", 1)[-1]
    body = re.sub(r"\[\^(\d+)\]", rf"[^{tag}-\1]", body)
    record = {"run": run_id, "q": draft.question, "created": created.isoformat(timespec="seconds"),
              "model": draft.model, "language": draft.lang, "sources": meta["sources"],
              "built_from": meta["built_from"]}
    return record, body


def write(settings: Settings, place: Place, record: dict[str, Any], body: str) -> None:
    """Insert the answer under `place.anchor` (past any comment lines right under it, such as an exporter's turn
    id), proven to be an insertion and nothing else. NoteChanged when the note is no longer what was read;
    OverlayError when it cannot be edited safely (not UTF-8), and then nothing changes."""
    path = settings.vault / place.path
    with vault_writes(settings):
        raw = path.read_bytes()
        if hashlib.sha256(raw).hexdigest() != place.checksum:
            raise NoteChanged(place.path)
        text = editable_text(raw, place.path)
        lines = blocks.lines_of(text)
        at = place.anchor - 1
        while at + 1 < len(lines) and _COMMENT_LINE.match(lines[at + 1]):
            at += 1
        try:
            new = blocks.insert(text, at, record, body)
        except blocks.InlineEditError as exc:
            raise OverlayError(f"{place.path}: {exc}; the answer was not inserted") from None
        if hashlib.sha256(path.read_bytes()).hexdigest() != place.checksum:  # the last look before the swap
            raise NoteChanged(place.path)
        write_atomic(path, new.encode("utf-8"))  # the note keeps its mode
    keep_original(settings, str(record["run"]), body)


def remove(settings: Settings, path: str, run_id: str | None = None) -> list[str]:
    """Take overlay's inline answers (all, or the one `run_id`) out of the note; the run ids removed. Refused, with
    nothing changed, when one of them was edited by the user."""
    target = settings.vault / path
    with vault_writes(settings):
        text = editable_text(target.read_bytes(), path)
        found = [a for a in blocks.find(text) if run_id in (None, a.run_id)]
        if not found:
            raise OverlayError(f"{path} holds no inline answer" + (f" {run_id}" if run_id else ""))
        edited = [a.run_id for a in found if not a.intact]
        if edited:
            raise OverlayError(f"{path}: the inline answer {', '.join(edited)} was edited since overlay wrote it; "
                               "nothing was removed", hint="remove it by hand, or undo your edit inside it")
        for answer in found:
            text = blocks.remove(text, answer.run_id)
        write_atomic(target, text.encode("utf-8"))
    return [a.run_id for a in found]


def replace(settings: Settings, path: str, run_id: str, record: dict[str, Any], body: str) -> None:
    """A refreshed answer in place of the old one (which must be intact): removed and inserted under the same line,
    in one write."""
    target = settings.vault / path
    with vault_writes(settings):
        text = editable_text(target.read_bytes(), path)
        old = next((a for a in blocks.find(text) if a.run_id == run_id), None)
        if old is None or not old.intact:
            raise OverlayError(f"{path}: the inline answer {run_id} is gone or was edited; it was not refreshed",
                               hint="ask again, or remove your edit inside it")
        new = blocks.insert(blocks.remove(text, run_id), old.anchor, record, body)
        write_atomic(target, new.encode("utf-8"))
    keep_original(settings, str(record["run"]), body)


def answers_in(settings: Settings, path: str) -> list[blocks.InlineAnswer]:
    return blocks.find(editable_text((settings.vault / path).read_bytes(), path))


def editable(settings: Settings, path: str) -> bool:
    """Whether an answer can be written into the note (it is UTF-8 with no NUL byte): asked before any work."""
    try:
        editable_text((settings.vault / path).read_bytes(), path)
    except (OSError, OverlayError):
        return False
    return True


def editable_text(raw: bytes, path: str) -> str:
    """The note's text, or OverlayError when an answer cannot be written into it as UTF-8."""
    try:
        return editable_utf8(raw)
    except UnicodeDecodeError:
        raise OverlayError(f"{path} is not UTF-8, so no answer is written into it",
                           hint="re-save it as UTF-8, or use answer_placement = \"note\"") from None
