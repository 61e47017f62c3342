"""llama-cpp-python's OpenAI-compatible server, safe on AMX CPUs:

    python -m overlay.engine.server [--cpu-repack auto|on|off] --model M.gguf --host 127.0.0.1 --port 8080 ...

Every argument but `--cpu-repack` goes to `python -m llama_cpp.server` unchanged. `auto` turns llama.cpp's extra
weight buffers off where the CPU has AMX (see overlay.engine.llama.use_extra_bufts), as overlay's own model worker
does; llama.cpp's C++ `llama-server` takes `--no-repack` for the same.
"""

from __future__ import annotations

import sys

REPACK_CHOICES = ("auto", "on", "off")


def split_args(argv: list[str]) -> tuple[str, list[str]]:
    """(--cpu-repack's value, the rest) from a command line; `--cpu-repack X` or `--cpu-repack=X`."""
    repack, rest, i = "auto", [], 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--cpu-repack" and i + 1 < len(argv):
            repack, i = argv[i + 1], i + 2
            continue
        if arg.startswith("--cpu-repack="):
            repack = arg.split("=", 1)[1]
        else:
            rest.append(arg)
        i += 1
    if repack not in REPACK_CHOICES:
        raise SystemExit(f"--cpu-repack: {repack!r} is not one of {', '.join(REPACK_CHOICES)}")
    return repack, rest


def main() -> None:
    repack, rest = split_args(sys.argv[1:])
    from overlay.engine.llama import run_server

    run_server(rest, repack)


if __name__ == "__main__":
    main()
