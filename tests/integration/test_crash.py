"""Crash safety: `overlay index` SIGKILLed at 20 points (embedding, Chroma upsert, chunk texts, graph save, manifest
commit; on a first index and on an update), then `overlay reindex`; the state must equal a clean index of the same
vault: same notes, same chunk ids everywhere, no duplicates, same graph. Real Chroma, hash embedder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.synth import make_vault
from tests.conftest import EXAMPLE_VAULT, write

pytestmark = pytest.mark.integration
RUNNER = Path(__file__).with_name("crashrun.py")
FIRST_INDEX = ["embed:1", "embed:2", "embed:3", "upsert:1", "upsert:2", "upsert:3", "texts:1", "texts:3", "graph:1",
               "manifest:1"]
UPDATE = ["embed:1", "embed:2", "upsert:1", "upsert:2", "texts:1", "texts:2", "delete:1", "delete:2", "graph:1",
          "manifest:1"]


def overlay(vault: Path, state: Path, *args: str, crash: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "OVERLAY_STATE_DIR": str(state), "ANONYMIZED_TELEMETRY": "False", "HF_HUB_OFFLINE": "1",
           "OVERLAY_AUDIT_NOTE": ""}  # the audit note would change the vault the clean index is compared on
    cmd = [sys.executable, str(RUNNER), *(["--crash", crash] if crash else []), *args, "--vault", str(vault)]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, check=False)


def snapshot(state: Path) -> dict[str, object]:
    """Everything in the state that must match a clean index, read without any overlay process holding it."""
    import sqlite3

    import chromadb

    db = sqlite3.connect(state / "manifest.sqlite")
    manifest = {p: (c, s, tuple(json.loads(ids))) for p, c, s, ids in
                db.execute("SELECT path, checksum, status, chunk_ids FROM files")}
    db.close()
    db = sqlite3.connect(state / "chunks.sqlite")
    texts = sorted(r[0] for r in db.execute("SELECT id FROM chunks"))
    db.close()
    client = chromadb.PersistentClient(path=str(state / "chroma"),
                                       settings=chromadb.config.Settings(anonymized_telemetry=False))
    names = sorted(c if isinstance(c, str) else c.name for c in client.list_collections())
    (chunks,) = [n for n in names if n.startswith("chunks-")]
    vectors = client.get_collection(chunks).get(include=[])["ids"]
    notes = [n for n in names if n.startswith("notes-")]
    note_vectors = sorted(m["path"] for m in client.get_collection(notes[0]).get(include=["metadatas"])["metadatas"]) \
        if notes else []
    graph = json.loads((state / "graph.json").read_bytes())
    nodes = sorted(n["id"] for n in graph["graph"]["nodes"])
    edges = sorted((e["source"], e["target"], e["key"], e.get("count", 1)) for e in graph["graph"]["edges"])
    chunk_ids = sorted(c for _, _, ids in manifest.values() for c in ids)
    return {"manifest": manifest, "texts": texts, "vectors": sorted(vectors), "dupes": len(vectors) - len(set(vectors)),
            "chunk_ids": chunk_ids, "nodes": nodes, "edges": edges, "note_vectors": note_vectors}


def update_vault(vault: Path) -> None:
    notes = sorted(vault.rglob("*.md"))
    for path in notes[:150]:  # two batches of the indexer
        path.write_bytes(path.read_bytes() + "\nДобавлено после сбоя.\n".encode())
    for path in notes[10:13]:
        path.unlink()
    for i in range(5):
        write(vault, f"Новые/Заметка {i}.md", f"# Новая {i}\nСсылка на [[{notes[20].stem}]].\n")
    os.rename(notes[30], vault / "Новые" / notes[30].name)


@pytest.fixture(scope="module")
def vault(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("crash") / "vault"
    shutil.copytree(EXAMPLE_VAULT, root, ignore=shutil.ignore_patterns(".overlay", "Overlay"))
    make_vault(root / "Synth", 300)
    shutil.rmtree(root / "Synth" / ".obsidian", ignore_errors=True)
    return root


def _clean(vault: Path, state: Path) -> dict[str, object]:
    done = overlay(vault, state, "index")
    assert done.returncode == 0, done.stderr
    return snapshot(state)


@pytest.mark.parametrize("point", FIRST_INDEX)
def test_kill_during_first_index_then_reindex_equals_clean(vault: Path, tmp_path: Path, point: str) -> None:
    crashed = overlay(vault, tmp_path / "state", "index", crash=point)
    assert crashed.returncode == -9, (point, crashed.returncode, crashed.stderr[-2000:])
    repaired = overlay(vault, tmp_path / "state", "reindex", "--json")
    assert repaired.returncode == 0, repaired.stderr[-2000:]
    assert snapshot(tmp_path / "state") == _clean(vault, tmp_path / "clean")


@pytest.mark.parametrize("point", UPDATE)
def test_kill_during_an_update_then_reindex_equals_clean(vault: Path, tmp_path: Path, point: str) -> None:
    mine = tmp_path / "vault"
    shutil.copytree(vault, mine)
    assert overlay(mine, tmp_path / "state", "index").returncode == 0
    update_vault(mine)
    crashed = overlay(mine, tmp_path / "state", "index", crash=point)
    assert crashed.returncode == -9, (point, crashed.returncode, crashed.stderr[-2000:])
    repaired = overlay(mine, tmp_path / "state", "reindex", "--json")
    assert repaired.returncode == 0, repaired.stderr[-2000:]
    assert snapshot(tmp_path / "state") == _clean(mine, tmp_path / "clean")


def test_truncated_graph_and_deleted_chroma_are_rebuilt_with_a_message(vault: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    assert overlay(vault, state, "index").returncode == 0
    graph = (state / "graph.json").read_bytes()
    (state / "graph.json").write_bytes(graph[: len(graph) // 3])
    shutil.rmtree(state / "chroma")
    done = overlay(vault, state, "reindex", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["repaired"]["missing_chunks"] == report["checked"]["chunks"] > 0
    assert report["repaired"]["state_files_rebuilt"] >= 1
    assert any("graph" in m for m in report["messages"]) and any("vector store" in m for m in report["messages"])
    assert snapshot(state) == _clean(vault, tmp_path / "clean")
