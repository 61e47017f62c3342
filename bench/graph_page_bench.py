"""The graph page at vault scale: how long `graph export --format html` takes (clusters + layout, in Python), how
big the page is, and how long a real headless Chromium takes from navigation to the first full drawing (measured
inside the page with performance.now()) — against the same browser opening an empty page, so the figure is the
page's own cost on this machine.

    .venv/bin/python bench/graph_page_bench.py --notes 2000 10000      # both vault shapes
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.synth import make_realistic_vault, make_vault
from graph import LinkGraph
from graph.html import export_html
from vault_sync import read_note

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
TARGET_MS = 1000.0  # "opens in a second on a laptop at 10k notes"


def browse(page: Path, profile: Path) -> tuple[float, str]:
    """Wall seconds of one headless Chromium run, and the DOM it leaves."""
    t0 = time.perf_counter()
    done = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           "--disable-background-networking", "--disable-component-update", "--disable-sync",
                           f"--user-data-dir={profile}", "--virtual-time-budget=20000", "--window-size=1440,900",
                           "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=300)
    return time.perf_counter() - t0, done.stdout


def bench(n: int, work: Path, shape: str = "even") -> dict[str, float]:
    root = work / f"{shape}{n}"
    (make_realistic_vault if shape == "realistic" else make_vault)(root, n)
    graph = LinkGraph()
    graph.apply([read_note(root, p.relative_to(root).as_posix())[0] for p in sorted(root.rglob("*.md"))])
    t0 = time.perf_counter()
    html = export_html(graph, vault_name="bench")
    export_s = time.perf_counter() - t0
    page = work / f"graph-{shape}-{n}.html"
    page.write_text(html, encoding="utf-8")
    out = {"vault": shape, "notes": n, "export_s": round(export_s, 2), "page_mib": round(len(html.encode()) / 2**20, 2)}
    if CHROMIUM:
        empty = work / "empty.html"
        empty.write_text("<!DOCTYPE html><html><body>empty</body></html>", encoding="utf-8")
        base_s, _ = browse(empty, work / "profile")
        wall_s, dom = browse(page, work / "profile")
        ms = re.search(r'data-ms="(\d+)"', dom)
        errors = re.search(r'id="errors">(.*?)</div>', dom, re.S)
        out |= {"first_drawing_ms": float(ms.group(1)) if ms else float("nan"),
                "browser_wall_s": round(wall_s, 2), "empty_page_wall_s": round(base_s, 2),
                "js_errors": bool(errors and errors.group(1).strip())}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notes", type=int, nargs="+", default=[2000, 10000])
    parser.add_argument("--shape", nargs="+", choices=["even", "realistic"], default=["even", "realistic"],
                        help="even: every note linked at random; realistic: 80 %% unlinked, topic clusters, hubs")
    args = parser.parse_args()
    if not CHROMIUM:
        print("no Chromium here (Debian: apt-get install -y chromium): only the export is measured")
    with tempfile.TemporaryDirectory() as tmp:
        for shape, n in ((shape, n) for shape in args.shape for n in args.notes):
            row = bench(n, Path(tmp), shape)
            print("  ".join(f"{k} {v}" for k, v in row.items()))
            if "first_drawing_ms" in row:
                verdict = "met" if row["first_drawing_ms"] <= TARGET_MS else "MISSED"
                print(f"  first drawing {row['first_drawing_ms']:.0f} ms (target ≤ {TARGET_MS:.0f} ms): {verdict}")


if __name__ == "__main__":
    main()
