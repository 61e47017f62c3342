"""Generation benchmark: the same prompt through overlay's generation path (the model in its worker process) and
through bare llama-cpp-python in this process, on the same model file with the same load options, alternating.

    .venv/bin/python bench/ask_bench.py [--model PATH.gguf] [--runs 5] [--tokens 128] [--n-gpu-layers -1]

Prints tokens/s and time-to-first-token for both, and the median of the per-pair ratios overlay / bare
(target ≥ 0.95). overlay's path is
`Asker.generate`: WorkerLLM.stream (tokens piped from the worker) plus the loop's per-token work (thinking split,
loop guard, timing). The bare path is `Llama.create_chat_completion(stream=True)`. Both keep their KV cache between
runs (llama-cpp-python reuses the common prefix), so time-to-first-token after the first run is mostly cache.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from overlay.answer.llm import make_llm
from overlay.answer.loop import Asker, Timings
from overlay.engine.llama import open_llama
from overlay.engine.models import model_file
from overlay.settings import Settings

TARGET_RATIO = 0.95
SOURCES = "\n\n".join(
    f"[^{i}] (Notes/Note {i}.md)\nNote {i} > Section\nThe GPU has 96 GB of memory; a 32B model in Q4_K_M needs about "
    f"20 GB, leaving room for a long context and a LoRA adapter. Generation runs at {40 + i} tokens per second."
    for i in range(1, 9))
MESSAGES = [
    {"role": "system", "content": "You answer only from the numbered sources and cite them as [^N]."},
    {"role": "user", "content": f"Sources:\n\n{SOURCES}\n\nQuestion: Which quantisation fits a 32B model on this "
                                f"GPU, and how fast does it run? Write a detailed answer."},
]


def bare(llama, tokens: int) -> tuple[float, float, int]:
    """(ttft_s, tok/s after the first token, tokens) of bare llama-cpp-python."""
    asked = time.perf_counter()
    first, n = None, 0
    for chunk in llama.create_chat_completion(messages=MESSAGES, max_tokens=tokens, temperature=0.0,
                                              repeat_penalty=1.0, stream=True):
        if chunk["choices"][0].get("delta", {}).get("content"):
            first = first or time.perf_counter()
            n += 1
    end = time.perf_counter()
    return first - asked, (n - 1) / (end - first), n


def overlay_path(asker: Asker) -> tuple[float, float, int]:
    timings = Timings()
    deltas = 0

    def count(kind: str, _payload: str) -> None:
        nonlocal deltas
        deltas += kind in ("text", "thinking")

    asker.emit = count
    asked = time.perf_counter()
    asker.generate(MESSAGES, timings)
    end = time.perf_counter()
    first = asked + timings.ttft_s
    return timings.ttft_s, (deltas - 1) / (end - first), deltas


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=None, help="GGUF path (default: the bundled SmolLM2-135M)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--n-gpu-layers", type=int, default=-1)
    parser.add_argument("--n-ctx", type=int, default=4096)
    parser.add_argument("--cpu-repack", default="auto", choices=("auto", "on", "off"))
    args = parser.parse_args()
    settings = Settings(vault=Path("."), state_dir=Path("."), model_path=args.model, n_ctx=args.n_ctx,
                        n_gpu_layers=args.n_gpu_layers, max_answer_tokens=args.tokens, temperature=0.0,
                        repeat_penalty=1.0, cpu_repack=args.cpu_repack)
    llm = make_llm(settings)  # the worker process, loaded
    local = open_llama(model_file(settings), {**llm.options, "verbose": False})  # the same options, here
    asker = Asker(settings, retriever=None, llm=llm)  # type: ignore[arg-type]  (generate needs no retrieval)
    bare(local, 8)  # warm-up: page the weights in, build the graph
    overlay_path(asker)
    results: dict[str, list[tuple[float, float, int]]] = {"overlay": [], "bare": []}
    for i in range(args.runs):
        order = ("overlay", "bare") if i % 2 == 0 else ("bare", "overlay")
        for name in order:
            run = overlay_path(asker) if name == "overlay" else bare(local, args.tokens)
            results[name].append(run)
    summary = {name: {"tok_s_median": round(statistics.median(r[1] for r in runs), 1),
                      "ttft_s_median": round(statistics.median(r[0] for r in runs), 3),
                      "tokens": runs[0][2]} for name, runs in results.items()}
    # each pair ran back to back, so the median of the pair ratios shrugs off drift in a shared machine's speed
    ratio = statistics.median(o[1] / b[1] for o, b in zip(results["overlay"], results["bare"], strict=True))
    print(json.dumps({"model": llm.name, "options": llm.options, "worker_starts": llm.worker.starts,
                      **summary, "ratio": round(ratio, 3), "target": TARGET_RATIO,
                      "meets_target": ratio >= TARGET_RATIO}, indent=2))


if __name__ == "__main__":
    main()
