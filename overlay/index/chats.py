"""Exported AI chats, chunked per exchange (the user's turn with the answers to it) and dated.

Layouts recognised (a note is a chat when it has a user turn and an assistant turn):
- Nexus AI Chat Importer: `>[!nexus_user] **User** - 14.05.2025 at 21:10` / `>[!nexus_agent] …` callouts;
- heading per turn, as ChatGPT / Claude exporters write them: `## User`, `## ChatGPT`, `### Human`, `## Assistant`;
- bold speaker prefixes: `**Human:** …`, `**Assistant:** …`, `**You:**`, `**ChatGPT:**`.

Hand-written: no library parses these exports, and each is a handful of line patterns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vault_sync import Note
from vault_sync.markdown import mask_code

_USER = r"user|you|human|me|я|вы|ты|пользователь"
_AGENT = r"assistant|chatgpt|gpt-?[\w.]*|claude|gemini|ai|bot|ассистент|модель|ии"
NEXUS = re.compile(r"^\s*>\s*\[!nexus_(user|agent)\][+-]?\s*(.*)$", re.IGNORECASE)
HEADING_TURN = re.compile(rf"^#{{1,6}}\s+\**({_USER}|{_AGENT})\**\s*:?\s*$", re.IGNORECASE)
BOLD_TURN = re.compile(rf"^\*\*({_USER}|{_AGENT})\s*:?\*\*\s*:?\s*(.*)$", re.IGNORECASE)
_DMY = re.compile(r"\b(\d{2})\.(\d{2})\.(\d{4})(?:\D+(\d{1,2}):(\d{2}))?")
_ISO = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
_DATE_KEYS = ("date", "created", "day", "created_at", "date created")


@dataclass(frozen=True)
class Exchange:
    number: int
    line: int  # body line (0-based) where it starts
    raw: str  # its lines as written (callout markers and all; cleaned like any section)
    date: str  # YYYY-MM-DD, "" when unknown
    time: str  # HH:MM of the first turn, "" when unknown
    question: str  # the user's turn, first words (the exchange's label)


def exchanges(note: Note, note_date: str = "") -> list[Exchange]:
    """The note's exchanges, or [] when it is not a chat."""
    lines = note.body.split("\n")
    turns = _turns(mask_code(note.body).split("\n"))
    roles = {role for _, role, _ in turns}
    if roles != {"user", "agent"}:
        return []
    starts = [i for i, (line, role, _) in enumerate(turns) if role == "user" or i == 0]
    out = []
    for n, first in enumerate(starts):
        begin = turns[first][0]
        end = turns[starts[n + 1]][0] if n + 1 < len(starts) else len(lines)
        date, time = next(((d, t) for _, _, (d, t) in turns[first:] if d), (note_date, ""))
        user = next((turns_text(lines, turns, i) for i in range(first, len(turns)) if turns[i][1] == "user"), "")
        out.append(Exchange(n + 1, begin, "\n".join(lines[begin:end]), date or note_date, time, user))
    return out


def _turns(masked: list[str]) -> list[tuple[int, str, tuple[str, str]]]:
    """(line, "user" | "agent", (date, time)) of each turn's first line."""
    found = []
    for i, line in enumerate(masked):
        nexus = NEXUS.match(line)
        if nexus:
            found.append((i, "user" if nexus.group(1).lower() == "user" else "agent", _date(nexus.group(2))))
            continue
        match = HEADING_TURN.match(line) or BOLD_TURN.match(line)
        if match:
            role = "user" if re.fullmatch(_USER, match.group(1), re.IGNORECASE) else "agent"
            found.append((i, role, ("", "")))
    return found


def turns_text(lines: list[str], turns: list[tuple[int, str, tuple[str, str]]], i: int) -> str:
    """The first words of turn i, markers removed (the exchange's label)."""
    start = turns[i][0]
    end = turns[i + 1][0] if i + 1 < len(turns) else len(lines)
    text = " ".join(lines[start + 1:end]) if NEXUS.match(lines[start]) or HEADING_TURN.match(lines[start]) \
        else " ".join(lines[start:end])
    text = BOLD_TURN.sub(r"\2", re.sub(r"(?m)^\s*>\s?", "", text))
    words = " ".join(text.replace("*", "").split()).split(" ")
    return " ".join(words[:10]) + ("…" if len(words) > 10 else "")


