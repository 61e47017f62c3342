"""The debounced watcher: batches after quiet, ignores dot-folders, falls back to polling when the OS refuses."""

from __future__ import annotations

import time
from pathlib import Path

from vault_sync.watcher import DebouncedWatcher


def test_saves_are_batched_after_the_vault_is_quiet(tmp_path: Path) -> None:
    watcher = DebouncedWatcher(tmp_path, quiet_s=0.3)
    watcher.start()
    try:
        for i in range(5):
            (tmp_path / f"n{i}.md").write_text("x")
            (tmp_path / ".obsidian").mkdir(exist_ok=True)
            (tmp_path / ".obsidian" / "workspace.json").write_text(str(i))
            time.sleep(0.05)
        batch = watcher.next_batch(timeout=5)
        assert batch == {f"n{i}.md" for i in range(5)}
        assert watcher.next_batch(timeout=0.5) is None
    finally:
        watcher.stop()


def test_polling_takes_over_when_native_events_are_refused(tmp_path: Path, monkeypatch) -> None:
    watcher = DebouncedWatcher(tmp_path, quiet_s=0.2)
    watcher.poll_s = 0.2

    def refuse(*_args, **_kwargs):
        raise OSError(28, "inotify watch limit reached")

    monkeypatch.setattr(watcher._observer, "schedule", refuse)
    watcher.start()
    try:
        assert watcher.fallback and "polling" in watcher.fallback
        (tmp_path / "Заметка.md").write_text("x")
        assert watcher.next_batch(timeout=5) == {"Заметка.md"}
    finally:
        watcher.stop()
