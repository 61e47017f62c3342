from __future__ import annotations

import dataclasses
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from graph import LinkGraph
from overlay.errors import IndexLocked
from overlay.lock import writer_lock
from tests.conftest import FakeIndex, write
from tests.fakes import HashEmbedder
from vault_sync import Manifest


def snapshot(ix: FakeIndex) -> dict:
    """Everything the index holds, in a comparable form."""
    manifest = Manifest(ix.settings.manifest_path)
    entries = manifest.entries()
    manifest.close()
    graph = LinkGraph.load(ix.settings.graph_path)
    texts = sqlite3.connect(ix.settings.chunks_path)
    text_ids = sorted(r[0] for r in texts.execute("SELECT id FROM chunks"))
    texts.close()
    return {
        "store_ids": sorted(ix.store.rows),
        "text_ids": text_ids,
        "store_paths": ix.store.paths(),
        "manifest": sorted((e.path, e.status, e.checksum, tuple(sorted(e.chunk_ids))) for e in entries.values()),
        "graph_nodes": sorted(graph.g.nodes),
        "graph_edges": sorted((s, t, k) for s, t, k in graph.g.edges(keys=True)),
    }


def assert_consistent(ix: FakeIndex) -> None:
    snap = snapshot(ix)
    manifest_ids = sorted(cid for *_, ids in snap["manifest"] for cid in ids)
    assert manifest_ids == snap["store_ids"] == snap["text_ids"], "manifest, vectors and texts disagree"
    ok_paths = {p for p, status, *_ in snap["manifest"] if status == "ok"}
    assert set(snap["store_paths"]) <= ok_paths


def test_full_index_of_the_example_vault(example_vault: Path, fake_index) -> None:
    ix = fake_index(example_vault)
    report = ix.run()
    notes = [p for p in example_vault.rglob("*") if p.suffix in (".md", ".canvas") and ".obsidian" not in p.parts]
    assert report.new == report.notes == len(notes) >= 25
    assert report.skipped == []
    assert report.chunks == ix.store.count() == report.embedded
    reasons = {w["path"]: w["reason"] for w in report.warnings}
    assert "frontmatter: invalid YAML" in reasons["Daily/2025-07-21.md"]
    assert "mojibake repaired" in reasons["Чаты/2025-06-30 Первый запуск.md"]
    assert "cp1251" in reasons["Inbox/Старая заметка.md"]
    assert_consistent(ix)
    graph = LinkGraph.load(ix.settings.graph_path)
    assert graph.stats()["unresolved_links"] >= 1
    assert {"LLM/Обзор.md", "Projects/Overlay project.md", "LLM/LoRA дообучение.md"} <= set(
        graph.backlinks("LLM/Qwen3.md"))


def test_no_change_run_loads_no_engine(example_vault: Path, fake_index) -> None:
    from overlay.index.indexer import Indexer

    ix = fake_index(example_vault)
    first = ix.run()

    def boom(*_):
        raise AssertionError("a no-change run must not open the store")

    report = Indexer(ix.settings, embedder=HashEmbedder(), store_factory=boom).run()
    assert (report.new, report.modified, report.deleted, report.moved, report.embedded) == (0, 0, 0, 0, 0)
    assert report.unchanged == first.notes
    assert report.notes == first.notes and report.chunks == first.chunks


def test_edit_reembeds_only_the_changed_section(vault: Path, fake_index) -> None:
    write(vault, "a.md", "# One\nfirst\n# Two\nsecond\n# Three\nthird")
    write(vault, "b.md", "other")
    ix = fake_index(vault)
    ix.run()
    before = set(ix.store.rows)
    write(vault, "a.md", "# One\nfirst\n# Two\nsecond, now edited\n# Three\nthird")
    report = ix.run()
    assert (report.modified, report.embedded, report.unchanged) == (1, 1, 1)
    assert len(before - set(ix.store.rows)) == 1 and len(set(ix.store.rows) - before) == 1
    assert_consistent(ix)