def _date(title: str) -> tuple[str, str]:
    dmy = _DMY.search(title)
    if dmy:
        time = f"{int(dmy.group(4)):02d}:{dmy.group(5)}" if dmy.group(4) else ""
        return f"{dmy.group(3)}-{dmy.group(2)}-{dmy.group(1)}", time
    iso = _ISO.search(title)
    return (f"{iso.group(1)}-{iso.group(2)}-{iso.group(3)}", "") if iso else ("", "")


def note_date(note: Note) -> str:
    """The day a note is about or from: a frontmatter date, else a date at the start of its file name (daily notes,
    dated chat exports), else "" (file times are when it was saved, not what it is about)."""
    for key in _DATE_KEYS:
        value = note.frontmatter.get(key)
        if value:
            iso = _ISO.search(str(value))
            if iso:
                return iso.group(0)
    name = note.path.rsplit("/", 1)[-1]
    iso = _ISO.match(name)
    return iso.group(0) if iso else ""


@dataclass(frozen=True)
class AskingTurn:
    text: str  # the user's turn, markers and the ask tag removed
    anchor: int  # 1-based file line of the turn's last line of text (an inline answer goes under it)
    end: int  # 1-based file line where the turn's room ends (the line before the next turn, or the note's last)
    history: tuple[tuple[str, str], ...]  # the turns before it, oldest first: ("user" | "assistant", text)


def asking_turn(note: Note, tag: str, *, last: bool) -> AskingTurn | None:
    """The chat turn that asks overlay: the last user turn tagged `#tag`, or with `last`, the note's last turn when
    it is a user's with no reply after it. None when the note is not a chat or nothing asks."""
    spoken = turns(note)
    marker = re.compile(rf"(?<![\w/#])#{re.escape(tag)}(?![\w/-])", re.IGNORECASE)
    chosen = next((i for i in range(len(spoken) - 1, -1, -1)
                   if spoken[i].role == "user" and marker.search(spoken[i].text)), None)
    if chosen is None and last and spoken and spoken[-1].role == "user":
        chosen = len(spoken) - 1
    if chosen is None:
        return None
    turn, lines = spoken[chosen], note.body.split("\n")
    filled = [j for j in range(turn.start, turn.end) if lines[j].strip()]
    history = tuple((t.role, t.text) for t in spoken[:chosen])
    return AskingTurn(marker.sub("", turn.text).strip(), note.body_line + filled[-1], note.body_line + turn.end - 1,
                      history)


def _turn_text(lines: list[str], start: int, end: int) -> str:
    """A turn's words: the speaker line's own text after its marker, then its lines, callout markers removed."""
    first = lines[start]
    head = NEXUS.match(first) or HEADING_TURN.match(first)
    own = "" if head else BOLD_TURN.sub(r"\2", first.lstrip("> "))
    body = [re.sub(r"^\s*>\s?", "", line) for line in lines[start + 1:end]]
    return "\n".join(x for x in [own, *body] if x.strip()).strip()


@dataclass(frozen=True)
class Turn:
    role: str  # "user" | "assistant"
    text: str  # markers, the speaker line and exporter comments removed
    date: str  # YYYY-MM-DD of the turn (or the note's), "" when unknown
    start: int = 0  # 0-based body lines it spans: [start, end)
    end: int = 0


def turns(note: Note) -> list[Turn]:
    """The chat's turns in order, as clean text; [] when the note is not a chat."""
    lines = note.body.split("\n")
    found = _turns(mask_code(note.body).split("\n"))
    if {role for _, role, _ in found} != {"user", "agent"}:
        return []
    day = note_date(note)
    out = []
    for i, (start, role, (date, _)) in enumerate(found):
        end = found[i + 1][0] if i + 1 < len(found) else len(lines)
        out.append(Turn("user" if role == "user" else "assistant", _turn_text(lines, start, end), date or day,
                        start, end))
    return out
