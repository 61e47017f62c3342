"""Exact search against the real Chroma it copies: the same neighbours as Chroma's own search (which is exact on a
vault this small), note vectors read back by path, and two snapshots of the same vectors byte for byte the same."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from overlay.index import exact
from overlay.index.chroma_store import ChromaStore, collection_name
from overlay.index.chunk_store import ChunkStore
from overlay.index.indexer import Indexer
from overlay.jobs.reindex import reindex
from overlay.settings import load_settings
from tests.conftest import write
from tests.fakes import HashEmbedder

pytestmark = pytest.mark.integration

WORDS = ("сон кофе бег плавание каша овсянка молоко граф ссылка заметка модель память видеокарта поиск ответ "
         "sleep coffee memory model graph search answer note vault index query embedding").split()


@pytest.fixture
def chroma_index(tmp_path: Path):
    rng = random.Random(3)
    vault = tmp_path / "vault"
    for i in range(150):
        body = "\n\n".join(f"## Часть {j}\n" + " ".join(rng.choices(WORDS, k=25)) for j in range(rng.randint(1, 3)))
        write(vault, f"Заметки/Заметка {i:03d}.md", f"# Заметка {i}\n{body}\n")
    settings = load_settings(vault)
    embedder = HashEmbedder()
    Indexer(settings, embedder=embedder, store_factory=ChromaStore).run()
    return settings, embedder, ChromaStore(settings, embedder.name, embedder.dim)


def test_exact_search_finds_what_chroma_finds(chroma_index) -> None:
    settings, embedder, chroma = chroma_index
    store = exact.exact_store(settings, chroma, ChunkStore(settings.chunks_path), embedder.name)
    for query in ("сон и кофе", "graph search", "каша молоко", "видеокарта память model", "ответ заметка"):
        vector = embedder.embed_query(query)
        mine, theirs = store.query(vector, 20), chroma.query(vector, 20)
        assert np.allclose([h.score for h in mine], [h.score for h in theirs], atol=1e-5)
        cut = mine[-1].score + 1e-5  # above the last score, so a tie at the cut cannot differ
        assert {h.id for h in mine if h.score > cut} == {h.id for h in theirs if h.score > cut}
        mine_notes, their_notes = store.query_notes(vector, 10), chroma.query_notes(vector, 10)
        assert np.allclose([s for _, s in mine_notes], [s for _, s in their_notes], atol=1e-5)
    assert store.snapshot(exact.NOTES).keys == sorted(chroma.note_paths())


def test_two_snapshots_of_the_same_vectors_are_the_same_files(chroma_index) -> None:
    settings, embedder, _ = chroma_index
    folder = settings.exact_path / collection_name(embedder.name) / exact.CHUNKS
    first = exact.current(folder)
    files = {name: (first / name).read_bytes() for name in ("vectors.npy", "norms.npy", "keys.json")}
    report = reindex(settings, indexer=Indexer(settings, embedder=embedder, store_factory=ChromaStore), audit=False)
    again = exact.current(folder)
    assert again != first and report.repaired["exact_vectors"] == 0
    assert {name: (again / name).read_bytes() for name in files} == files
