"""The model worker: a child process that holds the loaded GGUF models and runs them, one request at a time.

    python -m overlay.engine.worker

The protocol is JSON lines (one object per line): requests on stdin, replies on the real stdout, which is moved
off fd 1 first so that anything native code prints lands on stderr instead of in the protocol. Requests carry an
`op` and, for model work, a `slot` ("llm", "embed", "rank", "vocab"; one loaded model per slot, so the answer
model, an embedding model, a reranker and a tokenizer can live in one process):

    {"op": "load", "slot": "llm", "settings": {...}}      -> {"ok": true, "info": {...}}
    {"op": "count", "slot": "llm", "text": "..."}         -> {"ok": true, "n": 12}   (also slot "vocab")
    {"op": "chat", "slot": "llm", "messages": [...], ...} -> {"delta": "..."} ... then {"ok": true, "usage": [p, c]}
    {"op": "embed", "slot": "embed", "texts": [...]}      -> {"ok": true, "vectors": [[...], ...]}
    {"op": "rank", "slot": "rank", "query": "...", "passages": [...]} -> {"ok": true, "scores": [...]}
    {"op": "stop"}                                          ends the chat in progress early (its final reply follows)
    {"op": "ping"}                                        -> {"ok": true, "pid": 123}

An error the worker can report is `{"ok": false, "error": ..., "hint": ...}` and the worker goes on; a crash ends
the process and the client (overlay.engine.client) explains it. End of stdin ends the worker: it never outlives
its parent.
"""

from __future__ import annotations

import json
import os
import queue
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol, TextIO

from overlay.errors import OverlayError


class ChatEngine(Protocol):
    usage: tuple[int, int]

    def describe(self) -> dict[str, Any]: ...

    def count_tokens(self, text: str) -> int: ...

    def stream(self, messages: list[dict[str, str]], *, max_tokens: int, temperature: float,
               repeat_penalty: float) -> Iterator[str]: ...

    def close(self) -> None: ...


Loader = Callable[[dict[str, Any]], Any]  # a ChatEngine, or an embedding (`embed`) or reranking (`rank`) engine


def load_llama(fields: dict[str, Any]) -> Any:
    """The real engines: settings fields in, a loaded llama.cpp model out — the chat model, or with `kind` "embed",
    "rank" or "vocab" the embedding or reranking model or the tokenizer alone of the GGUF at `path`."""
    from overlay.engine.llama import LlamaChat, LlamaEmbed, LlamaRank, Vocab, load_options, pooled_options
    from overlay.engine.models import model_file
    from overlay.settings import Settings

    fields = dict(fields)
    kind, path = fields.pop("kind", "chat"), fields.pop("path", None)
    settings = Settings(vault=Path("."), state_dir=Path("."), **fields)
    if kind == "chat":
        return LlamaChat(model_file(settings), load_options(settings))
    if kind == "vocab":
        return Vocab(Path(path))
    engine = {"embed": LlamaEmbed, "rank": LlamaRank}[kind]
    window = settings.embedding_window if kind == "embed" else 0
    return engine(Path(path), {**pooled_options(settings), "window": window})


class Worker:
    def __init__(self, loader: Loader, out: TextIO) -> None:
        self.loader, self.out = loader, out
        self.slots: dict[str, Any] = {}
        self.stop = threading.Event()

    def send(self, reply: dict[str, Any]) -> None:
        self.out.write(json.dumps(reply, ensure_ascii=False) + "\n")
        self.out.flush()

    def handle(self, request: dict[str, Any]) -> None:
        op = request.get("op")
        try:
            if op == "ping":
                self.send({"ok": True, "pid": os.getpid()})
            elif op == "load":
                self.send({"ok": True, "info": self._load(request["slot"], request["settings"])})
            elif op == "count":
                self.send({"ok": True, "n": self._engine(request).count_tokens(request["text"])})
            elif op == "chat":
                self._chat(request)
            elif op == "embed":
                self.send({"ok": True, "vectors": self._engine(request).embed(request["texts"])})
            elif op == "rank":
                self.send({"ok": True, "scores": self._engine(request).rank(request["query"], request["passages"])})
            else:
                self.send({"ok": False, "error": f"unknown op {op!r}", "hint": "client and worker differ in version"})
        except OverlayError as exc:
            self.send({"ok": False, "error": str(exc), "hint": exc.hint})
        except Exception as exc:  # a Python error in the engine: reported, and the worker serves the next request
            self.send({"ok": False, "error": f"{exc.__class__.__name__}: {exc}", "hint": None})

    def _load(self, slot: str, fields: dict[str, Any]) -> dict[str, Any]:
        old = self.slots.pop(slot, None)
        if old is not None:  # one model per slot: the old one's memory goes before the new one loads
            old.close()
        self.slots[slot] = self.loader(fields)
        return self.slots[slot].describe()

    def _engine(self, request: dict[str, Any]) -> Any:
        engine = self.slots.get(request.get("slot", "llm"))
        if engine is None:
            raise OverlayError(f"no model loaded in slot {request.get('slot')!r}")
        return engine

    def _chat(self, request: dict[str, Any]) -> None:
        engine = self._engine(request)
        self.stop.clear()
        deltas = engine.stream(request["messages"], max_tokens=request["max_tokens"],
                               temperature=request["temperature"], repeat_penalty=request.get("repeat_penalty", 1.0))
        try:
            for delta in deltas:
                self.send({"delta": delta})
                if self.stop.is_set():
                    break
        finally:
            deltas.close()  # the engine's own accounting (usage) runs now, also after a stop
        self.send({"ok": True, "usage": list(engine.usage)})


def serve(loader: Loader, inp: TextIO, out: TextIO) -> None:
    """Read requests until end of input; `stop` is seen by a reader thread while a chat streams."""
    worker = Worker(loader, out)
    requests: queue.Queue[dict[str, Any] | None] = queue.Queue()

    def read() -> None:
        for line in inp:
            if not line.strip():
                continue
            request = json.loads(line)
            if request.get("op") == "stop":
                worker.stop.set()
            else:
                requests.put(request)
        requests.put(None)

    threading.Thread(target=read, daemon=True).start()
    while (request := requests.get()) is not None:
        worker.handle(request)
    for engine in worker.slots.values():
        engine.close()


def protocol_channel() -> TextIO:
    """The real stdout for replies; fd 1 becomes stderr, so a native library's prints cannot corrupt the protocol."""
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return channel


def main(loader: Loader = load_llama) -> None:
    sys.stdin.reconfigure(encoding="utf-8")
    serve(loader, sys.stdin, protocol_channel())


if __name__ == "__main__":
    main()
