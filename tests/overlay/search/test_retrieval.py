from __future__ import annotations

from pathlib import Path

import pytest

from overlay.index.bm25 import SparseIndex
from overlay.index.chunk_store import ChunkStore
from overlay.index.stems import tokenize
from overlay.search.retrieval import Retriever
from tests.conftest import write

NOTES = {
    "Сон.md": "# Сон\nВзрослому спортсмену нужно восемь часов сна. Недосыпание снижает мощность.\n",
    "Велосипед.md": "# Интервалы\nЧетыре интервала по восемь минут. После них важен [[Сон|сон]].\n",
    "GPU.md": "---\naliases: [видеокарта]\n---\n# Memory\nThe card has 96 GB of video memory for Q4_K_M models.\n",
    "Qwen.md": "# Qwen\nThe model family runs on the [[GPU#Memory]] card.\nparent:: [[Overview]]\n",
    "Overview.md": "# Overview\nA map of everything.\n",
    "Overlay/Answer.md": "---\ntype: overlay-answer\n---\nСпортсмену нужно восемь часов сна, по заметкам.\n",
}


@pytest.fixture
def retriever(vault: Path, fake_index) -> Retriever:
    for rel, text in NOTES.items():
        write(vault, rel, text)
    ix = fake_index(vault)
    ix.run()
    return ix.retriever()


def test_tokenize_stems_each_script_with_its_own_stemmer() -> None:
    assert tokenize("Тренировками и тренировки; running runs Ёлка Q4_K_M 32B и в the") == [
        "тренировк", "тренировк", "run", "run", "елк", "q4_k_m", "32b"]


def test_sparse_finds_russian_word_forms(retriever: Retriever) -> None:
    hits = retriever.search("спортсмены спят восемь часов", 3, mode="sparse")
    assert hits[0].path == "Сон.md" and hits[0].why == ("bm25",)
    assert retriever.search("Q4_K_M", 3, mode="sparse")[0].path == "GPU.md"
    assert retriever.search("zzzz qqqq", 3, mode="sparse") == []


def test_answers_excluded_unless_asked_and_asking_note_excluded(retriever: Retriever) -> None:
    query = "сколько часов сна нужно спортсмену"
    for mode in ("dense", "sparse", "hybrid"):
        assert all(not r.path.startswith("Overlay/") for r in retriever.search(query, 10, mode=mode))
    assert any(r.path.startswith("Overlay/") for r in retriever.search(query, 10, mode="sparse",
                                                                      include_answers=True))
    assert "Сон.md" not in [r.path for r in retriever.search(query, 10, exclude=("Сон.md",))]


def test_hybrid_fuses_and_says_why(retriever: Retriever) -> None:
    results = retriever.search("сколько часов сна нужно спортсмену", 5)
    assert results[0].path == "Сон.md"
    assert set(results[0].why) == {"dense", "bm25"}
    assert len({(r.path, r.heading) for r in results}) == len(results)  # one result per section
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)


def test_graph_mode_brings_linked_sections(retriever: Retriever) -> None:
    results = retriever.search("model family that runs on a card", 5, mode="graph")
    by_path = {r.path: r for r in results}
    assert "GPU.md" in by_path and by_path["GPU.md"].heading == "Memory"  # the section the link names
    assert any(w.startswith(("link from", "links to", "parent of")) for r in results for w in r.why)


def test_graph_weight_adds_expansion_to_hybrid(retriever: Retriever) -> None:
    retriever.graph_weight = 0.5
    results = retriever.search("model family that runs on a card", 10)
    assert any(any(w.startswith(("link from", "links to", "parent of")) for w in r.why) for r in results)


def test_unknown_mode_rejected(retriever: Retriever) -> None:
    with pytest.raises(ValueError, match="unknown mode"):
        retriever.search("x", mode="magic")


def test_bm25_is_current_after_small_changes_and_after_a_crash(vault: Path, fake_index) -> None:
    import shutil

    write(vault, "a.md", "первая заметка про сон")
    ix = fake_index(vault)
    ix.run()  # first run: built at once
    texts = ChunkStore(ix.settings.chunks_path)
    assert SparseIndex.load(ix.settings.bm25_path).built_for == texts.generation()
    write(vault, "b.md", "вторая заметка про велосипед")
    ix.run()  # a small change leaves BM25 stale...
    assert SparseIndex.load(ix.settings.bm25_path).built_for != texts.generation()
    current = SparseIndex.current(texts, ix.settings.bm25_path)  # ...and the first search rebuilds it
    assert current.search("велосипеды", 5)[0][0] in ix.store.rows
    assert SparseIndex.load(ix.settings.bm25_path).built_for == texts.generation()
    shutil.rmtree(ix.settings.bm25_path)  # lost or half-written: rebuilt, never wrong
    assert len(SparseIndex.current(texts, ix.settings.bm25_path).ids) == ix.store.count()


def test_several_matching_sections_of_one_note_outweigh_one_slightly_better_section() -> None:
    from overlay.search.retrieval import _note_evidence

    fused = {("A.md", "x"): 1.0, ("B.md", "one"): 0.9, ("B.md", "two"): 0.8, ("C.md", ""): 0.5}
    ranked = list(_note_evidence(fused, 0.6))
    assert ranked[:2] == [("B.md", "one"), ("B.md", "two")] and ranked[2] == ("A.md", "x")
    assert list(_note_evidence(fused, 0.0)) == list(fused)  # off: the fusion order as it was
    boosted = _note_evidence(fused, 0.6)
    assert boosted[("B.md", "one")] == pytest.approx(0.9 + 0.6 * 0.8) and boosted[("C.md", "")] == 0.5


def test_hundreds_of_answer_notes_never_crowd_out_the_users_note(vault: Path, fake_index) -> None:
    """300 answer notes repeat the question's words more often than the user's note does; candidates are fetched
    before answer notes are dropped, so they must be kept apart before ranking, not filtered after."""
    write(vault, "Сон.md", "# Сон\nСпортсмену нужно восемь часов сна. Мощность падает без сна.\n")
    for i in range(300):
        write(vault, f"Overlay/2026-11-{i:03d} Сон.md", "---\ntype: overlay-answer\n---\n"
              f"Сколько часов сна нужно спортсмену? Сна, сна, часов сна: восемь часов сна спортсмену ({i}).\n")
    ix = fake_index(vault)
    ix.run()
    retriever = ix.retriever()
    query = "сколько часов сна нужно спортсмену"
    for mode in ("dense", "sparse", "hybrid"):
        results = retriever.search(query, 5, mode=mode)
        assert results and results[0].path == "Сон.md", mode
    with_answers = retriever.search(query, 5, mode="sparse", include_answers=True)
    assert all(r.path.startswith("Overlay/") for r in with_answers)  # they do outrank it when asked for
