"""Atomic writes keep a replaced file's mode, give new files the umask's mode, and never overwrite when exclusive,
also where the filesystem has no hard links."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from vault_sync import FileExistsRefused, write_atomic
from vault_sync.atomic import new_file_mode


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_a_replaced_file_keeps_its_mode(tmp_path: Path, umask_022) -> None:
    note = tmp_path / "note.md"
    note.write_text("old")
    for wanted in (0o644, 0o664, 0o600, 0o755):
        note.chmod(wanted)
        write_atomic(note, "new")
        assert mode(note) == wanted and note.read_text() == "new"


@pytest.mark.parametrize("exclusive", [False, True])
def test_a_new_file_gets_the_umask_mode(tmp_path: Path, exclusive: bool) -> None:
    old = os.umask(0o027)
    try:
        assert new_file_mode() == 0o640
        write_atomic(tmp_path / "a.md", "x", exclusive=exclusive)
    finally:
        os.umask(old)
    assert mode(tmp_path / "a.md") == 0o640


def test_exclusive_never_overwrites(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("mine")
    with pytest.raises(FileExistsRefused):
        write_atomic(tmp_path / "a.md", "theirs", exclusive=True)
    assert (tmp_path / "a.md").read_text() == "mine"
    assert [p.name for p in tmp_path.iterdir()] == ["a.md"]  # no temp file left behind


@pytest.mark.parametrize("code", [errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV])
def test_exclusive_create_without_hard_links(tmp_path: Path, monkeypatch, umask_022, code: int) -> None:
    def no_links(*_args, **_kw):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "link", no_links)
    write_atomic(tmp_path / "a.md", "first", exclusive=True)
    assert (tmp_path / "a.md").read_text() == "first" and mode(tmp_path / "a.md") == 0o644
    with pytest.raises(FileExistsRefused):
        write_atomic(tmp_path / "a.md", "second", exclusive=True)
    assert (tmp_path / "a.md").read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.md"]


def test_other_link_errors_are_not_hidden(tmp_path: Path, monkeypatch) -> None:
    def full(*_args, **_kw):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "link", full)
    with pytest.raises(OSError, match="No space"):
        write_atomic(tmp_path / "a.md", "x", exclusive=True)
    assert list(tmp_path.iterdir()) == []
