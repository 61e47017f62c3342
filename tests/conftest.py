from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from graph import LinkGraph
from overlay.index.bm25 import SparseIndex
from overlay.index.chunk_store import ChunkStore
from overlay.index.indexer import Indexer
from overlay.search.retrieval import Retriever
from overlay.settings import Settings, load_settings
from tests.fakes import HashEmbedder, MemoryStore

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_VAULT = ROOT / "examples" / "vault"
SEEDS = ROOT.parent / "shared" / "seeds"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Every test runs offline, with no user configuration leaking in."""
    import os

    for key in list(os.environ):
        if key.startswith("OVERLAY_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.setenv("ANONYMIZED_TELEMETRY", "False")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    root = tmp_path / "vault"
    (root / ".obsidian").mkdir(parents=True)
    return root


@pytest.fixture
def example_vault(tmp_path: Path) -> Path:
    dest = tmp_path / "example"
    shutil.copytree(EXAMPLE_VAULT, dest, ignore=shutil.ignore_patterns(".overlay"))
    return dest


def write(root: Path, rel: str, text: str | bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


class FakeIndex:
    """An Indexer on fakes, rebuilt per run like a fresh process, sharing one store and embedder."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.embedder = HashEmbedder()
        self.store = MemoryStore()

    def run(self):
        return Indexer(self.settings, embedder=self.embedder, store_factory=lambda *_: self.store).run()

    def retriever(self) -> Retriever:
        texts = ChunkStore(self.settings.chunks_path)
        return Retriever(embedder=self.embedder, store=self.store, texts=texts,
                         sparse=SparseIndex.current(texts, self.settings.bm25_path),
                         graph=LinkGraph.load(self.settings.graph_path))


@pytest.fixture
def fake_index() -> Callable[[Path], FakeIndex]:
    return lambda root, **kw: FakeIndex(load_settings(root, **kw))


@pytest.fixture
def indexed(vault: Path, fake_index) -> Callable[..., FakeIndex]:
    """`indexed(notes, **settings)`: the notes written into the test vault and indexed once on fakes."""

    def make(notes: dict[str, str], **settings) -> FakeIndex:
        for rel, text in notes.items():
            write(vault, rel, text)
        ix = fake_index(vault, **settings)
        ix.run()
        return ix

    return make
