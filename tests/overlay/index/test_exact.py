"""Exact search over snapshots of the store's vectors (overlay.index.exact): the same answers as the store of
record, the same first results whatever k, kept in step incrementally, never trusted when stale."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from overlay.index import exact
from overlay.index.chunk_store import ChunkStore
from overlay.index.exact import ExactStore, Snapshot, exact_store
from overlay.jobs.reindex import reindex
from overlay.settings import load_settings
from tests.conftest import write
from tests.fakes import MemoryStore

NOTES = {
    "Сон.md": "# Сон\nСпать нужно восемь часов и засыпать до полуночи.\n\n## Кофе\nКофе вечером мешает уснуть.",
    "Тренировки.md": "# Тренировки\nТри тренировки в неделю: бег, плавание и силовая. [[Сон]] важен.",
    "GPU.md": "# GPU\nThe card has 96 GB of video memory and runs Qwen3 with CUDA offload.",
    "Рецепты/Каша.md": "# Каша\nОвсяная каша на завтрак: овсянка, молоко, соль.",
    "Проект.md": "---\ntags: [work]\n---\n# Проект\nОверлей для заметок: поиск, граф ссылок и ответы.",
}
QUERIES = ["сколько спать", "video memory", "что есть на завтрак", "тренировки и сон", "граф ссылок"]


class CountingStore(MemoryStore):
    """The store of record, counting the vectors read back from it."""

    def __init__(self) -> None:
        super().__init__()
        self.read: list[str] = []

    def embeddings(self, ids):
        self.read += list(ids)
        return super().embeddings(ids)


@pytest.fixture
def ix(indexed):
    fake = indexed(NOTES)
    fake.store.__class__ = CountingStore
    fake.store.read = []
    return fake


def exact_of(ix, **kw) -> ExactStore:
    return exact_store(ix.settings, ix.store, ChunkStore(ix.settings.chunks_path), ix.embedder.name, **kw)


def test_exact_search_answers_as_the_store_of_record(ix) -> None:
    store = exact_of(ix)
    for query in QUERIES:
        vector = ix.embedder.embed_query(query)
        for include_own in (False, True):
            mine = [(h.id, round(h.score, 5)) for h in store.query(vector, 8, include_own=include_own)]
            theirs = [(h.id, round(h.score, 5)) for h in ix.store.query(vector, 8, include_own=include_own)]
            assert sorted(mine, key=lambda x: (-x[1], x[0])) == sorted(theirs, key=lambda x: (-x[1], x[0]))
        assert {p for p, _ in store.query_notes(vector, 3)} == {p for p, _ in ix.store.query_notes(vector, 3)}
    ids = [h.id for h in ix.store.query(ix.embedder.embed_query("сон"), 3)]
    assert all(np.array_equal(v, ix.store.embeddings(ids)[k]) for k, v in store.embeddings(ids).items())


def test_the_first_results_do_not_depend_on_k_and_ties_rank_by_key() -> None:
    keys = [f"c{i:02d}" for i in range(20)]
    rng = np.random.default_rng(7)
    matrix = rng.normal(size=(20, 8)).astype(np.float32)
    matrix[[3, 11, 15]] = matrix[5]  # four rows with the same vector: a four-way tie
    snap = Snapshot(keys, [""] * 20, np.zeros(20, dtype=bool), matrix, np.linalg.norm(matrix, axis=1), 1)
    query = matrix[5] + 0.01
    full = snap.top(query, 20)
    assert [k for k, _ in full][:4] == ["c03", "c05", "c11", "c15"]
    for k in range(1, 20):
        assert snap.top(query, k) == full[:k]
    scores = [s for _, s in full]
    assert scores == sorted(scores, reverse=True)


def test_the_overlays_own_notes_are_left_out_unless_asked(indexed, vault: Path) -> None:
    answer = "---\ntype: overlay-answer\n---\n# Ответ\nСпать восемь часов."
    fake = indexed({**NOTES, "Overlay/Answers/Ответ.md": answer})
    store = exact_of(fake)
    own = {h.id for h in fake.store.query(fake.embedder.embed_query("спать"), 50, include_own=True)} - \
        {h.id for h in fake.store.query(fake.embedder.embed_query("спать"), 50)}
    assert own, "the answer note is stored as the overlay's own"
    vector = fake.embedder.embed_query("спать восемь часов")
    assert not own & {h.id for h in store.query(vector, 50)}
    assert own <= {h.id for h in store.query(vector, 50, include_own=True)}


def test_a_change_is_followed_incrementally_and_a_stale_snapshot_is_never_used(ix, vault: Path) -> None:
    store = exact_of(ix)
    store.query(ix.embedder.embed_query("сон"), 5)  # built by the index run (a first index is a bulk one)
    assert ix.store.read == []
    write(vault, "GPU.md", "# GPU\nThe card has 48 GB of video memory and a quiet fan.")
    (vault / "Рецепты" / "Каша.md").unlink()
    ix.run()
    hits = store.query(ix.embedder.embed_query("quiet fan"), 3)
    texts = ChunkStore(ix.settings.chunks_path)
    assert texts.get([hits[0].id])[hits[0].id].path == "GPU.md" and "quiet fan" in texts.get([hits[0].id])[
        hits[0].id].text
    assert set(ix.store.read) == set(texts.ids_for_paths(["GPU.md"])["GPU.md"])  # only the new vectors were read
    assert {h.id for h in store.query(ix.embedder.embed_query("каша"), 50, include_own=True)} == ix.store.all_ids()
    assert "Рецепты/Каша.md" not in {p for p, _ in store.query_notes(ix.embedder.embed_query("каша"), 10)}


def test_a_note_vector_written_after_bm25_moves_only_the_vector_generation(tmp_path: Path) -> None:
    texts = ChunkStore(tmp_path / "chunks.sqlite")
    texts.replace_paths(["a.md"], [], notes={"a.md": "text"})
    generation, vectors = texts.generation(), texts.vector_generation()
    texts.set_doc_hashes({"a.md": "h1"})
    assert texts.generation() == generation and texts.vector_generation() == vectors + 1
    texts.vectors_changed()
    assert texts.vector_generation() == vectors + 2
    assert texts.doc_hashes() == ({"a.md": "h1"}, vectors + 2)
    other = ChunkStore(tmp_path / "other.sqlite")  # a store made afresh cannot count up to an old snapshot's tag
    assert abs(other.vector_generation() - texts.vector_generation()) > 1000


def test_a_damaged_snapshot_is_rebuilt_and_one_past_the_limit_is_not_kept(ix) -> None:
    store = exact_of(ix)
    build = exact.current(store.folder / exact.CHUNKS)
    (build / "vectors.npy").write_bytes(b"not a matrix")
    fresh = exact_of(ix)
    assert fresh.query(ix.embedder.embed_query("сон"), 2) and exact.load(store.folder / exact.CHUNKS) is not None
    small = exact_of(ix, limit=2)
    small.texts.vectors_changed()
    vector = ix.embedder.embed_query("сон")
    assert [h.id for h in small.query(vector, 3)] == [h.id for h in ix.store.query(vector, 3)]  # the store's HNSW
    assert small.snapshot(exact.CHUNKS) is None and not (store.folder / exact.CHUNKS).exists()


def test_the_nightly_audit_reads_every_vector_afresh_and_counts_what_differed(ix) -> None:
    store = exact_of(ix)
    snap = store.snapshot(exact.CHUNKS)
    original = np.array(snap.matrix[0])
    damaged = np.array(snap.matrix)
    damaged[0] = -damaged[0]
    np.save(exact.current(store.folder / exact.CHUNKS) / "vectors.npy", damaged)
    settings = load_settings(ix.settings.vault)
    from overlay.index.indexer import Indexer

    report = reindex(settings, indexer=Indexer(settings, embedder=ix.embedder, store_factory=lambda *_: ix.store),
                     audit=False)
    assert report.repaired["exact_vectors"] == 1
    assert report.checked["exact_chunks"] == len(ix.store.all_ids())
    assert report.checked["exact_notes"] == len(ix.store.notes)
    healed = exact_of(ix).snapshot(exact.CHUNKS)
    assert np.array_equal(np.asarray(healed.matrix[0]), original)


def test_the_english_collection_is_searched_exactly_over_what_it_holds(vault: Path, monkeypatch) -> None:
    from tests.overlay.index.test_latin import ENGLISH, RUSSIAN, latin_indexed

    ix = latin_indexed(vault, monkeypatch, {"en.md": ENGLISH, "ru.md": RUSSIAN})
    texts = ChunkStore(ix.settings.chunks_path)
    store = exact_store(ix.settings, ix.english_store, texts, ix.english.name, chunks_from_store=True)
    vector = ix.english.embed_query("fitness function")
    assert [h.id for h in store.query(vector, 5)] == [h.id for h in ix.english_store.query(vector, 5)]
    assert store.kinds() == (exact.CHUNKS,)
    write(vault, "en2.md", "# Latency\nLatency budgets for the build pipeline.")
    ix.run()
    assert store.snapshot(exact.CHUNKS).keys == sorted(ix.english_store.all_ids())


def test_a_snapshot_that_cannot_be_written_is_one_clear_error(ix, monkeypatch) -> None:
    from overlay.errors import StoreError

    store = exact_of(ix)
    store.texts.vectors_changed()

    def full(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(exact, "new_build", full)
    with pytest.raises(StoreError, match="No space left") as caught:
        store.query(ix.embedder.embed_query("сон"), 3)
    assert "disk space" in caught.value.hint
    assert exact.load(store.folder / exact.CHUNKS) is not None  # the last good build is still there


def test_vectors_the_store_did_not_show_are_asked_for_again_by_the_next_reader(ix) -> None:
    """A chunk whose vector the store did not give (a write in progress; an embedded Chroma client opened before
    another process wrote) leaves the snapshot incomplete: the next process that opens it asks again."""
    store = exact_of(ix)
    shutil.rmtree(store.folder)  # built from nothing: no earlier row to reuse
    hidden = sorted(ix.store.all_ids())[0]
    row = ix.store.rows.pop(hidden)
    first = store.snapshot(exact.CHUNKS)
    assert hidden not in first.keys and not first.complete
    assert store.snapshot(exact.CHUNKS) is first  # within one process: once per generation
    ix.store.rows[hidden] = row  # now the store shows it, with no write to the chunk store
    later = exact_of(ix).snapshot(exact.CHUNKS)
    assert hidden in later.keys and later.complete and later.built_for == first.built_for


def test_a_snapshot_whose_rows_did_not_change_links_its_matrix_instead_of_writing_it(ix, vault: Path) -> None:
    long = NOTES["GPU.md"] + "\n\n" + "\n\n".join(f"## Part {i}\n" + "The card runs models. " * 15 for i in range(6))
    write(vault, "GPU.md", long)
    ix.run()
    store = exact_of(ix)
    store.query_notes(ix.embedder.embed_query("GPU"), 3)
    store.query(ix.embedder.embed_query("GPU"), 3)
    notes_before = exact.current(store.folder / exact.NOTES)
    write(vault, "GPU.md", long + "\n\n## Fan\nA quiet fan.")  # a new last section: the chunks change, the note
    ix.run()  # vector (names and the first 1,500 characters) does not
    store.query_notes(ix.embedder.embed_query("GPU"), 3)
    store.query(ix.embedder.embed_query("GPU"), 3)
    notes, chunks = exact.current(store.folder / exact.NOTES), exact.current(store.folder / exact.CHUNKS)
    assert notes != notes_before
    assert (notes / "vectors.npy").stat().st_ino == (notes_before / "vectors.npy").stat().st_ino
    assert (chunks / "vectors.npy").stat().st_nlink == 1  # new rows: written


def test_exact_max_is_a_setting_and_a_lowered_one_takes_effect_on_a_current_snapshot(ix) -> None:
    import dataclasses

    from overlay.errors import ConfigError
    from overlay.settings import _check

    vector = ix.embedder.embed_query("сон")
    assert exact_of(ix).snapshot(exact.CHUNKS) is not None  # built and current
    lowered = dataclasses.replace(ix.settings, exact_max=2)
    small = exact_store(lowered, ix.store, ChunkStore(ix.settings.chunks_path), ix.embedder.name)
    assert small.snapshot(exact.CHUNKS) is None  # nothing changed in the vault, yet the limit holds
    assert [h.id for h in small.query(vector, 3)] == [h.id for h in ix.store.query(vector, 3)]  # the store's HNSW
    with pytest.raises(ConfigError, match="exact_max"):
        _check(dataclasses.replace(ix.settings, exact_max=-1))
