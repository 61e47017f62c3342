"""File events from a vault, debounced into batches: editors save many times a second, so a batch is released only
once the vault has been quiet for `quiet_s` (or `max_wait_s` after its first event, so a constant trickle of saves
still gets indexed). A batch is a set of vault-relative paths; callers reconcile by scanning, so a missed or
coalesced event costs nothing but latency."""

from __future__ import annotations

import threading
import time
import warnings
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

# watchdog's inotify observer warns when a folder created inside the tree is registered twice (its own bookkeeping
# of new folders; the watch is simply replaced). Harmless, and it fired for every BM25 build in the state dir.
warnings.filterwarnings("ignore", message=r"Callback with id .* already exists", category=RuntimeWarning)


class DebouncedWatcher(FileSystemEventHandler):
    def __init__(self, root: Path, *, quiet_s: float = 0.4, max_wait_s: float = 3.0,
                 ignored_dirs: tuple[Path, ...] = ()) -> None:
        self.root = root.resolve()
        self.quiet_s, self.max_wait_s = quiet_s, max_wait_s
        self._ignored = tuple(p.resolve() for p in ignored_dirs)
        self._paths: set[str] = set()
        self._first = self._last = 0.0
        self._cond = threading.Condition()
        self._observer: BaseObserver = Observer()
        self.poll_s = 2.0
        self.fallback: str | None = None

    def start(self) -> None:
        """Native events (inotify, FSEvents, ...); where the OS refuses them — Linux's inotify watch limit on a
        vault with many folders, some network filesystems — polling instead, and `fallback` says why."""
        try:
            self._observer.schedule(self, str(self.root), recursive=True)
            self._observer.start()
        except OSError as exc:
            self._observer = PollingObserver(timeout=self.poll_s)
            self._observer.schedule(self, str(self.root), recursive=True)
            self._observer.start()
            self.fallback = f"native file events unavailable ({exc}); polling every {self.poll_s:g} s"

    def stop(self) -> None:
        self._observer.stop()
        self._observer.join(timeout=10)

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._paths)

    # ---- watchdog's side --------------------------------------------------------------------------------------
    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write") or (event.is_directory and event.event_type == "modified"):
            return
        paths = [p for p in (event.src_path, getattr(event, "dest_path", "")) if p]
        relative = [r for r in (self._relative(p) for p in paths) if r is not None]
        if not relative:
            return
        with self._cond:
            now = time.monotonic()
            if not self._paths:
                self._first = now
            self._paths.update(relative)
            self._last = now
            self._cond.notify_all()

    def _relative(self, raw: str | bytes) -> str | None:
        path = Path(raw.decode(errors="surrogateescape") if isinstance(raw, bytes) else raw)
        if any(path == d or d in path.parents for d in self._ignored):
            return None
        try:
            rel = path.relative_to(self.root)
        except ValueError:
            return None
        if any(part.startswith(".") for part in rel.parts):  # .obsidian, .trash, our temp files, the state dir
            return None
        return rel.as_posix()

    # ---- the consumer's side ----------------------------------------------------------------------------------
    def next_batch(self, timeout: float) -> set[str] | None:
        """The paths changed since the last batch once the vault is quiet; None when `timeout` passes first."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                now = time.monotonic()
                if self._paths:
                    ready_at = min(self._last + self.quiet_s, self._first + self.max_wait_s)
                    if now >= ready_at:
                        batch, self._paths = self._paths, set()
                        return batch
                    wait = min(ready_at, deadline) - now
                else:
                    wait = deadline - now
                if now >= deadline:
                    return None
                self._cond.wait(max(wait, 0.01))
