"""cpu_repack on vs off: prompt and generation speed of the same model with llama.cpp's repacked CPU weights
(`use_extra_bufts`) and without, each in its own model worker, runs alternating. A setting that crashes (AMX CPUs)
is a row that says so, not a dead benchmark.

    .venv/bin/python bench/repack_bench.py [--model PATH.gguf] [--quantize Q4_0] [--runs 3] [--tokens 64]
                                           [--n-gpu-layers N]

The bundled SmolLM2 is Q4_1, a type llama.cpp does not repack; `--quantize Q4_0` (or Q4_K_M) first makes a
re-quantised copy in a temporary folder, so the repacking has something to do. Prints JSON: per setting the
median prompt tok/s (prompt tokens / time to first token, no cache: each run's prompt differs from its first token)
and generation tok/s, and off/on ratios. On a CUDA build the default offloads every layer and nothing is left to
repack: `--n-gpu-layers N` keeps the rest on the CPU (a partial offload, what a model too large for the card gets).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from overlay.answer.llm_gguf import WorkerLLM
from overlay.engine.client import ModelWorker
from overlay.engine.llama import cpu_has_amx, gpu_offload_supported, quantize
from overlay.engine.models import bundled_model_path
from overlay.errors import LLMError
from overlay.settings import Settings

SETTINGS = ("on", "off")
TEXT = ("The vault keeps notes on sleep, training and food; each note links the others it builds on, and the "
        "overlay answers questions from them with citations. ") * 12


def run_once(llm: WorkerLLM, run: int, tokens: int) -> tuple[float, float]:
    messages = [{"role": "user", "content": f"Run {run}. {TEXT}\nSummarise the text above in detail."}]
    asked = time.perf_counter()
    first, n = None, 0
    for _ in llm.stream(messages, max_tokens=tokens, temperature=0.0):
        first = first or time.perf_counter()
        n += 1
    end = time.perf_counter()
    return llm.usage.prompt_tokens / (first - asked), (n - 1) / (end - first)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", type=Path, default=None, help="GGUF path (default: the bundled SmolLM2-135M)")
    parser.add_argument("--quantize", default=None, help="re-quantise a copy first: Q4_0, Q4_K_M, Q8_0, ...")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--n-threads", type=int, default=0)
    parser.add_argument("--n-gpu-layers", type=int, default=-1, help="-1: all (a CUDA build), N: a partial offload")
    args = parser.parse_args()
    model = args.model or bundled_model_path()
    with tempfile.TemporaryDirectory() as tmp:
        if args.quantize:
            target = Path(tmp) / f"{model.stem}.{args.quantize}.gguf"
            quantize(model, target, args.quantize)
            model = target
        rows = measure(model, args)
    on, off = rows["on"], rows["off"]
    ratios = {k: round(off[k] / on[k], 3) for k in ("prompt_tok_s", "gen_tok_s") if k in on and k in off}
    print(json.dumps({"model": model.name, "cpu_amx": cpu_has_amx(), "n_gpu_layers": args.n_gpu_layers,
                      "gpu_offload": gpu_offload_supported(), "runs": args.runs, "rows": rows,
                      "off_over_on": ratios}, indent=2))


def measure(model: Path, args: argparse.Namespace) -> dict[str, dict]:
    llms: dict[str, WorkerLLM | None] = {}
    rows: dict[str, dict] = {}
    results: dict[str, list[tuple[float, float]]] = {s: [] for s in SETTINGS}
    for setting in SETTINGS:
        settings = Settings(vault=Path("."), state_dir=Path("."), model_path=str(model), n_ctx=2048,
                            n_threads=args.n_threads, n_gpu_layers=args.n_gpu_layers, repeat_penalty=1.0,
                            cpu_repack=setting)
        try:
            llms[setting] = WorkerLLM(settings, worker=ModelWorker())
            run_once(llms[setting], -1, 4)  # warm-up
        except LLMError as exc:
            llms[setting], rows[setting] = None, {"crashed": str(exc)}
    for run in range(args.runs):
        for setting in SETTINGS if run % 2 == 0 else reversed(SETTINGS):
            llm = llms.get(setting)
            if llm is None:
                continue
            try:
                results[setting].append(run_once(llm, run, args.tokens))
            except LLMError as exc:
                llms[setting], rows[setting] = None, {"crashed": str(exc)}
    for setting, runs in results.items():
        if setting not in rows and runs:
            rows[setting] = {"prompt_tok_s": round(statistics.median(r[0] for r in runs), 1),
                             "gen_tok_s": round(statistics.median(r[1] for r in runs), 1)}
    for llm in llms.values():
        if llm is not None:
            llm.worker.close()
    return rows


if __name__ == "__main__":
    main()
