"""`overlay dataset export`: the vault as training data for a LoRA of the user's own way of thinking.

What goes in:
- **exchanges** of every exported chat (the layouts overlay reads: Nexus callouts, `## User` / `## ChatGPT`,
  `**Human:**`), one example each: the user's turn and the reply, after the exchanges before it in the same chat
  as context (the latest that fit `max_tokens`; an exchange that alone is longer is dropped and counted). Clean
  text only: callout markers, the "User - date at time" lines, `<!-- UID -->` comments and overlay's own inline
  answers are not in it; mojibake is repaired when the note is read.
- with `notes`, the user's own notes (not chats, not overlay's) as completion text, in a file of its own;
- **preference pairs**, in a file of their own: where the user edited an answer overlay wrote (a note, or an
  inline answer), overlay's text is `rejected` and his is `chosen` (overlay keeps what it wrote in
  `<state>/originals/`).

Exact and near duplicates (the same chat exported twice) are dropped; the train/validation split is by chat (a
chat is wholly in one side), decided by a hash of its path and the seed, so it is the same on every run. With
`redact`, e-mails, phone numbers, card-like numbers and URLs become placeholders. Nothing leaves the machine: the
files are written where the user says.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from overlay.answer import note_format, writeback
from overlay.dataset.clean import NearDuplicates, redact
from overlay.index import chats
from overlay.index.note_kinds import is_own
from overlay.settings import Settings
from vault_sync import Note, SkipFile, inline_answers, read_note, scan_vault
from vault_sync.atomic import write_atomic
from vault_sync.parser import split_frontmatter

FORMATS = ("chat", "sharegpt", "alpaca")
Counter_ = Callable[[str], int]


@dataclass(frozen=True)
class Options:
    fmt: str = "chat"
    after: str = ""  # YYYY-MM-DD: exchanges dated on or after
    before: str = ""
    folders: tuple[str, ...] = ()  # only notes under these folders
    min_chars: int = 20  # a reply shorter than this is dropped
    max_tokens: int = 2048  # an example's length (context included)
    val: float = 0.05
    seed: int = 0
    system: str = ""  # a system prompt for every example ("" = none)
    notes: bool = False
    redact: bool = False


@dataclass
class Report:
    train: int = 0
    val: int = 0
    tokens: int = 0
    tokens_exact: bool = False  # counted with the target model's tokenizer, else estimated (UTF-8 bytes / 3)
    chats: int = 0
    notes: int = 0
    pairs: int = 0
    by_month: Counter = field(default_factory=Counter)
    by_folder: Counter = field(default_factory=Counter)
    dropped: Counter = field(default_factory=Counter)
    redacted: dict[str, int] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"examples": self.train + self.val, "train": self.train, "val": self.val, "tokens": self.tokens,
                "tokens_counted_by": "the model's tokenizer" if self.tokens_exact else "estimate (UTF-8 bytes / 3)",
                "chats": self.chats, "notes": self.notes, "pairs": self.pairs,
                "by_month": dict(sorted(self.by_month.items())), "by_folder": dict(self.by_folder.most_common()),
                "dropped": dict(self.dropped.most_common()), "redacted": self.redacted, "files": self.files}


def estimate_tokens(text: str) -> int:
    return len(text.encode("utf-8")) // 3 + 1


def export(settings: Settings, out: Path, options: Options, count: Counter_ | None = None) -> Report:
    if options.fmt not in FORMATS:
        raise ValueError(f"format {options.fmt!r}: one of {', '.join(FORMATS)}")
    report = Report(tokens_exact=count is not None)
    count = count or estimate_tokens
    seen = NearDuplicates()
    rows: dict[str, list[str]] = {"train": [], "val": [], "notes": [], "pairs": []}
    for note in _notes(settings, options, report):
        if is_own(note):
            rows["pairs"] += _pairs(settings, note, report)
            continue
        rows["pairs"] += _inline_pairs(settings, note, report)
        turns = chats.turns(note)
        if turns:
            report.chats += 1
            side = "val" if _in_val(note.path, options) else "train"
            for example, date in _examples(note, turns, options, report, count):
                text = "\n".join(m["content"] for m in example[-2:])
                why = seen.seen(text)
                if why:
                    report.dropped[why] += 1
                    continue
                rows[side].append(_format(example, options.fmt, note.path, date, side))
                report.tokens += sum(count(m["content"]) for m in example)
                report.by_month[date[:7] or "undated"] += 1
                report.by_folder[note.folder or "/"] += 1
        elif options.notes and len(note.body.strip()) >= options.min_chars:
            text = _clean(f"# {note.title}\n\n{note.body.strip()}", options, report)
            rows["notes"].append(json.dumps({"text": text, "source": note.path}, ensure_ascii=False))
            report.notes += 1
            report.tokens += count(text)
    report.train, report.val, report.pairs = len(rows["train"]), len(rows["val"]), len(rows["pairs"])
    _write(out, rows, report)
    return report


def _notes(settings: Settings, options: Options, report: Report) -> Iterator[Note]:
    scan = scan_vault(settings.vault, ignore=settings.ignore, extra_ignored_dirs=(settings.state_dir,))
    folders = tuple(f.strip("/") + "/" for f in options.folders)
    for path in sorted(scan.notes):
        if not path.lower().endswith(".md") or (folders and not path.startswith(folders)):
            continue
        try:
            note, _ = read_note(settings.vault, path, max_bytes=settings.max_file_bytes)
        except (SkipFile, FileNotFoundError) as exc:
            report.dropped[f"unreadable note ({str(exc).split(':')[0]})"] += 1
            continue
        yield note


def _examples(note: Note, turns: list[chats.Turn], options: Options, report: Report,
              count: Counter_) -> Iterator[tuple[list[dict[str, str]], str]]:
    exchanges = _exchanges(turns, report)
    for i, (user, reply, date) in enumerate(exchanges):
        if (options.after and date and date < options.after) or (options.before and date and date > options.before):
            report.dropped["outside --after/--before"] += 1
            continue
        if len(reply) < options.min_chars or len(user) < 2:
            report.dropped["shorter than --min-chars"] += 1
            continue
        user, reply = _clean(user, options, report), _clean(reply, options, report)
        own = [{"role": "user", "content": user}, {"role": "assistant", "content": reply}]
        head = [{"role": "system", "content": options.system}] if options.system else []
        budget = options.max_tokens - sum(count(m["content"]) for m in head + own)
        if budget < 0:
            report.dropped["longer than --max-tokens"] += 1
            continue
        context: list[dict[str, str]] = []
        for earlier_user, earlier_reply, _ in reversed(exchanges[:i]):  # the latest exchanges that fit
            pair = [{"role": "user", "content": _clean(earlier_user, options, report)},
                    {"role": "assistant", "content": _clean(earlier_reply, options, report)}]
            cost = sum(count(m["content"]) for m in pair)
            if cost > budget:
                break
            context, budget = pair + context, budget - cost
        yield head + context + own, date


def _exchanges(turns: list[chats.Turn], report: Report) -> list[tuple[str, str, str]]:
    """(user text, reply, date): consecutive turns of one speaker merged; a user turn with no reply dropped."""
    merged: list[chats.Turn] = []
    for turn in turns:
        if merged and merged[-1].role == turn.role:
            merged[-1] = chats.Turn(turn.role, f"{merged[-1].text}\n\n{turn.text}", merged[-1].date)
        else:
            merged.append(turn)
    out = []
    for i, turn in enumerate(merged):
        if turn.role != "user":
            continue
        if i + 1 < len(merged):
            out.append((turn.text, merged[i + 1].text, turn.date))
        else:
            report.dropped["no reply"] += 1
    return out


def _clean(text: str, options: Options, report: Report) -> str:
    return redact(text, report.redacted) if options.redact else text


def _in_val(path: str, options: Options) -> bool:
    digest = hashlib.sha256(f"{options.seed}:{path}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2 ** 64 < options.val


def _format(messages: list[dict[str, str]], fmt: str, path: str, date: str, split: str) -> str:
    meta = {"source": path, "date": date, "split": split}
    if fmt == "chat":
        row: dict[str, Any] = {"messages": messages}
    elif fmt == "sharegpt":
        names = {"system": "system", "user": "human", "assistant": "gpt"}
        row = {"conversations": [{"from": names[m["role"]], "value": m["content"]} for m in messages]}
    else:  # alpaca: the last exchange is the instruction and output, what came before is the input
        *context, user, reply = messages
        row = {"instruction": user["content"], "output": reply["content"],
               "input": "\n\n".join(f"{m['role']}: {m['content']}" for m in context if m["role"] != "system"),
               **({"system": messages[0]["content"]} if messages[0]["role"] == "system" else {})}
    return json.dumps({**row, "meta": meta}, ensure_ascii=False)


def _pairs(settings: Settings, note: Note, report: Report) -> list[str]:
    """An answer note the user edited, with overlay's original kept: (his text chosen, overlay's rejected)."""
    if note.frontmatter.get("type") != "overlay-answer":
        return []
    try:
        current = (settings.vault / note.path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    if note_format.untouched(current):
        return []
    kept = writeback.original(settings, str(note.frontmatter.get("run_id", "")))
    if kept is None:
        report.dropped["edited answer without overlay's original"] += 1
        return []
    question = str(note.frontmatter.get("question", ""))
    return [_pair(question, _body(current), _body(kept), note.path)]


def _body(text: str) -> str:
    """The note's text below its frontmatter (as python-frontmatter gives it, stripped), read with the tolerant
    loader: a date the user mistyped in his edit must not stop the export."""
    return split_frontmatter(text.strip())[1].strip()


def _inline_pairs(settings: Settings, note: Note, report: Report) -> list[str]:
    """Inline answers the user edited (the parser marked them not intact), with overlay's original kept."""
    edited = {run_id for run_id, _, intact in note.inline_answers if not intact}
    if not edited:
        return []
    try:
        text = (settings.vault / note.path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    out = []
    for answer in (a for a in inline_answers.find(text) if a.run_id in edited):
        kept = writeback.original(settings, answer.run_id)
        if kept is None:
            report.dropped["edited answer without overlay's original"] += 1
            continue
        out.append(_pair(str(answer.meta.get("q", "")), answer.body, kept, f"{note.path}#{answer.run_id}"))
    return out


def _pair(prompt: str, chosen: str, rejected: str, source: str) -> str:
    return json.dumps({"prompt": prompt, "chosen": chosen.strip(), "rejected": rejected.strip(),
                       "meta": {"source": source}}, ensure_ascii=False)


def _write(out: Path, rows: dict[str, list[str]], report: Report) -> None:
    """FILE.jsonl (train), FILE.val.jsonl, FILE.notes.jsonl and FILE.pairs.jsonl (the last two only when any)."""
    stem = out.with_suffix("") if out.suffix == ".jsonl" else out
    targets = {"train": out, "val": stem.with_name(stem.name + ".val.jsonl"),
               "notes": stem.with_name(stem.name + ".notes.jsonl"), "pairs": stem.with_name(stem.name + ".pairs.jsonl")}
    for name, lines in rows.items():
        if lines or name in ("train", "val"):
            write_atomic(targets[name], "".join(line + "\n" for line in lines))
            report.files[name] = str(targets[name])
