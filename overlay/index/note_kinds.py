"""What a note is to the overlay: one of its own (an answer, the audit note), a note that asks a question, or a
plain note. Decided once per note at index time and recorded as manifest flags, so search keeps the overlay's own
notes apart before ranking and the watcher finds every pending question again after a restart."""

from __future__ import annotations

import re
from dataclasses import dataclass

from overlay.index import chats
from overlay.settings import Settings
from vault_sync import Note
from vault_sync.markdown import CALLOUT

OWN = "own"
ASKS = "asks"
ANSWERED = "answered"
INLINE = "inline"  # holds overlay's inline answers (vault_sync.inline_answers): their sources are checked at night
_TAG = re.compile(r"(?<![\w/#])#([\w/-]+)")


def is_own(note: Note) -> bool:
    """The overlay's own notes (answers, the audit note): excluded from retrieval unless asked for."""
    return str(note.frontmatter.get("type", "")).startswith("overlay-")


@dataclass(frozen=True)
class Ask:
    """What a note asks: the question, where an inline answer goes (`anchor`: the 1-based file line of the asking
    block's last line, None when the whole note asks), where the answer should go, and — for a chat — the turns
    before the question, oldest first, as (role, text) with role "user" or "assistant"."""

    text: str
    anchor: int | None = None
    placement: str = "note"
    history: tuple[tuple[str, str], ...] = ()


def flags(note: Note, settings: Settings) -> tuple[str, ...]:
    if is_own(note):
        return (OWN,)
    return ((ASKS,) if asking(note, settings) is not None else ()) + ((INLINE,) if note.inline_answers else ())


def asking(note: Note, settings: Settings) -> Ask | None:
    """The note's question when it asks — `overlay: ask`, the ask tag, an ask callout, or a turn of an exported
    chat (`chat_asks`) — and is not answered yet (marked `overlay: answered`, or an inline answer under it)."""
    if is_own(note) or _in_answers(note.path, settings):
        return None
    state = str(note.frontmatter.get("overlay", "")).strip().lower()
    if state == ANSWERED:
        return None
    placement = _placement(str(note.frontmatter.get("overlay_placement", "")), settings.answer_placement)
    callout = _callout(note, settings.ask_callout)
    if callout is not None:
        text, anchor, meta = callout
        if _answered_under(note, anchor, anchor):
            return None
        return Ask(text or note.title, anchor, _placement(meta, placement))
    turn = chats.asking_turn(note, settings.ask_tag, last=settings.chat_asks == "last")
    if turn is not None:
        if _answered_under(note, turn.anchor, turn.end):
            return None
        return Ask(turn.text, turn.anchor, placement, turn.history)
    tagged = settings.ask_tag.lower() in (t.lower() for t in note.tags)
    if state != settings.ask_value and not tagged:
        return None
    return Ask(_strip_tag(note.body, settings.ask_tag).strip() or note.title, None, "note")


def _placement(value: str, default: str) -> str:
    value = value.strip().lower()
    return value if value in ("note", "inline") else default


def _answered_under(note: Note, first: int, last: int) -> bool:
    """An inline answer sits under the asking block (between its last line and where the next block starts)."""
    return any(first <= line <= last for _, line, _ in note.inline_answers)


def _in_answers(path: str, settings: Settings) -> bool:
    folder = settings.answers_folder.strip("/").lower()
    return bool(folder) and path.lower().startswith(folder + "/")


def _callout(note: Note, kind: str) -> tuple[str, int, str] | None:
    """(title and body lines, 1-based file line of its last line, its `|metadata`) of the first `> [!kind]`
    callout (`> [!ask|inline] …` asks for an inline answer)."""
    lines = note.body.splitlines()
    for i, line in enumerate(lines):
        match = CALLOUT.match(line.lstrip())
        if not match:
            continue
        name, _, meta = match.group(2).partition("|")
        if name.lower() != kind.lower():
            continue
        parts, last = [match.group(4).strip()], i
        for j in range(i + 1, len(lines)):
            if not lines[j].lstrip().startswith(">"):
                break
            parts.append(lines[j].lstrip()[1:].strip())
            last = j
        return "\n".join(p for p in parts if p), note.body_line + last, meta
    return None


def _strip_tag(body: str, tag: str) -> str:
    return _TAG.sub(lambda m: "" if m.group(1).lower() == tag.lower() else m.group(0), body)
