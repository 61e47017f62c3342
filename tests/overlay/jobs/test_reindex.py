"""`overlay reindex` on fakes: each kind of drift is found and repaired, and the audit note tells the truth."""

from __future__ import annotations

import re
from pathlib import Path

import frontmatter
import numpy as np
import pytest

from graph import LinkGraph
from overlay.index.bm25 import SparseIndex
from overlay.index.chunk_store import ChunkStore
from overlay.index.indexer import Indexer
from overlay.jobs.reindex import reindex
from tests.conftest import FakeIndex, write
from vault_sync import Manifest

NOTES = {
    "Сон.md": "# Сон\nВосемь часов сна. См. [[Тренировки]] и [[Нет такой]].\n",
    "Тренировки.md": "# Тренировки\n## Интервалы\nЧетыре по восемь минут, потом [[Сон]].\n",
    "A/Обзор.md": "# Обзор\nСписок.\n",
    "B/Обзор.md": "# Обзор\nДругой список.\n",
    "Ссылается.md": "# Ссылается\nНа [[Обзор]] — какой из двух?\n",
    "Одиночка.md": "# Одиночка\nНи ссылок, ни обратных ссылок.\n",
}


@pytest.fixture
def ix(vault: Path, fake_index) -> FakeIndex:
    for rel, text in NOTES.items():
        write(vault, rel, text)
    index = fake_index(vault)
    index.run()
    return index


def run(ix: FakeIndex, **kw):
    indexer = Indexer(ix.settings, embedder=ix.embedder, store_factory=lambda *_: ix.store)
    return reindex(ix.settings, indexer=indexer, **kw).as_dict()


def test_a_healthy_index_needs_nothing_and_the_json_has_its_shape(ix: FakeIndex) -> None:
    report = run(ix)
    assert set(report) >= {"checked", "repaired", "reembedded", "seconds", "report_note"}
    assert set(report["repaired"]) >= {"missing_chunks", "orphan_chunks", "graph_fixes"}
    assert not any(report["repaired"].values()) and report["reembedded"] == 0
    assert report["checked"]["notes"] == len(NOTES) and report["checked"]["chunks"] == report["checked"]["vectors"]


def test_orphan_and_missing_vectors_are_repaired_reembedding_only_what_is_gone(ix: FakeIndex) -> None:
    ix.store.add(["orphan-1"], np.ones((1, ix.embedder.dim), np.float32), [{"path": "Gone.md", "text_hash": "x"}])
    lost = [cid for cid, (_, meta) in ix.store.rows.items() if meta["path"] == "Тренировки.md"]
    ix.store.delete(lost)
    before = ix.embedder.embedded
    report = run(ix)
    assert report["repaired"]["orphan_chunks"] == 1 and report["repaired"]["missing_chunks"] == len(lost)
    assert report["reembedded"] == len(lost) == ix.embedder.embedded - before
    assert "orphan-1" not in ix.store.rows and all(cid in ix.store.rows for cid in lost)


def test_missing_and_orphan_chunk_texts_are_repaired(ix: FakeIndex) -> None:
    texts = ChunkStore(ix.settings.chunks_path)
    some = texts.ids_for_paths(["Сон.md"])["Сон.md"]
    texts.delete_ids(some)
    texts._db.execute("INSERT INTO chunks (id, path, heading, heading_path, ordinal, line, text, terms, answer) "
                      "VALUES ('stray', 'X.md', '', '', 0, 1, 'x', 'x', 0)")
    texts._db.commit()
    texts.close()
    report = run(ix)
    assert report["repaired"]["missing_texts"] == len(some) and report["repaired"]["orphan_texts"] == 1
    texts = ChunkStore(ix.settings.chunks_path)
    assert set(some) <= texts.all_ids() and "stray" not in texts.all_ids()
    assert SparseIndex.built_for_of(ix.settings.bm25_path) == texts.generation()  # BM25 follows the repair
    texts.close()


def test_stale_and_missing_graph_parts_are_fixed(ix: FakeIndex) -> None:
    graph = LinkGraph.load(ix.settings.graph_path)
    graph.g.remove_edges_from(list(graph.g.out_edges("Сон.md", keys=True)))
    graph.g.remove_node("Одиночка.md")
    graph.g.add_node("Призрак.md", kind="note", links=[])
    graph.save(ix.settings.graph_path)
    report = run(ix)
    assert report["repaired"]["graph_fixes"] == 3
    fixed = LinkGraph.load(ix.settings.graph_path)
    assert fixed.g.has_edge("Сон.md", "Тренировки.md") and fixed.g.has_node("Одиночка.md")
    assert not fixed.g.has_node("Призрак.md") and fixed.stale_sources() == []


