"""Work handed to a running watcher. `overlay watch` holds the writer lock for its whole life, so a nightly
`overlay reindex` cannot take it; instead it drops a request file in `<state>/requests/`, the watcher runs the job
between two batches (with its own warm indexer) and writes the result beside it, and the command prints that.

Files, each written atomically: `reindex-<id>.json` (the request) → renamed `…taken` by the watcher when it starts
→ `reindex-<id>.result.json` (the outcome). When the watcher stops or dies before answering, the command sees the
writer lock free, takes its request back and runs the job itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from overlay.errors import OverlayError
from overlay.lock import holder
from overlay.settings import Settings
from vault_sync import write_atomic

POLL_S = 0.5
MAX_WAIT_S = 6 * 3600.0


class HandoffError(OverlayError):
    hint = "`overlay status` shows the watcher and its last errors"


@dataclass(frozen=True)
class Request:
    id: str
    kind: str
    args: dict[str, Any]
    taken: Path  # where the claimed request lies while it runs


def submit(settings: Settings, kind: str, args: dict[str, Any], *, run_here: Callable[[], dict[str, Any]],
           max_wait_s: float = MAX_WAIT_S) -> tuple[dict[str, Any], str]:
    """Hand `kind` to the watcher and wait for its result; run it here (`run_here`) if no watcher takes it.
    Returns (result, "watcher" | "here")."""
    folder = settings.requests_dir
    folder.mkdir(parents=True, exist_ok=True)
    rid = f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
    request = folder / f"{kind}-{rid}.json"
    result = folder / f"{kind}-{rid}.result.json"
    taken = request.with_suffix(".taken")
    write_atomic(request, json.dumps({"kind": kind, "args": args, "pid": os.getpid(), "time": time.time()}))
    deadline = time.monotonic() + max_wait_s
    while time.monotonic() < deadline:
        if result.exists():
            data = json.loads(result.read_text(encoding="utf-8"))
            result.unlink(missing_ok=True)
            return data, "watcher"
        watcher_gone = (holder(settings.lock_path) or {}).get("command") != "watch"
        if watcher_gone and (_reclaim(request) or _reclaim(taken)):
            return run_here(), "here"
        time.sleep(POLL_S)
    _reclaim(request)
    raise HandoffError(f"the watcher did not finish the {kind} within {max_wait_s / 3600:.0f} h")


def _reclaim(path: Path) -> bool:
    try:
        path.unlink()
        return True
    except FileNotFoundError:
        return False


def pending(settings: Settings) -> Iterator[Request]:
    """Requests waiting for the watcher, oldest first, each claimed (renamed) before it is yielded."""
    folder = settings.requests_dir
    if not folder.is_dir():
        return
    for path in sorted(folder.glob("*.json")):
        if path.name.endswith(".result.json"):
            continue
        taken = path.with_suffix(".taken")
        try:
            os.rename(path, taken)
            data = json.loads(taken.read_text(encoding="utf-8"))
        except FileNotFoundError:
            continue  # its command took it back
        except (OSError, ValueError):
            data = {"kind": "?", "args": {}}
        kind, _, rid = path.stem.partition("-")
        yield Request(rid, str(data.get("kind", kind)), dict(data.get("args") or {}), taken)


def answer(settings: Settings, request: Request, result: dict[str, Any]) -> None:
    write_atomic(settings.requests_dir / f"{request.kind}-{request.id}.result.json",
                 json.dumps(result, ensure_ascii=False, default=str))
    with contextlib.suppress(FileNotFoundError):
        request.taken.unlink()


def stale_results(settings: Settings, older_than_s: float = 86400.0) -> None:
    """Results nobody collected (the command was killed) are removed after a day."""
    folder = settings.requests_dir
    if not folder.is_dir():
        return
    cutoff = time.time() - older_than_s
    for path in folder.glob("*.result.json"):
        with contextlib.suppress(OSError):
            if path.stat().st_mtime < cutoff:
                path.unlink()
