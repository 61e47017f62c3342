"""A question survives the watcher: killed while the model writes, or right after the note is written, the restarted
watcher answers it exactly once. Real watchdog, real Chroma, hash embedder, scripted model, real SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import write

pytestmark = pytest.mark.integration
RUNNER = Path(__file__).with_name("watchrun.py")
QUESTION = "---\noverlay: ask\n---\nСколько часов сна нужно спортсмену?\n"


def start(vault: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False", "HF_HUB_OFFLINE": "1", "OVERLAY_AUDIT_NOTE": ""}
    return subprocess.Popen([sys.executable, str(RUNNER), str(vault), *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def answers(vault: Path) -> list[Path]:
    return sorted((vault / "Overlay").glob("*.md")) if (vault / "Overlay").is_dir() else []


def wait_for(condition, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def finish(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out


@pytest.fixture
def asking_vault(vault: Path) -> Path:
    write(vault, "Сон.md", "# Сон\nСпортсмену нужно восемь часов сна.\n")
    write(vault, "Вопрос.md", QUESTION)
    old = time.time() - 60
    os.utime(vault / "Вопрос.md", (old, old))
    return vault


def test_killed_while_the_model_writes_then_answered_once_after_restart(asking_vault: Path) -> None:
    vault = asking_vault
    first = start(vault, "--die-while-generating")
    first.wait(timeout=120)
    assert first.returncode == -signal.SIGKILL and (vault.parent / "generating").exists()
    assert answers(vault) == []
    second = start(vault)
    try:
        wait_for(lambda: "overlay: answered" in (vault / "Вопрос.md").read_text(encoding="utf-8"), "the answer")
        time.sleep(1.5)  # a second answer would come within a batch or two
    finally:
        out = finish(second)
    assert len(answers(vault)) == 1, out
    third = start(vault)  # and a restart after success asks nothing again
    time.sleep(3)
    finish(third)
    assert len(answers(vault)) == 1


def test_killed_after_the_note_was_written_is_not_answered_twice(asking_vault: Path) -> None:
    vault = asking_vault
    first = start(vault, "--die-after-writing")
    first.wait(timeout=120)
    assert first.returncode == -signal.SIGKILL and len(answers(vault)) == 1
    assert "overlay: ask" in (vault / "Вопрос.md").read_text(encoding="utf-8")  # killed before marking
    second = start(vault)
    try:
        time.sleep(4)
    finally:
        out = finish(second)
    assert len(answers(vault)) == 1, out
    assert "its answer was written before the last stop" in out


CHAT = (">[!nexus_user] **User** - 01.12.2026 at 21:05\n> Как восстанавливаться после тренировок?\n"
        "<!-- UID: 1 -->\n\n>[!nexus_agent] **Assistant** - 01.12.2026 at 21:06\n> Сон и питание.\n"
        "<!-- UID: 2 -->\n\n>[!nexus_user] **User** - 01.12.2026 at 21:09\n> А сколько часов сна нужно?\n")


@pytest.mark.parametrize("death", ["--die-while-generating", "--die-after-writing"])
def test_an_inline_answer_survives_a_kill_and_is_written_once(vault: Path, death: str, monkeypatch) -> None:
    """A chat's last unanswered turn, answered inline: killed while the model writes (nothing inserted, asked again)
    or right after the insertion (found by its run id, not asked again), the note ends with one answer."""
    from vault_sync import inline_answers

    monkeypatch.setenv("OVERLAY_ANSWER_PLACEMENT", "inline")
    monkeypatch.setenv("OVERLAY_CHAT_ASKS", "last")
    write(vault, "Сон.md", "# Сон\nСпортсмену нужно восемь часов сна.\n")
    chat = write(vault, "Чат.md", CHAT)
    old = time.time() - 60
    os.utime(chat, (old, old))
    first = start(vault, death)
    first.wait(timeout=120)
    assert first.returncode == -signal.SIGKILL
    written = inline_answers.find(chat.read_text(encoding="utf-8"))
    assert len(written) == (1 if death == "--die-after-writing" else 0)
    second = start(vault)
    try:
        wait_for(lambda: len(inline_answers.find(chat.read_text(encoding="utf-8"))) == 1, "one inline answer")
        time.sleep(2.0)  # a second answer would come within a batch or two
    finally:
        out = finish(second)
    assert len(inline_answers.find(chat.read_text(encoding="utf-8"))) == 1, out
    assert answers(vault) == []
