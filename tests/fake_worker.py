"""A model worker without a model, for tests: the real protocol loop (overlay.engine.worker.serve) over a scripted
engine. It can die the way llama.cpp does on an AMX CPU, once, in the middle of a reply:

    python tests/fake_worker.py --reply "Восемь часов сна [^1]." --crash-once MARKER --crash-after 2 --signal SIGSEGV

While the file MARKER exists, the next reply kills the process with the signal after `--crash-after` words (or at
load with `--crash-at load`) and removes MARKER first, so the fresh worker the client starts next answers.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from overlay.engine import worker


class ScriptedChat:
    def __init__(self, args: argparse.Namespace, fields: dict[str, Any]) -> None:
        self.args, self.fields = args, fields
        self.usage = (0, 0)

    def describe(self) -> dict[str, Any]:
        return {"name": "fake.gguf", "n_ctx": int(self.fields.get("n_ctx", 4096)), "options": {"fake": True},
                "adapter": None}

    def count_tokens(self, text: str) -> int:
        if "boom" in text:
            raise ValueError("a Python error inside the engine")
        return len(text.split())

    def stream(self, messages: list[dict[str, str]], *, max_tokens: int, temperature: float,
               repeat_penalty: float) -> Iterator[str]:
        words = re.findall(r"\S+\s*", self.args.reply)[:max_tokens]
        sent = 0
        try:
            for word in words:
                if sent == self.args.crash_after and self.args.crash_at == "stream":
                    die(self.args)
                sent += 1
                yield word
        finally:
            self.usage = (sum(len(m["content"].split()) for m in messages), sent)

    def close(self) -> None:
        pass


class ScriptedPooled:
    """An embedding ("embed") or reranking ("rank") model or a tokenizer ("vocab"): word-hash vectors, word-overlap
    scores, word counts; `--crash-at pooled` kills it at its first request."""

    def __init__(self, args: argparse.Namespace, fields: dict[str, Any]) -> None:
        self.args, self.kind = args, fields["kind"]

    def describe(self) -> dict[str, Any]:
        return {"name": "fake-pooled.gguf", "dim": 8, "n_ctx": 512, "pooling": 1 if self.kind == "embed" else 4}

    def embed(self, texts: list[str]) -> list[list[float]]:
        if self.args.crash_at == "pooled":
            die(self.args)
        return [[float(sum(map(ord, w)) % 7 == i) + 0.01 for i in range(8) for w in t.split()[:1]] for t in texts]

    def count_tokens(self, text: str) -> int:  # "vocab": a tokenizer alone
        if self.args.crash_at == "pooled":
            die(self.args)
        return len(text.split())

    def rank(self, query: str, passages: list[str]) -> list[float]:
        if self.args.crash_at == "pooled":
            die(self.args)
        asked = set(query.lower().split())
        return [float(len(asked & set(p.lower().split()))) for p in passages]

    def close(self) -> None:
        pass


def die(args: argparse.Namespace) -> None:
    marker = Path(args.crash_once) if args.crash_once else None
    if marker is not None and marker.exists():
        marker.unlink()
        print("ggml_backend_amx_mul_mat: pretending to crash", file=sys.stderr, flush=True)
        os.kill(os.getpid(), getattr(signal, args.signal))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reply", default="Восемь часов сна [^1].")
    parser.add_argument("--crash-once", default=None)
    parser.add_argument("--crash-after", type=int, default=2)
    parser.add_argument("--crash-at", choices=("stream", "load", "pooled"), default="stream")
    parser.add_argument("--signal", default="SIGSEGV")
    args = parser.parse_args()

    def load(fields: dict[str, Any]) -> ScriptedChat | ScriptedPooled:
        if args.crash_at == "load":
            die(args)
        return ScriptedPooled(args, fields) if fields.get("kind", "chat") != "chat" else ScriptedChat(args, fields)

    worker.main(load)


if __name__ == "__main__":
    main()
