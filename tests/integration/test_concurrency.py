"""Processes side by side on one state dir: searches right after an edit all rebuild or share BM25 safely."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import write

pytestmark = pytest.mark.integration
RUNNER = Path(__file__).with_name("crashrun.py")


def overlay(vault: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False", "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen([sys.executable, str(RUNNER), *args, "--vault", str(vault)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_four_searches_right_after_an_edit_all_succeed(vault: Path) -> None:
    for i in range(60):
        write(vault, f"Заметка {i}.md", f"# Заметка {i}\nтекст про сон и восстановление, номер {i}\n")
    assert overlay(vault, "index").wait(timeout=300) == 0
    write(vault, "Заметка 3.md", "# Заметка 3\nсовершенно новое слово: квазарный\n")
    assert overlay(vault, "index").wait(timeout=300) == 0  # a small change: BM25 is left for the first search
    searches = [overlay(vault, "search", "квазарный", "--json", "--mode", "sparse") for _ in range(4)]
    for proc in searches:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert json.loads(out)[0]["path"] == "Заметка 3.md"
    bm25 = vault / ".overlay" / "bm25"
    builds = [p for p in bm25.iterdir() if p.is_dir()]
    assert 1 <= len(builds) <= 2 and (bm25 / "CURRENT").read_text() in {b.name for b in builds}
