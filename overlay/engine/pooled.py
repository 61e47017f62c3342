"""Embedding and reranking GGUFs, and a GGUF's tokenizer alone, in the model worker beside the answer model: the
parent's side.

They run where the answer model runs, for the same reason: llama.cpp can crash in ways Python cannot catch (on AMX
CPUs it did), and a crash must cost a process we restart, not the watcher or the server. A dead worker is recorded
for `overlay status` and raised as an error that says what happened; the next call starts a fresh worker and
loads the model again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from overlay.engine import deaths
from overlay.engine.client import ModelWorker, shared_worker
from overlay.errors import LLMError
from overlay.settings import Settings

LOAD_FIELDS = ("n_gpu_layers", "n_threads", "cpu_repack", "embedding_window")
MAX_TEXTS = 32  # per request: keeps one reply line (vectors as JSON) to a few hundred KB
SETTING = {"embed": "embedding_model", "rank": "rerank_model", "vocab": "--tokenizer"}  # where a bad path came from


class PooledModel:
    """`kind` "embed", "rank" or "vocab" (the tokenizer alone: `count`) for the GGUF at `path`; the slot is the
    kind."""

    def __init__(self, settings: Settings, kind: str, path: str, worker: ModelWorker | None = None) -> None:
        self.file = Path(path).expanduser()
        if not self.file.is_file():
            setting = SETTING[kind]
            raise LLMError(f"{setting}: no such GGUF file: {self.file}", hint=f"fix {setting} or unset it")
        self.settings, self.kind, self.slot = settings, kind, kind
        self.worker = worker or shared_worker()
        self.fields = {"kind": kind, "path": str(self.file.resolve()),
                       **{name: getattr(settings, name) for name in LOAD_FIELDS}}
        stat = self.file.stat()
        self.key = (stat.st_size, stat.st_mtime_ns, *sorted(map(str, self.fields.items())))
        self._call(lambda: None)  # loads it now: a bad file is a clear error before any work
        self.info: dict[str, Any] = self.worker.loaded[self.slot][1]

    def embed(self, texts: list[str]) -> list[list[float]]:
        out: list[list[float]] = []
        for i in range(0, len(texts), MAX_TEXTS):
            part = texts[i:i + MAX_TEXTS]
            out += self._call(lambda part=part: self.worker.request({"op": "embed", "slot": self.slot, "texts": part},
                                                                    f"embedding with {self.file.name}"))["vectors"]
        return out

    def rank(self, query: str, passages: list[str]) -> list[float]:
        reply = self._call(lambda: self.worker.request({"op": "rank", "slot": self.slot, "query": query,
                                                        "passages": passages}, f"reranking with {self.file.name}"))
        return [float(x) for x in reply["scores"]]

    def count(self, text: str) -> int:
        reply = self._call(lambda: self.worker.request({"op": "count", "slot": self.slot, "text": text},
                                                       f"counting tokens with {self.file.name}"))
        return int(reply["n"])

    def _call(self, fn) -> Any:
        try:
            self.worker.ensure_loaded(self.slot, self.key, self.fields, self.file.name)
            return fn()
        except deaths.WorkerDied as exc:
            deaths.record(self.settings, exc.record, owner=deaths.owner())
            raise
