"""A dead model worker, explained: what killed it, what it was doing, what to do; and the record of such deaths in
`<state>/engine.json`, which `overlay status` shows whichever process (CLI, watcher, server) owned the worker."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from overlay.errors import LLMError
from overlay.settings import Settings

MAX_RECORDED = 20
AMX_FIX = ("on a CPU with AMX (grep -o amx_int8 /proc/cpuinfo) llama.cpp's repacked weights crash: set "
           "cpu_repack = \"off\" in config.toml (or --set cpu_repack=off); `overlay doctor` runs a test "
           "generation. Already off: try another quantisation or n_gpu_layers, and report the log line to llama.cpp")
FIXES = {
    "SIGSEGV": AMX_FIX,
    "SIGBUS": "the model file changed or its disk went away while mapped; check model_path and run `overlay doctor`",
    "SIGILL": "this llama-cpp-python was built for another CPU: reinstall it on this machine (pip install "
              "--no-cache-dir --force-reinstall llama-cpp-python==0.3.36)",
    "SIGABRT": "llama.cpp stopped on a failed check (its last log line is quoted); `overlay doctor` checks the model",
    "SIGKILL": "killed from outside, most often by the kernel for lack of memory: a smaller quantisation, a lower "
               "n_ctx, or more layers on the GPU (n_gpu_layers)",
}


class WorkerDied(LLMError):
    """The model process ended under a request; the next request starts a fresh one."""

    def __init__(self, message: str, hint: str, record: dict[str, Any]) -> None:
        super().__init__(message, hint)
        self.record = record


def explain(returncode: int | None, stage: str, log_tail: list[str]) -> WorkerDied:
    cause = _cause(returncode)
    last = next((line for line in reversed(log_tail) if line.strip()), "")
    message = f"the model process died ({cause}) while {stage}"
    if last:
        message += f"; its last log line: {last.strip()[:300]}"
    fix = FIXES.get(cause.split(",")[0], "run `overlay doctor`; the next question starts a fresh model process")
    record = {"time": time.time(), "cause": cause, "stage": stage, "log": last.strip()[:300], "fix": fix}
    return WorkerDied(message, fix, record)


def _cause(returncode: int | None) -> str:
    if returncode is None:
        return "no exit status"
    if returncode < 0:
        try:
            return f"{signal.Signals(-returncode).name}, signal {-returncode}"
        except ValueError:
            return f"signal {-returncode}"
    return f"exit status {returncode}"


def owner() -> str:
    """Which face owned the worker, for `overlay status`: "overlay watch", "overlay serve", "pytest"."""
    args = [Path(sys.argv[0]).name, *sys.argv[1:2]] if sys.argv and sys.argv[0] else ["python"]
    return " ".join(args)


def record(settings: Settings, death: dict[str, Any], owner: str) -> None:
    """Keep the last deaths, newest last. Best effort: a state dir that cannot be written does not hide the error,
    which the caller raises anyway."""
    path = settings.state_dir / "engine.json"
    if not settings.state_dir.is_dir():
        return
    data = read(settings)
    data["deaths"] = [*data["deaths"], {**death, "owner": owner, "pid": os.getpid()}][-MAX_RECORDED:]
    data["total"] = data.get("total", 0) + 1
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)


def read(settings: Settings) -> dict[str, Any]:
    try:
        data = json.loads((settings.state_dir / "engine.json").read_text(encoding="utf-8"))
        return data if isinstance(data, dict) and isinstance(data.get("deaths"), list) else {"deaths": [], "total": 0}
    except (OSError, ValueError):
        return {"deaths": [], "total": 0}
