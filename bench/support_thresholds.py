"""Measure the support check's thresholds on the labelled sample: for each (min cosine, min word overlap) pair,
how many supported claims it accepts (recall) and how many of its accepted claims are really supported
(precision), with the bundled embedding model. Prints the grid's best and the figures of the constants in use.

    .venv/bin/python bench/support_thresholds.py [--sample examples/eval/support-sample.jsonl]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from overlay.answer import support
from overlay.answer.support import SupportChecker
from overlay.index.embed_use import UseEmbedder

ROOT = Path(__file__).resolve().parents[1]


def judge(evidence: support.Evidence, cosine: float, overlap: float) -> bool:
    return evidence.numbers_found and (evidence.cosine >= cosine or evidence.overlap >= overlap)


def figures(rows: list[dict], evidence: list[support.Evidence], cosine: float, overlap: float) -> dict[str, float]:
    said = [judge(e, cosine, overlap) for e in evidence]
    truth = [r["supported"] for r in rows]
    tp = sum(s and t for s, t in zip(said, truth, strict=True))
    fp = sum(s and not t for s, t in zip(said, truth, strict=True))
    fn = sum(t and not s for s, t in zip(said, truth, strict=True))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    accuracy = sum(s == t for s, t in zip(said, truth, strict=True)) / len(rows)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "accuracy": accuracy, "f1": f1}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sample", type=Path, default=ROOT / "examples" / "eval" / "support-sample.jsonl")
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.sample.read_text(encoding="utf-8").splitlines() if line.strip()]
    embedder = UseEmbedder()
    evidence = []
    for row in rows:
        checker = SupportChecker(embedder, {1: row["source"]})
        vector = embedder.embed_documents([row["claim"]])[0]
        evidence.append(checker.evidence(row["claim"], vector, 1))
    grid = [(c, o, figures(rows, evidence, c, o)) for c in np.arange(0.30, 0.80, 0.05) for o in
            np.arange(0.3, 1.01, 0.1)]
    best = max(grid, key=lambda g: (g[2]["f1"], g[2]["precision"]))
    print(f"{len(rows)} labelled claims ({sum(r['supported'] for r in rows)} supported)")
    print("best by F1: min_cosine {:.2f}, min_overlap {:.1f}: precision {precision:.2f} recall {recall:.2f} "
          "accuracy {accuracy:.2f} F1 {f1:.2f}".format(best[0], best[1], **best[2]))
    now = figures(rows, evidence, support.MIN_COSINE, support.MIN_OVERLAP)
    print("in use   : min_cosine {:.2f}, min_overlap {:.1f}: precision {precision:.2f} recall {recall:.2f} "
          "accuracy {accuracy:.2f} F1 {f1:.2f}".format(support.MIN_COSINE, support.MIN_OVERLAP, **now))
    for cosine in (0.35, 0.40, 0.45, 0.50, 0.55):
        row = figures(rows, evidence, cosine, support.MIN_OVERLAP)
        print("  min_cosine {:.2f}: precision {precision:.2f} recall {recall:.2f} F1 {f1:.2f}".format(cosine, **row))
    for kind in sorted({r["kind"] for r in rows}):
        idx = [i for i, r in enumerate(rows) if r["kind"] == kind]
        ok = sum(judge(evidence[i], support.MIN_COSINE, support.MIN_OVERLAP) == rows[i]["supported"] for i in idx)
        print(f"  {kind:28s} {ok}/{len(idx)} judged right")


if __name__ == "__main__":
    main()