def test_an_edit_that_changes_no_link_leaves_graph_json_alone_and_a_failed_save_is_retried(
        vault: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The watcher's warm Indexer: rewriting a 10,000-note graph.json cost 0.2 s of every one-note edit, though
    most edits change no link, title, alias or tag. A graph change that could not be saved is saved next run."""
    from overlay.index.indexer import Indexer
    from overlay.settings import load_settings
    from tests.fakes import MemoryStore

    write(vault, "a.md", "# A\nfirst [[b]] #t")
    write(vault, "b.md", "b")
    store, embedder = MemoryStore(), HashEmbedder()
    ix = Indexer(load_settings(vault), embedder=embedder, store_factory=lambda *_: store)
    ix.run()
    graph_file = ix.settings.graph_path
    saved = graph_file.stat().st_mtime_ns, graph_file.stat().st_ino
    write(vault, "a.md", "# A\nfirst [[b]] #t, and a new sentence")
    assert ix.run().modified == 1
    assert (graph_file.stat().st_mtime_ns, graph_file.stat().st_ino) == saved
    real_save = LinkGraph.save
    monkeypatch.setattr(LinkGraph, "save", lambda *_: (_ for _ in ()).throw(OSError(28, "No space left")))
    write(vault, "a.md", "# A\nfirst [[b]] [[c]] #t")
    with pytest.raises(OSError):
        ix.run()
    monkeypatch.setattr(LinkGraph, "save", real_save)
    ix.run()  # the replay: the in-memory graph already holds the change, and is saved now
    assert "unresolved:c" in LinkGraph.load(graph_file).g
    assert LinkGraph.load(graph_file).stats() == ix.graph.stats()
    write(vault, "a.md", "# A\nfirst [[b]] #t")  # the link goes again: saved
    ix.run()
    assert "unresolved:c" not in LinkGraph.load(graph_file).g
    clean = FakeIndex(dataclasses.replace(ix.settings, state_dir=vault.parent / "clean"))
    clean.run()  # graph.json equals a graph built from the vault from scratch
    assert snapshot(clean)["graph_edges"] == sorted(LinkGraph.load(graph_file).g.edges(keys=True))


def test_a_manifest_started_afresh_beside_graph_json_still_records_the_graph_stats(vault: Path, fake_index) -> None:
    """graph.json is not rewritten when the graph is unchanged, but `overlay status` reads its counts from the
    manifest: a new manifest (deleted by hand) must get them again."""
    write(vault, "a.md", "[[b]] [[gap]] #t")
    write(vault, "b.md", "b")
    ix = fake_index(vault)
    ix.run()
    ix.settings.manifest_path.unlink()
    ix.run()
    manifest = Manifest(ix.settings.manifest_path)
    stats = manifest.meta("graph_stats")
    manifest.close()
    assert stats == LinkGraph.load(ix.settings.graph_path).stats() and stats["links"] == 2


def test_add_delete_and_moves_leave_exact_contents(vault: Path, fake_index) -> None:
    write(vault, "keep.md", "[[gone]] [[Moved note]]")
    write(vault, "gone.md", "bye")
    write(vault, "old/Moved note.md", "# Section\ncontent that moves")
    write(vault, "renamed.md", "# S\nrename me")
    ix = fake_index(vault)
    ix.run()
    (vault / "gone.md").unlink()
    (vault / "new").mkdir()
    os.rename(vault / "old/Moved note.md", vault / "new/Moved note.md")
    os.rename(vault / "renamed.md", vault / "Новое имя.md")
    write(vault, "added.md", "fresh")
    report = ix.run()
    assert (report.new, report.deleted, report.moved) == (1, 1, 2)
    assert report.reused == 1  # the folder move kept its text, so its vector was reused
    assert report.embedded == 2  # the renamed note's title (part of its text) changed; plus the new note
    assert set(ix.store.paths()) == {"keep.md", "new/Moved note.md", "Новое имя.md", "added.md"}
    graph = LinkGraph.load(ix.settings.graph_path)
    assert set(graph.notes()) == {"keep.md", "new/Moved note.md", "Новое имя.md", "added.md"}
    assert graph.outlinks("keep.md") == ["new/Moved note.md"]  # resolved by name after the move
    assert "unresolved:gone" in graph.g
    assert_consistent(ix)
    fresh = FakeIndex(ix.settings.__class__(**{**ix.settings.__dict__, "state_dir": vault.parent / "clean"}))
    fresh.run()
    assert snapshot(fresh)["store_ids"] == snapshot(ix)["store_ids"]


def test_crash_before_manifest_commit_replays_without_duplicates(vault: Path, fake_index,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(5):
        write(vault, f"n{i}.md", f"# H\nnote {i} [[n{(i + 1) % 5}]]")
    ix = fake_index(vault)
    ix.run()
    write(vault, "n0.md", "# H\nnote 0 edited")
    write(vault, "n9.md", "# H\nbrand new")
    (vault / "n4.md").unlink()
    real_commit = Manifest.commit

    def crash(self, *args, **kwargs):
        raise KeyboardInterrupt("killed between embedding and manifest commit")

    monkeypatch.setattr(Manifest, "commit", crash)
    with pytest.raises(KeyboardInterrupt):
        ix.run()
    monkeypatch.setattr(Manifest, "commit", real_commit)
    embedded_before = ix.embedder.embedded
    report = ix.run()  # the replay: MemoryStore raises on any duplicate id
    # no chunk re-embedded (the crashed run's vectors were kept); only the note vectors it never reached
    assert report.embedded == 0 and ix.embedder.embedded - embedded_before == report.note_vectors
    assert (report.new, report.modified, report.deleted) == (1, 1, 1)
    assert_consistent(ix)
    clean = FakeIndex(ix.settings.__class__(**{**ix.settings.__dict__, "state_dir": vault.parent / "clean"}))
    clean.run()
    assert snapshot(clean) == snapshot(ix)


def test_bad_files_are_skipped_with_reasons_and_the_run_goes_on(vault: Path, fake_index) -> None:
    write(vault, "good.md", "fine [[empty]]")
    write(vault, "empty.md", "")
    write(vault, "junk.md", b"\x00\x01\x02binary")
    write(vault, "big.md", "x" * 5000)
    write(vault, "bad.canvas", "{oops")
    ix = fake_index(vault, max_file_bytes=4096)
    report = ix.run()
    reasons = {s["path"]: s["reason"] for s in report.skipped}
    assert reasons.keys() == {"empty.md", "junk.md", "big.md", "bad.canvas"}
    assert "empty" in reasons["empty.md"] and "binary" in reasons["junk.md"]
    assert "too large" in reasons["big.md"] and "canvas" in reasons["bad.canvas"]
    assert report.notes == 1 and set(ix.store.paths()) == {"good.md"}
    graph = LinkGraph.load(ix.settings.graph_path)
    assert graph.outlinks("good.md") == ["empty.md"]  # a skipped file still exists for link resolution
    write(vault, "good.md", "")  # a note emptied later loses its chunks
    ix.run()
    assert ix.store.count() == 0
    assert_consistent(ix)


def test_corrupt_graph_file_is_rebuilt_with_a_warning(vault: Path, fake_index) -> None:
    write(vault, "a.md", "[[b]]")
    write(vault, "b.md", "x")
    ix = fake_index(vault)
    ix.run()
    good = snapshot(ix)
    ix.settings.graph_path.write_text('{"version": 1, "graph": {trunc')
    write(vault, "c.md", "new")
    report = ix.run()
    assert any("rebuilt" in w["reason"] for w in report.warnings)
    assert set(snapshot(ix)["graph_edges"]) >= set(good["graph_edges"])


def test_model_change_reembeds_into_a_new_collection(vault: Path, fake_index) -> None:
    write(vault, "a.md", "text")
    ix = fake_index(vault)
    ix.run()

    class Other(HashEmbedder):
        name = "other-model"

    ix.embedder = Other()
    ix.store = type(ix.store)()
    report = ix.run()
    assert report.modified == 1 and report.embedded == 1 and ix.store.count() == 1


def test_writer_lock_refuses_a_second_writer(vault: Path, fake_index) -> None:
    write(vault, "a.md", "x")
    ix = fake_index(vault)
    with writer_lock(ix.settings.lock_path, "watch"), pytest.raises(IndexLocked, match="overlay watch"):
        ix.run()
    ix.run()  # released


def test_state_dir_inside_vault_is_never_indexed(vault: Path, fake_index) -> None:
    write(vault, "a.md", "x")
    ix = fake_index(vault)
    ix.run()
    shutil.copy(vault / "a.md", ix.settings.state_dir / "copy.md")
    assert ix.run().new == 0


def test_an_index_from_an_older_parser_is_reparsed_once_without_reembedding(vault, fake_index) -> None:
    from vault_sync import Manifest

    write(vault, "A.md", "# A\nsee [the other](B)\n")
    write(vault, "B.md", "# B\ntext\n")
    ix = fake_index(vault)
    ix.run()
    manifest = Manifest(ix.settings.manifest_path)
    manifest.commit([], [], {"index_version": "p1"})  # as an older overlay left it
    manifest.close()
    embedded = ix.embedder.embedded
    report = ix.run()
    assert report.modified == 2 and ix.embedder.embedded == embedded  # re-read, vectors kept by chunk id
    assert report.reread.startswith("the index was written by another overlay version") and "(p1 → p" in report.reread
    again = ix.run()
    assert again.modified == 0 and again.reread == ""  # once


def test_inline_images_are_not_chunked_embedded_or_stemmed_and_the_note_stays_findable(vault: Path,
                                                                                         fake_index) -> None:
    """A pasted screenshot as a data URI (real vaults have hundreds of KB of them in one line) must not become
    hundreds of chunks of base64: the note is indexed by its words and the skipped span is a warning."""
    import base64
    import os

    image = base64.b64encode(os.urandom(300_000)).decode()
    write(vault, "Киневин.md", f"# Киневин\nМодель квазиуникальных решений.\n\n![скрин](data:image/png;base64,{image})"
                               f"\n\nСложные системы требуют экспериментов.\n")
    write(vault, "Другая.md", "# Другая\nПро сон.\n")
    ix = fake_index(vault)
    report = ix.run()
    assert report.chunks == ix.store.count() <= 3
    assert not ix.retriever().search(image[:40], 3, mode="sparse")  # no base64 stems
    reasons = {w["path"]: w["reason"] for w in report.warnings}
    assert reasons["Киневин.md"] == "not prose, not indexed: 1 data URI (391 KB) at line 4"
    hits = ix.retriever().search("квазиуникальных решений", 3, mode="sparse")
    assert hits and hits[0].path == "Киневин.md"
