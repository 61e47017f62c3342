"""bm25s must not start JAX in overlay's processes (a CUDA JAX claims most of the GPU the answer model needs), and
hiding it must not outlast the import: a fake `jax` package on the path records whether anything imported it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROBE = """
import json, os, sys
import overlay.index.bm25, overlay.index.stems
import bm25s.selection
during = os.path.exists(sys.argv[1])
import jax  # the user's own import afterwards still works
print(json.dumps({"jax_during_import": during, "bm25s_saw_jax": bm25s.selection.JAX_IS_AVAILABLE,
                  "jax_after": jax.__name__, "marker_after": os.path.exists(sys.argv[1])}))
"""


def fake_jax(root: Path, marker: Path) -> Path:
    package = root / "jax"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(f"open({str(marker)!r}, 'w').close()\n", encoding="utf-8")
    (package / "lax.py").write_text("def top_k(x, k):\n    return x[:k], list(range(k))\n", encoding="utf-8")
    return root


def run_probe(tmp_path: Path, code: str) -> dict:
    marker = tmp_path / "jax-imported"
    path = fake_jax(tmp_path / "site", marker)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(path), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", code, str(marker)], capture_output=True, text=True, env=env,
                          cwd=Path(__file__).resolve().parents[3], check=True)
    return json.loads(proc.stdout)


def test_bm25s_is_imported_without_jax_and_jax_stays_importable(tmp_path: Path) -> None:
    out = run_probe(tmp_path, PROBE)
    assert out == {"jax_during_import": False, "bm25s_saw_jax": False, "jax_after": "jax", "marker_after": True}


def test_the_fake_jax_is_what_bm25s_would_otherwise_start(tmp_path: Path) -> None:
    # the control: imported directly, bm25s imports the fake jax and runs its top_k, so the probe above can fail
    out = run_probe(tmp_path, "import json, os, sys\nimport bm25s.selection as s\n"
                              "print(json.dumps({'saw': s.JAX_IS_AVAILABLE, 'marker': os.path.exists(sys.argv[1])}))")
    assert out == {"saw": True, "marker": True}
