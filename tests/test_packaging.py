"""A plain `pip install .` must ship the prompt templates, not only an editable install."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import prompts

ROOT = Path(__file__).resolve().parents[1]


def test_prompts_load_from_the_package() -> None:
    assert {"system.ru.md", "system.en.md", "sections.toml"} <= set(prompts.names())
    assert prompts.table("sections.toml")["ru"]["related_label"] == "Список релевантных заметок:"
    with pytest.raises(FileNotFoundError, match="no prompt template"):
        prompts.text("missing.md")


@pytest.mark.integration
def test_wheel_contains_every_package_and_the_templates(tmp_path: Path) -> None:
    src = tmp_path / "src"  # build from a copy: setuptools would leave build/ in the working tree
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".venv", ".git", ".overlay", "build", "*.egg-info"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path)], check=True, capture_output=True)
    wheel = next(tmp_path.glob("overlay-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"prompts/system.ru.md", "prompts/system.en.md", "prompts/sections.toml"} <= names
    assert {"overlay/cli/__init__.py", "overlay/index/indexer.py", "overlay/search/retrieval.py",
            "overlay/answer/ask.py", "overlay/jobs/watch.py", "vault_sync/parser.py", "graph/linkgraph.py"} <= names
    assert not any(n.startswith(("tests/", "examples/")) for n in names)
