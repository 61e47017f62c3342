from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import write
from vault_sync import Entry, Manifest, diff, file_checksum, scan_vault
from vault_sync.scan import is_ignored


def scan(root: Path, **kw):
    return scan_vault(root, **kw)


def test_scan_finds_notes_canvas_attachments_and_skips_hidden(vault: Path) -> None:
    write(vault, "a.md", "a")
    write(vault, "Папка/б.md", "b")
    write(vault, "map.canvas", "{}")
    write(vault, "img/pic.png", b"\x89PNG")
    write(vault, ".obsidian/workspace.md", "x")
    write(vault, ".trash/old.md", "x")
    write(vault, ".overlay/state.md", "x")
    result = scan(vault)
    assert sorted(result.notes) == ["a.md", "map.canvas", "Папка/б.md"]
    assert result.attachments == {"img/pic.png"}


@pytest.mark.parametrize(("rel", "globs", "ignored"), [
    ("Templates/t.md", ("Templates/",), True),
    ("Templates/sub/t.md", ("Templates/**",), True),
    ("Notes/x.excalidraw.md", ("*.excalidraw.md",), True),
    ("TemplatesX/t.md", ("Templates/",), False),
    ("a/.hidden/x.md", (), True),
])
def test_ignore_globs(rel: str, globs: tuple[str, ...], ignored: bool) -> None:
    assert is_ignored(rel, globs) is ignored


def test_symlink_loop_reported_not_followed_forever(vault: Path) -> None:
    write(vault, "sub/n.md", "n")
    os.symlink("..", vault / "sub" / "loop")
    result = scan(vault)
    assert sorted(result.notes) == ["sub/n.md"]
    assert any("symlink loop" in why for _, why in result.problems)


def test_symlinked_folder_followed_once(vault: Path, tmp_path: Path) -> None:
    write(tmp_path / "outside", "ext.md", "e")
    os.symlink(tmp_path / "outside", vault / "linked")
    assert "linked/ext.md" in scan(vault).notes


def test_broken_symlink_reported(vault: Path) -> None:
    os.symlink(vault / "missing.md", vault / "dangling.md")
    assert ("dangling.md", "broken symlink") in scan(vault).problems


def _entries(root: Path) -> dict[str, Entry]:
    result = scan(root)
    return {p: Entry(p, file_checksum(root / p), s.size, s.mtime_ns) for p, s in result.notes.items()}


def _diff(root: Path, known: dict[str, Entry]):
    return diff(scan(root).notes, known, lambda p: file_checksum(root / p))


def test_diff_new_modified_deleted_moved_unchanged(vault: Path) -> None:
    write(vault, "keep.md", "same")
    write(vault, "edit.md", "v1")
    write(vault, "gone.md", "bye")
    write(vault, "old/name.md", "moving content")
    known = _entries(vault)
    write(vault, "edit.md", "v2 longer")
    (vault / "gone.md").unlink()
    (vault / "new").mkdir()
    os.rename(vault / "old/name.md", vault / "new/name.md")
    write(vault, "fresh.md", "brand new")
    cs = _diff(vault, known)
    assert cs.new == ["fresh.md"]
    assert cs.modified == ["edit.md"]
    assert cs.deleted == ["gone.md"]
    assert cs.moved == [("old/name.md", "new/name.md")]
    assert cs.unchanged == ["keep.md"]
    assert sorted(cs.to_index) == ["edit.md", "fresh.md", "new/name.md"]


def test_touch_without_content_change_is_unchanged(vault: Path) -> None:
    path = write(vault, "a.md", "same")
    known = _entries(vault)
    os.utime(path, ns=(1, 1))
    cs = _diff(vault, known)
    assert cs.unchanged == ["a.md"] and cs.touched == ["a.md"] and not cs.modified


def test_fast_path_does_not_read_unchanged_files(vault: Path) -> None:
    write(vault, "a.md", "same")
    known = _entries(vault)

    def explode(_: str) -> str:
        raise AssertionError("read an unchanged file")

    assert diff(scan(vault).notes, known, explode).unchanged == ["a.md"]


