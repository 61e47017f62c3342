"""Nightly reindex at scale: an unchanged vault is rescanned and fully audited (manifest ↔ Chroma ids ↔ chunk texts
↔ graph ↔ BM25) and its audit note written, as a fresh `overlay reindex` process would.

    .venv/bin/python bench/reindex_bench.py --notes 10000            # target: ≤ 5 s unchanged
    .venv/bin/python bench/reindex_bench.py --notes 100000           # report time and peak RSS

The vault is built and indexed first (synthetic, bench/synth.py). `--embedder hash` (default) fills the index with a
deterministic 512-dim hash embedder so a 100k vault builds in minutes; an unchanged reindex embeds nothing, so the
figure is the same as with the real model, except that the real model's load is not paid (it is not needed). Each
reindex runs in a child process, so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

TARGET_UNCHANGED_S = 5.0


def use_hash_embedder() -> None:
    import overlay.index.embedding
    import overlay.index.indexer
    from tests.fakes import HashEmbedder

    class Hash512(HashEmbedder):
        dim = 512
        name = "st:bench-hash"

    embedder = Hash512()
    os.environ["OVERLAY_EMBEDDING_MODEL"] = "bench-hash"
    overlay.index.embedding.make_embedder = overlay.index.indexer.make_embedder = lambda _settings: embedder


def child(vault: str, embedder: str) -> None:
    if embedder == "hash":
        use_hash_embedder()
    from overlay.jobs.reindex import reindex
    from overlay.settings import load_settings

    t0 = time.perf_counter()
    report = reindex(load_settings(Path(vault))).as_dict()
    print(json.dumps({"seconds": round(time.perf_counter() - t0, 2), "checked": report["checked"],
                      "repaired": sum(report["repaired"].values()),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--notes", type=int, default=10000)
    parser.add_argument("--embedder", choices=("hash", "use"), default="hash")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.embedder)
        return
    if args.embedder == "hash":
        use_hash_embedder()
    from bench.synth import make_vault
    from overlay import library
    from overlay.settings import load_settings

    root = Path(tempfile.mkdtemp(prefix="reindex-bench-")) / "vault"
    make_vault(root, args.notes)
    t0 = time.perf_counter()
    report = library.index(load_settings(root))
    build_s = time.perf_counter() - t0
    runs = []
    for _ in range(3):  # the first writes the audit note and its charts (new files: the second run indexes their
        # names as attachments and saves the graph, so its clusters are counted again); the third is the steady night
        out = subprocess.run([sys.executable, __file__, "--child", str(root), "--embedder", args.embedder],
                             capture_output=True, text=True, check=True)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    steady = runs[-1]
    print(json.dumps({"notes": args.notes, "chunks": report.chunks, "embedder": args.embedder,
                      "initial_index_s": round(build_s, 1), "reindex_runs": runs,
                      "unchanged_reindex_s": steady["seconds"], "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
                      "target_unchanged_s": TARGET_UNCHANGED_S,
                      "meets_target": steady["seconds"] <= TARGET_UNCHANGED_S}, indent=2))


if __name__ == "__main__":
    main()
