"""A GGUF answer model run by llama-cpp-python in the model worker process (overlay.engine).

The model is loaded once per worker and kept: a watcher answering many questions, or `ask` with a revision pass,
must not reload gigabytes. If the worker dies (a native crash, the OOM killer) the call raises an LLMError that
says what happened and how to fix it, the death is recorded for `overlay status`, and the next call starts a
fresh worker and loads the model again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from overlay.answer.llm import Message, Usage
from overlay.engine import deaths
from overlay.engine.client import ModelWorker, shared_worker
from overlay.engine.models import model_file
from overlay.settings import Settings

# The settings that decide what the worker loads (sampling settings travel with each request instead).
LOAD_FIELDS = ("model_path", "n_ctx", "n_gpu_layers", "n_threads", "flash_attn", "cpu_repack", "lora_path",
               "lora_scale", "chat_format")
SLOT = "llm"
T = TypeVar("T")


class WorkerLLM:
    _shared: ClassVar[dict[tuple, WorkerLLM]] = {}

    def __init__(self, settings: Settings, worker: ModelWorker | None = None) -> None:
        self.settings = settings
        self.worker = worker or shared_worker()
        path = model_file(settings)  # a missing file is a clear error here, before any process starts
        self.fields = {name: getattr(settings, name) for name in LOAD_FIELDS}
        self.key = load_key(path, self.fields)
        self.name = path.name
        self.usage = Usage()
        self.repeat_penalty = settings.repeat_penalty
        self.info = self._load()
        self.n_ctx = int(self.info["n_ctx"])

    @classmethod
    def shared(cls, settings: Settings) -> WorkerLLM:
        key = load_key(model_file(settings), {name: getattr(settings, name) for name in LOAD_FIELDS})
        if key not in cls._shared:
            cls._shared[key] = cls(settings)
        llm = cls._shared[key]
        llm.repeat_penalty = settings.repeat_penalty  # sampling, not loading: may change between calls
        return llm

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.info.get("options", {}))

    @property
    def adapter(self) -> dict[str, Any] | None:
        return self.info.get("adapter")

    def count_tokens(self, text: str) -> int:
        return int(self._call(lambda: self.worker.request({"op": "count", "slot": SLOT, "text": text},
                                                          "counting tokens"))["n"])

    def stream(self, messages: list[Message], *, max_tokens: int, temperature: float) -> Iterator[str]:
        self.usage = Usage()
        self.info = self._load()
        request = {"op": "chat", "slot": SLOT, "messages": messages, "max_tokens": max_tokens,
                   "temperature": temperature, "repeat_penalty": self.repeat_penalty}
        try:
            final = yield from self.worker.stream(request, f"generating with {self.name}")
        except deaths.WorkerDied as exc:
            self._record(exc)
            raise
        if final is not None:
            self.usage = Usage(*final["usage"])

    def _load(self) -> dict[str, Any]:
        return self._call(lambda: self.worker.ensure_loaded(SLOT, self.key, self.fields, self.name))

    def _call(self, fn: Callable[[], T]) -> T:
        """Run one request; a dead worker is recorded and raised. The model is (re)loaded first when the worker
        process is new (the last one died) or holds another model (two settings sharing one worker)."""
        try:
            self.worker.ensure_loaded(SLOT, self.key, self.fields, self.name)
            return fn()
        except deaths.WorkerDied as exc:
            self._record(exc)
            raise

    def _record(self, exc: deaths.WorkerDied) -> None:
        deaths.record(self.settings, exc.record, owner=deaths.owner())


def load_key(path: Path, fields: dict[str, Any]) -> tuple:
    """What makes two loads the same: the model file and the load settings; a rebuilt adapter (new mtime) differs."""
    stamp = None
    if fields.get("lora_path"):
        adapter = Path(fields["lora_path"]).expanduser()
        stamp = adapter.stat().st_mtime_ns if adapter.is_file() else None
    return (str(path.resolve()), stamp, *sorted((k, str(v)) for k, v in fields.items()))
