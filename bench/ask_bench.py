"""Generation benchmark: the same prompt through overlay's generation path (the model in its worker process) and
through bare llama-cpp-python in a process of its own, on the same model file with the same load options, alternating.

    .venv/bin/python bench/ask_bench.py [--model PATH.gguf] [--runs 5] [--tokens 128] [--n-gpu-layers -1]

Prints tokens/s and time-to-first-token for both, and the median of the per-pair ratios overlay / bare
(target ≥ 0.95). overlay's path is
`Asker.generate`: WorkerLLM.stream (tokens piped from the worker) plus the loop's per-token work (thinking split,
loop guard, timing). The bare path is `Llama.create_chat_completion(stream=True)` in a process of its own that
loads llama.cpp before anything else (bench/bare_llama.py: on a CUDA build a process that had imported numpy or
scipy first crashed loading the model), timed there. Both keep their KV cache between
runs (llama-cpp-python reuses the common prefix), so time-to-first-token after the first run is mostly cache.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from overlay.answer.llm import make_llm
from overlay.answer.loop import Asker, Timings
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


class Bare:
    """Bare llama-cpp-python in a process of its own (bench/bare_llama.py), the same model file and load options."""

    def __init__(self, model: Path, options: dict) -> None:
        script = Path(__file__).with_name("bare_llama.py")
        self.proc = subprocess.Popen([sys.executable, str(script), str(model), json.dumps(options)], text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        if not self.proc.stdout.readline():
            raise SystemExit(f"bare llama-cpp-python died loading {model.name} (exit {self.proc.wait()})")

    def run(self, tokens: int, repeat_penalty: float) -> tuple[float, float, int]:
        """(ttft_s, tok/s after the first token, tokens), timed in that process."""
        request = {"messages": MESSAGES, "max_tokens": tokens, "repeat_penalty": repeat_penalty}
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"bare llama-cpp-python died mid-run (exit {self.proc.wait()})")
        ttft, rate, n = json.loads(line)
        return ttft, rate, n

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


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
    parser.add_argument("--repeat-penalty", type=float, default=1.0,
                        help="both paths; >1 keeps a random-weight model out of the loops overlay's guard cuts")
    args = parser.parse_args()
    settings = Settings(vault=Path("."), state_dir=Path("."), model_path=args.model, n_ctx=args.n_ctx,
                        n_gpu_layers=args.n_gpu_layers, max_answer_tokens=args.tokens, temperature=0.0,
                        repeat_penalty=args.repeat_penalty, cpu_repack=args.cpu_repack)
    llm = make_llm(settings)  # the worker process, loaded
    bare = Bare(model_file(settings), {**llm.options, "verbose": False})  # the same options, its own process
    asker = Asker(settings, retriever=None, llm=llm)  # type: ignore[arg-type]  (generate needs no retrieval)
    bare.run(8, args.repeat_penalty)  # warm-up: page the weights in, build the graph
    overlay_path(asker)
    results: dict[str, list[tuple[float, float, int]]] = {"overlay": [], "bare": []}
    for i in range(args.runs):
        order = ("overlay", "bare") if i % 2 == 0 else ("bare", "overlay")
        for name in order:
            run = overlay_path(asker) if name == "overlay" else bare.run(args.tokens, args.repeat_penalty)
            results[name].append(run)
    bare.close()
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
