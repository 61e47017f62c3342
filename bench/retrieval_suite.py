"""Every dev set at once, through the path users get: one table, compared with the saved previous run.

    .venv/bin/python bench/retrieval_suite.py                 # index (cached) + score all sets, compare with saved
    .venv/bin/python bench/retrieval_suite.py --save          # ... and make this run the new reference
    .venv/bin/python bench/retrieval_suite.py --set link_boost=0 --set note_evidence=0   # try a ranking setting
    .venv/bin/python bench/retrieval_suite.py --fresh --repeat 2   # two clean indexes: does the ranking hold?

The sets: the example vault, npm docs (English), ru-vault (the user's style), and openbox (a real Russian vault
nobody here wrote, from ../shared/dev-vaults; skipped with a note where it is absent). Each is indexed once into
bench/out/suite/ (keyed by the settings that shape the index) with the files left where they are, then every
question goes through `overlay.search.evaluation.evaluate_search` — exactly the note list `overlay search --json`
returns, which is also what `overlay eval retrieval` scores.

A ranking change is kept only if the macro-average hit@1 rises and no set loses more than 2 points: the comparison
at the end says so.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import math
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from graph import LinkGraph
from overlay import library
from overlay.index.chunk_store import ChunkStore
from overlay.index.indexer import index_version
from overlay.search.evaluation import evaluate_search, load_questions, names_as_queries
from overlay.settings import Settings, load_settings, parse_assignments

ROOT = Path(__file__).resolve().parents[1]
DEV_VAULTS = Path(os.environ.get("OVERLAY_DEV_VAULTS", ROOT.parent / "shared" / "dev-vaults"))
SETS = {  # name -> (vault, questions)
    "example": (ROOT / "examples" / "vault", ROOT / "examples" / "eval" / "examples-vault.jsonl"),
    "npm-docs": (ROOT / "examples" / "eval" / "npm-vault", ROOT / "examples" / "eval" / "npm-vault.jsonl"),
    "ru-vault": (ROOT / "examples" / "eval" / "ru-vault", ROOT / "examples" / "eval" / "ru-vault.jsonl"),
    "openbox": (DEV_VAULTS / "openbox" / "vault", DEV_VAULTS / "openbox" / "questions.jsonl"),
}
SAVED = ROOT / "bench" / "results" / "retrieval_suite.json"
CACHE = ROOT / "bench" / "out" / "suite"
# Settings that change what the index holds (the rest only change ranking and need no new index).
INDEX_SETTINGS = ("embedding_model", "latin_model", "chunk_tokens", "chunk_overlap", "max_file_bytes", "ignore")
KINDS = ("lookup", "paraphrase", "multi-hop", "link", "cross-lingual")
MAX_LOSS = 0.02
NAMED = 300  # title queries (also asked as "what is …") and heading queries per set
NAMED_KINDS = ("titles", "definitions", "typos", "layouts", "headings")


def settings_for(name: str, overrides: dict[str, str], fresh: bool, attempt: int = 0) -> Settings:
    """`attempt` > 0: a folder of its own (Chroma keeps a client per folder for the life of the process, so a
    folder cannot be deleted and built again in the same run)."""
    vault, _ = SETS[name]
    settings = load_settings(vault, **overrides)
    key = json.dumps([index_version(settings), *(str(getattr(settings, f)) for f in INDEX_SETTINGS)])
    state = CACHE / (f"{name}-{hashlib.sha256(key.encode()).hexdigest()[:10]}" + (f"-{attempt}" if attempt else ""))
    if fresh and state.exists():
        shutil.rmtree(state)
    return dataclasses.replace(settings, state_dir=state)


def run_set(name: str, overrides: dict[str, str], k: int, fresh: bool, attempt: int = 0) -> dict[str, Any]:
    _, questions_file = SETS[name]
    settings = settings_for(name, overrides, fresh, attempt)
    t0 = time.perf_counter()
    report = library.index(settings)
    indexed = time.perf_counter() - t0
    retriever = library.open_retriever(settings)
    try:
        t0 = time.perf_counter()
        result = evaluate_search(retriever, load_questions(questions_file), k)
        per_query = (time.perf_counter() - t0) / result["n"]
        if retriever.graph is not None:  # navigational queries: titles and headings (a sample of NAMED of each)
            named = evaluate_search(retriever, names_as_queries(retriever.graph, retriever.texts, NAMED), k)
            result.update(_named_kinds(named))
    finally:
        retriever.texts.close()
    result["index"] = {"seconds": round(indexed, 1), "notes": report.notes, "chunks": report.chunks,
                       "embedded": report.embedded}
    result["search_ms"] = round(per_query * 1000, 1)
    return result


def run_plain(name: str, overrides: dict[str, str], k: int) -> dict[str, Any]:
    """The plain LlamaIndex pipeline (bench/retrieval_baseline.py) with the same embedding model, on the same
    questions: the reference the targets are set against. Needs the `baseline` extra."""
    from bench.retrieval_baseline import baseline_search
    from overlay.search.evaluation import evaluate

    vault, questions_file = SETS[name]
    settings = settings_for(name, overrides, False)
    search, _ = baseline_search(vault, settings)
    result = evaluate(load_questions(questions_file), search, k)
    graph, texts = LinkGraph.load(settings.graph_path), ChunkStore(settings.chunks_path)
    try:  # the same named queries as run_set's (the overlay index of the set must exist: run_set builds it first)
        result.update(_named_kinds(evaluate(names_as_queries(graph, texts, NAMED), search, k)))
    finally:
        texts.close()
    return result


def _named_kinds(result: dict[str, Any]) -> dict[str, dict[str, float]]:
    """{"titles": …, "definitions": …, "headings": …}: hit@1 / hit@5 / MRR of each kind of named query."""
    return {f"{kind}s": {key: m[key] for key in ("n", "hit@1", "hit@5", "mrr")}
            for kind, m in result["by_kind"].items() if f"{kind}s" in NAMED_KINDS}


def macro(results: dict[str, dict[str, Any]], key: str = "hit@1") -> float:
    return round(sum(r[key] for r in results.values()) / len(results), 4)


def table(results: dict[str, dict[str, Any]]) -> str:
    head = ["set", "n", "hit@1", "hit@5", "MRR", "nDCG@5", "ru hit@1", "en hit@1", *KINDS,
            *(f"{kind} hit@1" for kind in NAMED_KINDS), "index s", "ms/q"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, r in results.items():
        langs = [_cell(r["by_lang"].get(lang)) for lang in ("ru", "en")]
        kinds = [_cell(r["by_kind"].get(kind)) for kind in KINDS]
        figures = [f"{r[key]:.3f}" for key in ("hit@1", "hit@5", "mrr", "ndcg@5")]
        named = [_cell(r.get(kind)) for kind in NAMED_KINDS]
        lines.append(f"| {name} | {r['n']} | " + " | ".join(figures + langs + kinds + named)
                     + f" | {r['index']['seconds']} | {r['search_ms']} |")
    cells = [f"{macro(results, key):.3f}" for key in ("hit@1", "hit@5", "mrr", "ndcg@5")]
    lines.append("| **macro** | | " + " | ".join(cells) + " |" + " |" * (len(head) - 6))
    return "\n".join(lines)


def _cell(m: dict[str, Any] | None) -> str:
    return f"{m['hit@1']:.2f} ({m['n']})" if m else "–"


def against_plain(results: dict[str, dict[str, Any]], plain: dict[str, dict[str, Any]]) -> str:
    """Per set and language: hit@1 (hit@5) of plain and ours; the target is plain + 10 points hit@1, hit@5 never
    below plain."""
    lines = ["| set | lang | plain hit@1 (hit@5) | overlay hit@1 (hit@5) | Δ hit@1 | target met |", "|" + "---|" * 6]
    for name in (n for n in results if n in plain):
        for lang in ("all", *sorted(results[name]["by_lang"])):
            ours = results[name] if lang == "all" else results[name]["by_lang"][lang]
            base = plain[name] if lang == "all" else plain[name]["by_lang"].get(lang)
            if base is None:
                continue
            delta = ours["hit@1"] - base["hit@1"]
            met = delta >= 0.10 - 1e-9 and ours["hit@5"] >= base["hit@5"] - 1e-9
            lines.append(f"| {name} | {lang} | {base['hit@1']:.3f} ({base['hit@5']:.3f}) | {ours['hit@1']:.3f} "
                         f"({ours['hit@5']:.3f}) | {delta:+.3f} | {'yes' if met else 'no'} |")
        for kind in (k for k in NAMED_KINDS if k in plain[name] and k in results[name]):
            base, ours = plain[name][kind], results[name][kind]
            lines.append(f"| {name} | {kind} | {base['hit@1']:.3f} ({base['hit@5']:.3f}) | {ours['hit@1']:.3f} "
                         f"({ours['hit@5']:.3f}) | {ours['hit@1'] - base['hit@1']:+.3f} | – |")
    return "\n".join(lines)


def compare(results: dict[str, dict[str, Any]], saved: dict[str, Any]) -> tuple[str, bool]:
    """Lines of Δ against the saved run, and whether the change is worth keeping by the rule above."""
    before = saved["results"]
    common = [name for name in results if name in before]
    if not common:
        return "no saved run covers these sets", False
    lines, worst, gains, losses = [], 0.0, 0, 0
    for name in common:
        delta = {key: results[name][key] - before[name][key] for key in ("hit@1", "hit@5", "mrr")}
        worst = min(worst, delta["hit@1"])
        gained, lost = moved(before[name].get("ranks"), results[name].get("ranks"))
        gains, losses = gains + len(gained), losses + len(lost)
        lines.append(f"  {name:10} hit@1 {before[name]['hit@1']:.3f} → {results[name]['hit@1']:.3f} "
                     f"({delta['hit@1']:+.3f})   hit@5 {delta['hit@5']:+.3f}   MRR {delta['mrr']:+.3f}"
                     + (f"   gained {', '.join(gained) or '–'}; lost {', '.join(lost) or '–'}"
                        if gained or lost else ""))
        for kind in (k for k in NAMED_KINDS if k in results[name] and k in before[name]):
            then, now = before[name][kind]["hit@1"], results[name][kind]["hit@1"]
            lines.append(f"  {'':10} {kind} hit@1 {then:.3f} → {now:.3f} ({now - then:+.3f})")
    old = round(sum(before[n]["hit@1"] for n in common) / len(common), 4)
    new = round(sum(results[n]["hit@1"] for n in common) / len(common), 4)
    named = [(n, kind) for n in common for kind in NAMED_KINDS if kind in results[n] and kind in before[n]]
    named_delta = sum(results[n][kind]["hit@1"] - before[n][kind]["hit@1"] for n, kind in named)
    # a change for another kind of query (a note's title or a section's heading typed as the query) is kept when no
    # set of questions loses a question at hit@1 and the named lookups rise
    keep = (new > old and worst >= -MAX_LOSS) or (worst >= 0 and named_delta > 0)
    same = all(results[n][key] == before[n][key] for n in common for key in ("hit@1", "hit@5", "mrr")) and all(
        results[n][kind]["hit@1"] == before[n][kind]["hit@1"] for n, kind in named)
    verdict = ("KEEP (no set of questions lost at hit@1; title and heading lookups up)" if keep and new == old
               else "no change on any set" if same
               else "KEEP (macro up, no set lost more than 2 points)" if keep
               else "do not keep (the macro-average must rise and no set may lose more than 2 points)")
    lines.append(f"  macro hit@1 {old:.4f} → {new:.4f} ({new - old:+.4f}); worst set {worst:+.3f} → {verdict}")
    if gains or losses:
        p = sign_test(gains, losses)
        lines.append(f"  questions moved at hit@1: +{gains} −{losses}; sign test p = {p:.2f}"
                     + (" (more than chance)" if p < 0.05 else " (within chance: as likely from a change that does "
                                                               "nothing but reshuffle)"))
    return "\n".join(lines), keep


def moved(before: dict[str, int | None] | None, after: dict[str, int | None] | None) -> tuple[list[str], list[str]]:
    """Question ids that became a hit@1 and that stopped being one (runs saved before ranks were kept: none)."""
    if not before or not after:
        return [], []
    common = [q for q in after if q in before]
    gained = [q for q in common if after[q] == 1 and before[q] != 1]
    lost = [q for q in common if before[q] == 1 and after[q] != 1]
    return gained, lost


def sign_test(gains: int, losses: int) -> float:
    """Two-sided exact sign test: how likely a split at least this uneven is when each moved question was as likely
    to go either way. Tells a change from the reshuffling any edit of the ranking causes: the dev sets are small, and
    +3 −2 is a macro rise that means nothing."""
    n = gains + losses
    if not n:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(gains, losses) + 1)) / 2**n
    return min(1.0, 2 * tail)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", nargs="*", default=list(SETS), choices=list(SETS))
    ap.add_argument("--set", dest="assignments", action="append", default=[], metavar="NAME=VALUE",
                    help="a setting for every set, as `overlay --set`")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--fresh", action="store_true", help="build every index from scratch")
    ap.add_argument("--repeat", type=int, default=1, help="with --fresh: build and score N times (the spread)")
    ap.add_argument("--save", action="store_true", help=f"write this run to {SAVED.relative_to(ROOT)}")
    ap.add_argument("--compare", type=Path, default=SAVED, help="the run to compare with")
    ap.add_argument("--json", type=Path, help="also write this run's full results here")
    ap.add_argument("--plain", action="store_true", help="also score the plain LlamaIndex pipeline (pip install "
                                                         "-e '.[baseline]'); kept in the saved run")
    args = ap.parse_args()
    overrides = parse_assignments(tuple(args.assignments))
    names = [n for n in args.sets if SETS[n][0].is_dir() or print(f"note: {n} not found at {SETS[n][0]}; skipped")]
    runs = []
    for attempt in range(max(args.repeat, 1)):
        results = {name: run_set(name, overrides, args.k, args.fresh or attempt > 0, attempt) for name in names}
        runs.append(results)
        print(f"\n{'run ' + str(attempt + 1) + ': ' if args.repeat > 1 else ''}settings: {overrides or 'defaults'}")
        print(table(results))
    if len(runs) > 1:
        for name in names:
            values = [r[name]["hit@1"] for r in runs]
            print(f"  spread {name}: hit@1 {min(values):.3f}–{max(values):.3f} over {len(runs)} clean indexes")
    results = runs[-1]
    record = {"date": time.strftime("%Y-%m-%d %H:%M"), "settings": overrides, "results": results}
    saved = json.loads(args.compare.read_text(encoding="utf-8")) if args.compare.is_file() else {}
    plain = {name: run_plain(name, overrides, args.k) for name in names} if args.plain else saved.get("plain", {})
    if plain:
        record["plain"] = plain
        print("\nagainst plain LlamaIndex (same model):\n" + against_plain(results, plain))
    if saved:
        lines, _ = compare(results, saved)
        print(f"\nagainst {args.compare}:\n{lines}")
    if args.json:
        args.json.write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
    if args.save:
        SAVED.parent.mkdir(parents=True, exist_ok=True)
        SAVED.write_text(json.dumps(record, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"saved as the reference: {SAVED.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
