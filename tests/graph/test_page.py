"""The graph page: clusters, hubs, hidden unresolved targets — and, in a real headless Chromium where one is
installed, drawn without a single JavaScript error, also at 2,000 notes."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bench.synth import make_vault
from graph import LinkGraph
from graph.html import export_html
from vault_sync import read_note

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def page_data(page: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.S).group(1))


def graph_of(root: Path) -> LinkGraph:
    g = LinkGraph()
    g.apply([read_note(root, p.relative_to(root).as_posix())[0] for p in sorted(root.rglob("*.md"))])
    return g


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> LinkGraph:
    root = tmp_path_factory.mktemp("synth")
    make_vault(root, 2000)
    return graph_of(root)


def test_the_page_groups_names_and_hides_what_clutters(synthetic: LinkGraph) -> None:
    data = page_data(export_html(synthetic))
    notes = [n for n in data["nodes"] if n["k"] == "note"]
    assert len(notes) == 2000 and data["stats"]["clusters"] >= 2
    assert all(" · " in c["name"] or c["size"] < 3 for c in data["clusters"][:3])
    hubs = [n for n in notes if n["h"]]
    assert 10 <= len(hubs) <= 0.05 * len(notes)
    assert min(n["d"] for n in hubs) >= max(n["d"] for n in notes if not n["h"])
    assert any(n["k"] == "unresolved" for n in data["nodes"])  # present, hidden until its toggle (in the page)
    assert data["folders"] and all(isinstance(n["x"], float | int) for n in notes)


def test_a_local_graph_around_a_note(synthetic: LinkGraph) -> None:
    start = max(synthetic.notes(), key=lambda n: len(synthetic.outlinks(n)))
    data = page_data(export_html(synthetic, around=start, depth=1))
    paths = {n["id"] for n in data["nodes"] if n["k"] == "note"}
    assert start in paths and set(synthetic.outlinks(start)) <= paths
    assert len(paths) < 2000


def render(page: Path, tmp_path: Path) -> tuple[str, str]:
    done = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                           "--disable-background-networking", "--disable-component-update", "--disable-sync",
                           f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
                           "--virtual-time-budget=8000", "--window-size=1280,900", "--dump-dom", page.as_uri()],
                          capture_output=True, text=True, timeout=120)
    return done.stdout, done.stderr


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium here (Debian: apt-get install -y chromium); the page was "
                                             "not drawn in a browser")
@pytest.mark.parametrize("which", ["example", "synthetic"])
def test_a_real_browser_draws_it_without_a_javascript_error(which: str, synthetic: LinkGraph, tmp_path: Path) -> None:
    from tests.conftest import EXAMPLE_VAULT

    graph = graph_of(EXAMPLE_VAULT) if which == "example" else synthetic
    page = tmp_path / "graph.html"
    page.write_text(export_html(graph), encoding="utf-8")
    dom, log = render(page, tmp_path)
    assert 'id="errors"></div>' in dom, re.search(r'id="errors">(.*?)</div>', dom, re.S).group(1)
    assert "Uncaught" not in log, [line for line in log.splitlines() if "Uncaught" in line]
    drawn = int(re.search(r'data-rendered="(\d+)"', dom).group(1))
    assert drawn > 0.5 * len(graph.notes())


def test_the_same_vault_gives_the_same_page_in_every_process(tmp_path: Path) -> None:
    """Clusters and positions do not depend on Python's hash seed (a set walked in hash order once made them)."""
    import os
    import sys

    from tests.conftest import EXAMPLE_VAULT

    code = ("import sys; from pathlib import Path; from tests.graph.test_page import graph_of; "
            "from graph.html import export_html; sys.stdout.write(export_html(graph_of(Path(sys.argv[1]))))")
    root = Path(__file__).resolve().parents[2]
    pages = [subprocess.run([sys.executable, "-c", code, str(EXAMPLE_VAULT)], capture_output=True, text=True,
                            check=True, cwd=root, env={**os.environ, "PYTHONHASHSEED": seed}).stdout
             for seed in ("1", "2")]
    assert pages[0] == pages[1] and page_data(pages[0])["stats"]["clusters"] >= 2