def test_vanished_and_unreadable_during_diff(vault: Path) -> None:
    write(vault, "a.md", "a")
    write(vault, "b.md", "b")
    known = _entries(vault)
    write(vault, "a.md", "changed a")
    write(vault, "b.md", "changed b")

    def checksum(path: str) -> str:
        if path == "a.md":
            raise FileNotFoundError(path)
        raise PermissionError(13, "Permission denied")

    cs = diff(scan(vault).notes, known, checksum)
    assert cs.deleted == ["a.md"]
    assert cs.unreadable == {"b.md": "unreadable: Permission denied"}


def test_manifest_commit_is_one_transaction(tmp_path: Path) -> None:
    manifest = Manifest(tmp_path / "m.sqlite")
    manifest.commit([Entry("a.md", "c1", 1, 1, chunk_ids=("x", "y"))], [], {"k": {"v": 1}})
    bad = Entry("b.md", None, 1, 1)  # type: ignore[arg-type]  # NOT NULL checksum -> the batch fails
    with pytest.raises(Exception):  # noqa: B017
        manifest.commit([Entry("c.md", "c3", 1, 1), bad], ["a.md"])
    assert list(manifest.entries()) == ["a.md"]
    assert manifest.entries()["a.md"].chunk_ids == ("x", "y")
    assert manifest.meta("k") == {"v": 1}
    assert manifest.counts() == {"notes": 1, "skipped": 0, "chunks": 2}


def test_read_note_reports_each_unreadable_kind(vault: Path) -> None:
    from vault_sync import SkipFile, read_note

    (vault / "folder.md").mkdir()  # a name that looks like a note but cannot be read as one
    with pytest.raises(SkipFile, match="unreadable"):
        read_note(vault, "folder.md")
    write(vault, "big.md", "x" * 100)
    with pytest.raises(SkipFile, match="too large: 100 bytes > limit 10"):
        read_note(vault, "big.md", max_bytes=10)
    image = "data:image/png;base64," + "QUJD" * 1000
    prose = "Текст заметки. " * 20
    write(vault, "pictures.md", f"# Скрины\n![a]({image})\n{prose}\n")
    size, text = (vault / "pictures.md").stat().st_size, size_without(vault / "pictures.md", image)
    note, _ = read_note(vault, "pictures.md", max_bytes=text + 1)  # over the limit only by its inline image: read
    assert "Текст заметки." in note.body and "QUJD" not in note.body
    with pytest.raises(SkipFile, match=f"too large: {text:,} bytes besides inline images > limit {text - 1:,}"):
        read_note(vault, "pictures.md", max_bytes=text - 1)
    with pytest.raises(SkipFile, match=f"too large: {size:,} bytes > limit {size // 20:,}"):  # far beyond: unread
        read_note(vault, "pictures.md", max_bytes=size // 20)
    write(vault, "blank.md", "  \n\n ")
    with pytest.raises(SkipFile, match="empty file"):
        read_note(vault, "blank.md")
    with pytest.raises(FileNotFoundError):  # vanished: the caller treats it as deleted, not as skipped
        read_note(vault, "gone.md")
    write(vault, "bad.canvas", "[]")
    with pytest.raises(SkipFile, match="canvas: top level"):
        read_note(vault, "bad.canvas")
    write(vault, "ok.md", "\ufeff---\ntitle: BOM\n---\nтекст".encode())
    note, encoding = read_note(vault, "ok.md")
    assert encoding == "utf-8-sig" and note.title == "BOM"


def size_without(path: Path, part: str) -> int:
    return path.stat().st_size - len(part.encode())


def test_non_utf8_file_names_are_reported_not_fatal(vault: Path) -> None:
    write(vault, "ok.md", "fine")
    raw = os.fsencode(str(vault)) + b"/" + "Заметка".encode("cp1251") + b".md"
    with open(raw, "wb") as fh:
        fh.write(b"text")
    result = scan(vault)
    assert list(result.notes) == ["ok.md"]
    assert [why for _, why in result.problems] == ["file name is not valid UTF-8: rename the file to index it"]
