"""Bare llama-cpp-python for bench/ask_bench.py, in a process of its own that imports llama.cpp before anything else.

    python bench/bare_llama.py MODEL.gguf OPTIONS_JSON      (then one JSON request per line on stdin)

Why a process: on a CUDA build (an H200 machine, bench/gpu_check.sh) a process that had imported numpy, scipy or
bm25s before llama.cpp's libraries died with SIGSEGV loading the model, and ask_bench's overlay side imports all
three. Each request `{"messages": [...], "max_tokens": N, "repeat_penalty": R}` is answered with
`[ttft_s, tok_s after the first token, tokens]`, timed here: the pipe is not in the figure.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from overlay.engine.llama import open_llama  # llama.cpp's libraries first, see above


def serve(model: Path, options: dict) -> None:
    llama = open_llama(model, options)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        asked = time.perf_counter()
        first, n = None, 0
        for chunk in llama.create_chat_completion(messages=request["messages"], max_tokens=request["max_tokens"],
                                                  temperature=0.0, repeat_penalty=request["repeat_penalty"],
                                                  stream=True):
            if chunk["choices"][0].get("delta", {}).get("content"):
                first = first or time.perf_counter()
                n += 1
        end = time.perf_counter()
        print(json.dumps([first - asked, (n - 1) / (end - first), n] if first else [0.0, 0.0, 0]), flush=True)


if __name__ == "__main__":
    serve(Path(sys.argv[1]), json.loads(sys.argv[2]))
