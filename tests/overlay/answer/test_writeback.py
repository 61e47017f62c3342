"""Answer notes land inside the vault only, under safe names, never over an existing file."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest

from overlay.answer.writeback import answers_dir, safe_title, write_answer
from overlay.errors import WriteRefused
from overlay.settings import load_settings

WHEN = datetime(2026, 11, 23, 10, 0)


@pytest.mark.parametrize(("question", "expected"), [
    ("Какую квантизацию выбрать?", "Какую квантизацию выбрать"),
    ("../../etc/passwd", "etc passwd"),
    ('a<b>c:d"e/f\\g|h?i*j#k^l[m]n', "a b c d e f g h i j k l m n"),
    ("line\nbreak\ttab\x00nul", "line break tab nul"),
    ("...hidden", "hidden"),
    ("CON", "answer CON"),
    ("nul.txt", "answer nul.txt"),
    ("???", "answer"),
    ("ends with dots...", "ends with dots"),
])
def test_safe_title(question: str, expected: str) -> None:
    assert safe_title(question) == expected


def test_long_titles_are_cut_at_a_word() -> None:
    title = safe_title("слово " * 40)
    assert len(title) <= 80 and not title.endswith(" ") and title.endswith("слово")


def test_traversal_in_the_question_stays_in_the_answers_folder(vault: Path) -> None:
    settings = load_settings(vault)
    path = write_answer(settings, "../../../../tmp/evil", "text", when=WHEN)
    assert path.parent == (vault / "Overlay").resolve() and path.name == "2026-11-23 tmp evil.md"


def test_existing_notes_are_never_overwritten(vault: Path) -> None:
    settings = load_settings(vault)
    (vault / "Overlay").mkdir()
    mine = vault / "Overlay" / "2026-11-23 Вопрос.md"
    mine.write_text("my own note", encoding="utf-8")
    path = write_answer(settings, "Вопрос", "answer", when=WHEN)
    assert mine.read_text(encoding="utf-8") == "my own note" and path.name == "2026-11-23 Вопрос (2).md"


@pytest.mark.parametrize("folder", ["../outside", "/tmp/abs", "a/../../b", "C:/Windows"])
def test_answers_folder_outside_the_vault_is_refused(vault: Path, folder: str) -> None:
    with pytest.raises(WriteRefused):
        answers_dir(load_settings(vault, answers_folder=folder))


def test_answers_folder_symlinked_outside_is_refused(vault: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    os.symlink(outside, vault / "Overlay")
    with pytest.raises(WriteRefused):
        write_answer(load_settings(vault), "q", "t", when=WHEN)
    assert list(outside.iterdir()) == []


def test_a_symlink_squatting_on_the_name_is_not_followed(vault: Path, tmp_path: Path) -> None:
    target = tmp_path / "victim.md"
    target.write_text("keep", encoding="utf-8")
    (vault / "Overlay").mkdir()
    os.symlink(target, vault / "Overlay" / "2026-11-23 q.md")
    path = write_answer(load_settings(vault), "q", "answer", when=WHEN)
    assert target.read_text(encoding="utf-8") == "keep" and path.name == "2026-11-23 q (2).md"


def test_answer_notes_get_the_umask_mode(vault: Path) -> None:
    old = os.umask(0o022)
    try:
        path = write_answer(load_settings(vault), "Вопрос", "text\n", when=WHEN)
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644


def test_the_run_log_is_rotated_not_grown_forever(vault: Path, monkeypatch) -> None:
    from overlay.answer import writeback

    monkeypatch.setattr(writeback, "RUNS_MAX_BYTES", 2000)
    settings = load_settings(vault)
    for i in range(200):
        writeback.log_run(settings, {"i": i, "question": "x" * 50})
    logs = sorted(p.name for p in settings.state_dir.glob("runs*.jsonl"))
    assert logs == ["runs.1.jsonl", "runs.2.jsonl", "runs.3.jsonl", "runs.jsonl"]
    assert all((settings.state_dir / name).stat().st_size <= 2100 for name in logs)
    last = (settings.state_dir / "runs.jsonl").read_text().splitlines()[-1]
    assert '"i": 199' in last
