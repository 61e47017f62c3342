"""What a note is to the overlay: one of its own (an answer, the audit note), a note that asks a question, or a
plain note. Decided once per note at index time and recorded as manifest flags, so search keeps the overlay's own
notes apart before ranking and the watcher finds every pending question again after a restart."""

from __future__ import annotations

import re

from overlay.settings import Settings
from vault_sync import Note
from vault_sync.markdown import CALLOUT

OWN = "own"
ASKS = "asks"
ANSWERED = "answered"
_TAG = re.compile(r"(?<![\w/#])#([\w/-]+)")


def is_own(note: Note) -> bool:
    """The overlay's own notes (answers, the audit note): excluded from retrieval unless asked for."""
    return str(note.frontmatter.get("type", "")).startswith("overlay-")


def flags(note: Note, settings: Settings) -> tuple[str, ...]:
    if is_own(note):
        return (OWN,)
    return (ASKS,) if question_text(note, settings) is not None else ()


def question_text(note: Note, settings: Settings) -> str | None:
    """The note's question when it asks (`overlay: ask`, the ask tag, an ask callout) and is not answered yet."""
    if is_own(note) or _in_answers(note.path, settings):
        return None
    state = str(note.frontmatter.get("overlay", "")).strip().lower()
    if state == ANSWERED:
        return None
    callout = _callout_text(note.body, settings.ask_callout)
    tagged = settings.ask_tag.lower() in (t.lower() for t in note.tags)
    if state != settings.ask_value and callout is None and not tagged:
        return None
    text = callout if callout else _strip_tag(note.body, settings.ask_tag)
    return text.strip() or note.title


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
