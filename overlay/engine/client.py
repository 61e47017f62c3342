"""The parent's side of the model worker (overlay.engine.worker): start it, keep it, talk to it, outlive it.

One worker per process (`shared_worker`), started on first use and kept with its models loaded between requests.
When it dies under a request, whatever killed it (SIGSEGV in llama.cpp, an abort, the OOM killer), the request
raises `WorkerDied` (an LLMError) saying what happened and what to do; the next request starts a fresh worker.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Iterator
from typing import IO, Any

from overlay.engine.deaths import WorkerDied, explain
from overlay.errors import LLMError

WORKER = [sys.executable, "-m", "overlay.engine.worker"]
LOG_LINES = 40


class ModelWorker:
    def __init__(self, command: list[str] | None = None) -> None:
        self.command = command or WORKER
        self.proc: subprocess.Popen[str] | None = None
        self.lock = threading.RLock()  # one request at a time: replies come back in order on one pipe
        self.log: deque[str] = deque(maxlen=LOG_LINES)  # the worker's stderr tail, quoted when it dies
        self.loaded: dict[str, tuple] = {}  # slot -> key of the model this worker process holds there
        self.starts = 0
        self._log_reader: threading.Thread | None = None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.alive and self.proc else None

    # ---- requests ---------------------------------------------------------------------------------------------
    def ensure_loaded(self, slot: str, key: tuple, settings: dict[str, Any], what: str) -> dict[str, Any]:
        """Load a model into `slot` unless this worker process already holds it; its description."""
        with self.lock:
            if self.alive and slot in self.loaded and self.loaded[slot][0] == key:
                return self.loaded[slot][1]
            self.loaded.pop(slot, None)  # the worker drops the slot's model first, also when the new one fails
            info = self.request({"op": "load", "slot": slot, "settings": settings}, f"loading {what}")["info"]
            self.loaded[slot] = (key, info)
            return info

    def request(self, request: dict[str, Any], stage: str) -> dict[str, Any]:
        with self.lock:
            self._send(request, stage)
            return self._reply(self._receive(stage))

    def stream(self, request: dict[str, Any], stage: str) -> Iterator[str]:
        """Text deltas as the worker sends them; the final reply is returned (StopIteration.value). A caller that
        stops early makes the worker stop too, and the final reply is still read, so the pipe stays in step."""
        with self.lock:
            self._send(request, stage)
            finished, streamed = False, 0
            try:
                while True:
                    reply = self._receive(f"{stage} ({streamed} pieces streamed)")
                    if "delta" not in reply:
                        finished = True
                        return self._reply(reply)
                    streamed += 1
                    yield reply["delta"]
            finally:
                if not finished and self.alive:
                    self._stop_and_drain(stage)

    def _stop_and_drain(self, stage: str) -> None:
        with contextlib.suppress(LLMError):
            self._send({"op": "stop"}, stage)
            while "delta" in self._receive(f"{stage}, stopping"):
                pass

    # ---- the process ------------------------------------------------------------------------------------------
    def start(self) -> None:
        self.close()
        self.proc = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, encoding="utf-8", errors="replace",
                                     bufsize=1)
        self.loaded, self.starts = {}, self.starts + 1
        self.log.clear()
        self._log_reader = threading.Thread(target=self._drain_log, args=(self.proc.stderr,), daemon=True)
        self._log_reader.start()

    def close(self) -> None:
        """End the worker: end of input asks it to finish; one that does not is killed."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        with contextlib.suppress(OSError):
            proc.stdin.close()  # type: ignore[union-attr]
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def _drain_log(self, stream: IO[str]) -> None:
        for line in stream:
            self.log.append(line.rstrip("\n"))

    def _send(self, request: dict[str, Any], stage: str) -> None:
        if not self.alive:
            self.start()
        try:
            self.proc.stdin.write(json.dumps(request, ensure_ascii=False) + "\n")  # type: ignore[union-attr]
            self.proc.stdin.flush()  # type: ignore[union-attr]
        except (BrokenPipeError, OSError):
            raise self._died(stage) from None

    def _receive(self, stage: str) -> dict[str, Any]:
        line = self.proc.stdout.readline() if self.proc else ""  # type: ignore[union-attr]
        if not line:
            raise self._died(stage)
        try:
            return json.loads(line)
        except ValueError:
            self._kill()
            raise LLMError(f"the model process sent something that is not a reply while {stage}: {line[:200]!r}",
                           hint="a fresh model process starts with the next request") from None

    @staticmethod
    def _reply(reply: dict[str, Any]) -> dict[str, Any]:
        if not reply.get("ok"):
            raise LLMError(reply.get("error") or "the model process refused the request", hint=reply.get("hint"))
        return reply

    def _died(self, stage: str) -> WorkerDied:
        proc, self.proc = self.proc, None
        code = None
        if proc is not None:
            try:
                code = proc.wait(timeout=10)
            except subprocess.TimeoutExpired:  # its output closed but it lingers: it is of no use any more
                proc.kill()
                code = proc.wait()
            proc.stdout.close()  # type: ignore[union-attr]
            if self._log_reader is not None:
                self._log_reader.join(timeout=2)  # its last words are the most telling
            with contextlib.suppress(OSError):
                proc.stdin.close()  # type: ignore[union-attr]
        self.loaded = {}
        return explain(code, stage, list(self.log))

    def _kill(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            proc.kill()
            proc.wait()
        self.loaded = {}


_shared: ModelWorker | None = None


def shared_worker() -> ModelWorker:
    """This process's model worker, ended when the process ends (it would end anyway: its input closes)."""
    global _shared
    if _shared is None:
        _shared = ModelWorker()
        atexit.register(_shared.close)
    return _shared
