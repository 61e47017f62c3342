"""Where answer notes go and how they get there: inside the vault's answers folder only, under a file name that is
valid on Windows, macOS and Linux, created atomically and never over an existing file. Plus the run log."""

from __future__ import annotations

import contextlib
import json
import os
import re
import unicodedata
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from overlay.errors import WriteRefused
from overlay.lock import short_lock
from overlay.settings import Settings
from vault_sync import FileExistsRefused, write_atomic
from vault_sync.markdown import LINK_UNSAFE

# Windows forbids <>:"/\|?* and controls; Obsidian cannot link to names with #^[]|; a leading dot hides the file.
_UNSAFE = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]|' + LINK_UNSAFE.pattern)
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}
TITLE_CHARS = 80
MAX_TRIES = 1000
RUNS_MAX_BYTES = 5 * 1024 * 1024
RUNS_KEPT = 3  # rotated files kept beside runs.jsonl


class NoteChanged(Exception):
    """The note changed after it was read: nothing is written into it (its new text is looked at again)."""


def safe_title(question: str, limit: int = TITLE_CHARS) -> str:
    """A file-name stem from a question: forbidden characters gone, one line, cut at a word, no trailing dot or
    space (Windows drops them), never a reserved device name, never empty."""
    text = unicodedata.normalize("NFC", question)
    text = " ".join(w for w in _UNSAFE.sub(" ", text).split() if w.strip("."))  # "..", "..." are no words
    text = text.lstrip(".").strip()
    if len(text) > limit:
        text = text[:limit].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
    text = text.rstrip(". ")
    if not text or text.split(".")[0].lower() in _RESERVED:
        text = f"answer {text}".strip()
    return text


def answers_dir(settings: Settings) -> Path:
    """The answers folder, refused unless it lies inside the vault (also through symlinks)."""
    folder = PurePosixPath(settings.answers_folder.replace("\\", "/"))
    if folder.is_absolute() or ".." in folder.parts or re.match(r"^[A-Za-z]:", settings.answers_folder):
        raise WriteRefused(f"answers_folder {settings.answers_folder!r} must be a folder inside the vault")
    vault = settings.vault.resolve()
    target = (vault / folder).resolve()
    if target != vault and vault not in target.parents:
        raise WriteRefused(f"answers_folder {settings.answers_folder!r} leads outside the vault ({target})")
    return target


def write_answer(settings: Settings, title: str, text: str, *, when: datetime, locked: bool = False) -> Path:
    """Create `<answers>/<date> <title>.md`; when taken, `… (2).md` and so on. Returns the path. `locked`: the
    caller already holds the vault lock."""
    folder = answers_dir(settings)
    stem = f"{when:%Y-%m-%d} {safe_title(title)}"
    with contextlib.nullcontext() if locked else vault_writes(settings):
        for n in range(1, MAX_TRIES + 1):
            path = folder / (f"{stem}.md" if n == 1 else f"{stem} ({n}).md")
            try:
                write_atomic(path, text, exclusive=True)
                return path
            except FileExistsRefused:
                continue
    raise WriteRefused(f"{MAX_TRIES} answer notes named {stem!r} already exist")


def keep_original(settings: Settings, run_id: str, text: str) -> None:
    """What overlay wrote for a run, kept in `<state>/originals/RUN.md`: when the user later edits the answer,
    `overlay dataset export` pairs his text (chosen) with this one (rejected). Never fatal: a copy that cannot be
    kept only costs that pair."""
    with contextlib.suppress(OSError):
        write_atomic(settings.state_dir / "originals" / f"{run_id}.md", text)


def original(settings: Settings, run_id: str) -> str | None:
    try:
        return (settings.state_dir / "originals" / f"{run_id}.md").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, ValueError):
        return None


def vault_writes(settings: Settings) -> AbstractContextManager[None]:
    """Held while overlay writes into the vault (an answer note, marking an asking note, the audit note): one
    process at a time, so a watcher and a terminal `ask` never race on a name or a note."""
    return short_lock(settings.vault_lock_path, "writing into the vault", timeout_s=60.0)


def vault_relative(settings: Settings, path: Path) -> str:
    return path.resolve().relative_to(settings.vault.resolve()).as_posix()


def log_run(settings: Settings, record: dict[str, Any]) -> None:
    """One JSON line per run, appended with a single write (O_APPEND keeps concurrent lines whole). The log is
    rotated at RUNS_MAX_BYTES (runs.jsonl -> runs.1.jsonl -> … runs.3.jsonl), so it never grows without bound."""
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(record, ensure_ascii=False, default=str) + "\n").encode("utf-8")
    _rotate(settings.runs_path)
    fd = os.open(settings.runs_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def _rotate(path: Path) -> None:
    try:
        if path.stat().st_size < RUNS_MAX_BYTES:
            return
    except FileNotFoundError:
        return
    with short_lock(path.with_name(path.name + ".lock"), "rotating the run log", timeout_s=10.0):
        try:
            if path.stat().st_size < RUNS_MAX_BYTES:
                return  # another process rotated it while this one waited
        except FileNotFoundError:
            return
        for n in range(RUNS_KEPT - 1, 0, -1):
            older = path.with_name(f"{path.stem}.{n}{path.suffix}")
            if older.exists():
                os.replace(older, path.with_name(f"{path.stem}.{n + 1}{path.suffix}"))
        os.replace(path, path.with_name(f"{path.stem}.1{path.suffix}"))