def test_a_corrupt_manifest_is_moved_aside_and_rebuilt(ix: FakeIndex) -> None:
    ix.settings.manifest_path.write_bytes(b"this is not a sqlite database" * 100)
    report = run(ix)
    assert report["repaired"]["state_files_rebuilt"] == 1 and "manifest.sqlite" in report["messages"][0]
    assert list(ix.settings.state_dir.glob("manifest.sqlite.corrupt-*"))
    manifest = Manifest(ix.settings.manifest_path)
    assert manifest.counts()["notes"] == len(NOTES)
    manifest.close()
    assert report["reembedded"] == 0  # the vectors survived: reused by id


def test_full_reembeds_everything(ix: FakeIndex) -> None:
    before = ix.embedder.embedded
    report = run(ix, full=True)
    assert report["reembedded"] == report["checked"]["chunks"] > 0
    assert report["reembedded"] + report["note_vectors"] == ix.embedder.embedded - before
    assert report["note_vectors"] == len(NOTES)


def test_the_audit_note_lists_what_is_wrong_and_every_link_resolves(ix: FakeIndex) -> None:
    report = run(ix)
    path = ix.settings.vault / report["report_note"]
    text = path.read_text(encoding="utf-8")
    post = frontmatter.loads(text)
    assert post["type"] == "overlay-audit" and report["report_note"] == "Overlay/Vault audit.md"
    assert "`[[Нет такой]]` — в [[Сон]]" in text  # a dangling link, and where it is
    assert "[[Ссылается]] → [[A/Обзор]]" in text or "[[Ссылается]] → [[B/Обзор]]" in text  # ambiguous
    orphans = text.split("## Заметки-сироты", 1)[1].split("##", 1)[0]
    assert "[[Одиночка]]" in orphans and "[[Сон]]" not in orphans
    graph = LinkGraph.load(ix.settings.graph_path)
    for target in re.findall(r"(?<!`)\[\[([^\]]+)\]\]", text):
        if target.endswith(".svg"):  # a chart embedded beside the note (written after the index ran)
            assert (path.parent / target).is_file(), target
            continue
        assert graph.resolver.resolve(target, "Overlay/Vault audit.md").path, target
    run(ix)  # the audit note is not indexed (a report, rewritten nightly): the orphan stays an orphan
    manifest = Manifest(ix.settings.manifest_path)
    assert "Overlay/Vault audit.md" not in manifest.entries()
    manifest.close()
    again = path.read_text(encoding="utf-8").split("## Заметки-сироты", 1)[1].split("##", 1)[0]
    assert "[[Одиночка]]" in again


def test_a_note_of_the_users_own_is_never_overwritten_by_the_audit(ix: FakeIndex) -> None:
    mine = write(ix.settings.vault, "Overlay/Vault audit.md", "# My own notes\n")
    report = run(ix)
    assert report["report_note"] is None and any("user's own" in m for m in report["messages"])
    assert mine.read_text(encoding="utf-8") == "# My own notes\n"


def test_audit_note_can_be_switched_off(vault: Path, fake_index) -> None:
    write(vault, "A.md", "# A\n")
    ix = fake_index(vault, audit_note="")
    ix.run()
    assert run(ix)["report_note"] is None and not (vault / "Overlay").exists()


def test_a_users_note_with_broken_yaml_at_the_audit_path_is_left_alone(ix: FakeIndex) -> None:
    broken = "---\ntags: [a, b\n---\nмои записи\n"
    mine = write(ix.settings.vault, "Overlay/Vault audit.md", broken)
    report = run(ix)  # must not abort at the end
    assert report["report_note"] is None and mine.read_text(encoding="utf-8") == broken


def test_a_corrupt_database_goes_aside_with_its_journal_files(ix: FakeIndex) -> None:
    path = ix.settings.chunks_path
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).write_bytes(b"journal of the corrupt file")
    path.write_bytes(b"not sqlite" * 200)
    report = run(ix)
    assert report["repaired"]["state_files_rebuilt"] == 1
    aside = sorted(p.name for p in ix.settings.state_dir.glob("chunks.sqlite.corrupt-*"))
    assert len(aside) == 3 and aside[1].endswith("-shm") and aside[2].endswith("-wal")
    assert not path.with_name(path.name + "-wal").exists() or path.exists()  # no stray journal beside a new db
    texts = ChunkStore(path)
    assert texts.count() > 0  # rebuilt from the vault
    texts.close()
