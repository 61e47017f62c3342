"""Exact search (overlay.index.exact) against Chroma's HNSW on an indexed vault, in one process, arms alternating.

    .venv/bin/python bench/exact_bench.py --vault /tmp/b10k/vault --make 10000   # writes and indexes it first
    .venv/bin/python bench/exact_bench.py --vault /tmp/b10k/vault                # an indexed vault

Prints: the time to build each snapshot afresh from Chroma (what the first index of a vault, and the nightly audit,
pay) and to bring it in step after a change with nothing new to read (the fixed part of what the first search after
a one-note edit pays); the first dense query of a fresh store with each (the snapshot's keys are read and its
vectors memory-mapped; Chroma loads its HNSW segment); dense and hybrid p50 / p95 with each store; and how far
HNSW's lists are from exact ones (identical top 10, recall of the exact top 120).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from bench.synth import EN, RU, make_vault
from overlay.index import exact, latin
from overlay.index.chroma_store import ChromaStore
from overlay.index.exact import english_store, exact_store
from overlay.index.indexer import Indexer
from overlay.search.reader import english_opener, fusion_options, open_retriever
from overlay.search.retrieval import Retriever
from overlay.settings import load_settings

POOL = 120  # what a search asks each dense list for (overlay.search.retrieval.POOL)


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def percentiles(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    return {"p50": round(statistics.median(values), 1), "p95": round(values[int(0.95 * (len(values) - 1))], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vault", type=Path, required=True, help="a vault `overlay index` has indexed")
    parser.add_argument("--make", type=int, default=0, metavar="N", help="write a synthetic vault of N notes there "
                        "(bench/synth.py) and index it first (~10 minutes for 10,000 on 2 cores)")
    parser.add_argument("--queries", type=int, default=50)
    args = parser.parse_args()
    settings = load_settings(args.vault)
    if args.make:
        make_vault(args.vault, args.make)
        print(f"indexed in {timed(Indexer(settings).run)[1]:.0f} s", flush=True)
    rng = random.Random(1)
    queries = [" ".join(rng.choice(RU if i % 2 else EN) for _ in range(5)) for i in range(args.queries)]

    retriever = open_retriever(settings)  # searches exactly, as users get it
    chroma, texts, name = retriever.store.store, retriever.texts, retriever.embedder.name
    english = latin.open_latin(settings, name, ChromaStore)[0] if english_opener(settings, name, texts) else None
    hnsw = Retriever(embedder=retriever.embedder, store=chroma, texts=texts, sparse=retriever.sparse,
                     graph=retriever.graph, **fusion_options(settings), latin=lambda: english)  # the same, on HNSW
    stores = {"chunks": exact_store(settings, chroma, texts, name)}
    if english is not None:
        stores["english"] = english_store(settings, english, texts)
    fresh, in_step, sizes = {}, {}, {}
    for label, one in stores.items():
        for kind in one.kinds():
            key = label if kind == exact.CHUNKS else kind
            fresh[key] = round(timed(lambda k=kind, one=one: one.rebuild(k, fresh=True))[1], 3)
    texts.vectors_changed()
    for label, one in stores.items():
        for kind in one.kinds():
            key = label if kind == exact.CHUNKS else kind
            snapshot, seconds = timed(lambda k=kind, one=one: one.snapshot(k))
            in_step[key], sizes[key] = round(seconds, 3), len(snapshot.keys)
    store = stores["chunks"]

    vectors = [retriever.embedder.embed_query(q) for q in queries]
    first_exact = timed(lambda: exact_store(settings, chroma, texts, name).query(vectors[0], POOL))[1]
    first_chroma = timed(lambda: ChromaStore(settings, name, retriever.embedder.dim).query(vectors[1], POOL))[1]
    latency: dict[str, list[float]] = {"dense_exact": [], "dense_hnsw": [], "hybrid_exact": [], "hybrid_hnsw": []}
    same_top10, recall = 0, []
    for rnd in range(3):  # alternating, so a noisy minute hits every arm
        for q, v in zip(queries, vectors, strict=True):
            mine, s1 = timed(lambda v=v: store.query(v, POOL))
            theirs, s2 = timed(lambda v=v: chroma.query(v, POOL))
            latency["dense_exact"].append(s1 * 1000)
            latency["dense_hnsw"].append(s2 * 1000)
            latency["hybrid_exact"].append(timed(lambda q=q: retriever.search(q, 10))[1] * 1000)
            latency["hybrid_hnsw"].append(timed(lambda q=q: hnsw.search(q, 10))[1] * 1000)
            if rnd == 0:
                same_top10 += [h.id for h in mine[:10]] == [h.id for h in theirs[:10]]
                recall.append(len({h.id for h in mine} & {h.id for h in theirs}) / max(1, len(mine)))
    figures = {
        "vectors": sizes, "snapshot_fresh_s": fresh, "snapshot_in_step_s": in_step,
        "first_query_of_a_process_s": {"exact": round(first_exact, 3), "hnsw": round(first_chroma, 3)},
        **{arm: percentiles(lat) for arm, lat in latency.items()},
        "hnsw_top10_identical": f"{same_top10}/{len(queries)}",
        "hnsw_recall_of_exact_top120": round(statistics.mean(recall), 4),
        "exact_max": exact.EXACT_MAX,
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
