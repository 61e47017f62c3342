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
