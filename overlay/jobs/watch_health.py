"""The watcher's health, saved to `<state>/status.json` by `overlay watch` and read by `overlay status`."""

from __future__ import annotations

import json
import os
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from overlay.settings import Settings

MAX_ERRORS = 20


@dataclass
class Health:
    pid: int = field(default_factory=os.getpid)
    since: float = field(default_factory=time.time)
    running: bool = True
    last_batch: dict[str, Any] | None = None
    queue: int = 0
    answered: int = 0
    errors: deque = field(default_factory=lambda: deque(maxlen=MAX_ERRORS))

    def error(self, path: str, reason: str) -> None:
        self.errors.append({"time": time.time(), "path": path, "reason": reason})

    def as_dict(self) -> dict[str, Any]:
        return {"running": self.running, "pid": self.pid, "since": self.since, "last_batch": self.last_batch,
                "queue": self.queue, "answered": self.answered, "errors": list(self.errors)}


def read_health(settings: Settings) -> dict[str, Any]:
    """The watcher's last saved health; `running` only while its process is alive."""
    try:
        data = json.loads(settings.watcher_status_path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {"running": False, "pid": None, "since": None, "last_batch": None, "queue": 0, "answered": 0,
                "errors": []}
    if data.get("running") and not _alive(int(data.get("pid", 0))):
        data["running"] = False
        data["note"] = "the watcher stopped without saying so (killed?)"
    return data


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
