"""The generation benchmarks run end to end on the bundled model: ask_bench's bare side lives in a process of its
own (bench/bare_llama.py, llama.cpp loaded before numpy: a CUDA build crashed otherwise) and repack_bench takes a
partial offload. What they print is what the README's GPU figures come from."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def bench(*args: str) -> dict:
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


def test_ask_bench_compares_overlay_with_bare_llama_in_its_own_process() -> None:
    out = bench("bench/ask_bench.py", "--runs", "1", "--tokens", "16", "--repeat-penalty", "1.1")
    assert out["overlay"]["tokens"] > 1 and out["bare"]["tokens"] > 1
    assert out["bare"]["tok_s_median"] > 0 and out["ratio"] > 0
    assert out["worker_starts"] == 1


def test_repack_bench_reports_both_settings_for_a_partial_offload() -> None:
    out = bench("bench/repack_bench.py", "--runs", "1", "--tokens", "8", "--n-gpu-layers", "0")
    assert out["n_gpu_layers"] == 0 and set(out["rows"]) == {"on", "off"}
    assert all(row.get("gen_tok_s", 0) > 0 or "crashed" in row for row in out["rows"].values())
