from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from overlay.index.bm25 import SparseIndex
from overlay.index.chunk_store import ChunkStore
from overlay.index.stems import tokenize, unmark
from overlay.search.reader import fusion_options
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


def test_decomposed_letters_do_not_split_words() -> None:
    assert tokenize(unicodedata.normalize("NFD", "Йогурт, ёлка и йод")) == tokenize("Йогурт, ёлка и йод") == [
        "йогурт", "елк", "йод"]


def test_marks_a_reader_does_not_see_as_letters_do_not_split_words() -> None:
    assert tokenize("Алекса́ндр Пу́шкин, кван\u00adтизация, мо\u200bдель") == [
        "александр", "пушкин", "квантизац", "модел"]
    assert unmark("café ре\u0301зюме́ e\u0301 a\u200db") == "café резюме é a\u200db"  # Latin accents, joiners kept


def test_a_decomposed_note_and_a_decomposed_query_meet_their_composed_counterparts(vault: Path, fake_index) -> None:
    write(vault, "Еда.md", unicodedata.normalize("NFD", "# Еда\nЙогуртовый соус с йодированной солью.\n"))
    write(vault, "Сад.md", "# Сад\nЁлки и яблони у забора.\n")
    write(vault, "Поэт.md", "# Поэт\nАлекса́ндр Серге́евич Пу́шкин писал сти\u00adхи.\n")
    ix = fake_index(vault)
    ix.run()
    retriever = ix.retriever()
    assert retriever.search("Пушкин стихи", 3, mode="sparse")[0].path == "Поэт.md"
    assert "Пушкин писал стихи" in retriever.search("Пушкин стихи", 3, mode="sparse")[0].snippet
    assert retriever.search("йогуртовый соус", 3, mode="sparse")[0].path == "Еда.md"
    assert retriever.search(unicodedata.normalize("NFD", "ёлки у забора"), 3, mode="sparse")[0].path == "Сад.md"
    assert retriever.spelled(unicodedata.normalize("NFD", "ёлки")) == "ёлки"


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


def test_a_word_found_in_one_note_only_beats_dense_guesses_that_match_nothing_well() -> None:
    """Min-max scaling makes the best of a weak dense list 1.0, and the note list adds to it; the one note that
    contains a rare query word (an identifier, a word just written) must still come first."""
    from overlay.search.retrieval import _fuse, _Ranked, _rare_terms

    def ranked(source: str, scores: dict[str, float]) -> _Ranked:
        out = _Ranked(source=source)
        for path, score in scores.items():
            out.add((path, ""), path, score, source)
        return out

    dense = ranked("dense", {"A.md": 0.31, "B.md": 0.30, "C.md": 0.29, "New.md": 0.22})
    notes = ranked("note", {"A.md": 0.33, "B.md": 0.32, "New.md": 0.20})
    bm25 = ranked("bm25", {"New.md": 7.5})
    weights = {"dense": 1.0, "note": 0.5, "bm25": 1.0}
    before = _fuse([dense, bm25, notes], lambda r: weights[r.source] * r.weight)
    assert next(iter(before)) == ("A.md", "")  # what the watcher benchmark caught
    bm25.weight = _rare_terms(bm25)
    after = _fuse([dense, bm25, notes], lambda r: weights[r.source] * r.weight)
    assert next(iter(after)) == ("New.md", "")
    common = ranked("bm25", {f"{i}.md": 5.0 - i / 10 for i in range(5)})
    assert _rare_terms(common) == 1.0 and _rare_terms(ranked("bm25", {})) == 1.0


def test_a_flat_dense_list_lends_little_and_a_clear_one_keeps_its_full_weight() -> None:
    """An English-only model on Russian text puts every chunk near one cosine; min-max scaling would stretch that
    noise to 0..1 and let it outvote BM25's exact match. Dense weighs by how far its best hit stands out."""
    from overlay.search.retrieval import DENSE_STANDOUT, _dense_trust, _fuse, _Ranked

    flat = [0.68, 0.679, 0.675, 0.674, 0.672, 0.671, 0.67, 0.669, 0.668, 0.667, 0.66]
    clear = [0.71, 0.52, 0.5, 0.45, 0.44, 0.43, 0.42, 0.41, 0.40, 0.39, 0.38]
    assert _dense_trust(flat) < 0.1 and _dense_trust(clear) == 1.0
    assert _dense_trust(clear[:5]) == 1.0 and _dense_trust([0.0] * 12) == 1.0  # too few to judge / degenerate
    middle = [1.0] + [0.8] * 8 + [1.0 - DENSE_STANDOUT / 2]
    assert _dense_trust(middle) == pytest.approx(0.5)

    dense = _Ranked(source="dense")
    for i, score in enumerate(flat):
        dense.add((f"{i}.md", ""), f"c{i}", score, "dense")
    bm25 = _Ranked(source="bm25")
    for path, score in (("5.md", 9.0), ("0.md", 8.0), ("9.md", 1.0)):
        bm25.add((path, ""), path, score, "bm25")
    assert next(iter(_fuse([dense, bm25], lambda r: r.weight))) == ("0.md", "")  # noise at 1.0 + a close BM25 second
    dense.weight = _dense_trust(flat)
    assert next(iter(_fuse([dense, bm25], lambda r: r.weight))) == ("5.md", "")  # the exact match leads


def test_a_section_every_independent_ranker_puts_first_leads_over_the_priors() -> None:
    """Note evidence and the link boost lift a long linked note past a short one that USE, the English model and
    BM25 all rank first; three models agreeing overrule the priors. Two judges, or a disagreement, change nothing."""
    from overlay.search.retrieval import _Ranked

    def ranked(source: str, *paths: str) -> _Ranked:
        out = _Ranked(source=source)
        for i, path in enumerate(paths):
            out.add((path, ""), path, 1.0 - i / 10, source)
        return out

    after_priors = {("Long.md", ""): 3.1, ("Short.md", ""): 2.8, ("Other.md", ""): 1.0}
    agree = [ranked("dense", "Short.md", "Long.md"), ranked("dense-en", "Short.md", "Other.md"),
             ranked("bm25", "Short.md", "Long.md"), ranked("note", "Long.md")]
    on = Retriever(embedder=None, store=None, texts=None, sparse=None, graph=None, consensus=True)  # type: ignore[arg-type]
    off = Retriever(embedder=None, store=None, texts=None, sparse=None, graph=None)  # type: ignore[arg-type]
    stage: dict[tuple[str, str], str] = {}
    led = on._consensus(after_priors, agree, stage)
    assert list(led) == [("Short.md", ""), ("Long.md", ""), ("Other.md", "")] and led[("Short.md", "")] == 3.1
    assert stage == {("Short.md", ""): "consensus"}  # `search --json` says which stage put it first
    assert off._consensus(after_priors, agree, {}) == after_priors
    assert on._consensus(after_priors, [agree[0], agree[2], agree[3]], {}) == after_priors  # USE and BM25 only
    split = [agree[0], ranked("dense-en", "Long.md"), agree[2]]
    assert on._consensus(after_priors, split, {}) == after_priors
    already = {("Short.md", ""): 3.1, ("Long.md", ""): 2.8}
    unmoved: dict[tuple[str, str], str] = {}
    assert on._consensus(already, agree, unmoved) == already and unmoved == {}  # first anyway: fusion put it there


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


def test_a_period_keeps_only_text_dated_within_it(vault: Path, fake_index) -> None:
    write(vault, "Дневник/2025-06-10.md", "# 2025-06-10\nинтервалы перенёс, пульс высокий\n")
    write(vault, "Дневник/2025-08-10.md", "# 2025-08-10\nинтервалы на 300 ватт\n")
    write(vault, "Интервалы.md", "# Интервалы\nинтервалы по вторникам\n")  # no date: out when a period is asked
    ix = fake_index(vault)
    ix.run()
    retriever = ix.retriever()
    assert {r.path for r in retriever.search("интервалы", 10)} == {"Дневник/2025-06-10.md", "Дневник/2025-08-10.md",
                                                                   "Интервалы.md"}
    assert [r.path for r in retriever.search("интервалы", 10, period=("2025-08-01", ""))] == ["Дневник/2025-08-10.md"]
    assert [r.path for r in retriever.search("интервалы", 10, period=("", "2025-06-30"))] == ["Дневник/2025-06-10.md"]


def test_a_hub_does_not_outrank_the_note_it_points_to(vault: Path, fake_index) -> None:
    write(vault, "Карта LLM.md", "# Карта LLM\n- [[Промпты]] — шаблоны промптов\n- [[RAG]] — поиск\n"
                                 "- [[Агенты]] — агенты\n- [[Обучение]] — обучение\n")
    write(vault, "Промпты.md", "# Промпты\nШаблоны промптов для пересказа: пять пунктов без оценок.\n")
    for name in ("RAG", "Агенты", "Обучение"):
        write(vault, f"{name}.md", f"# {name}\nтекст про {name}\n")
    query = "шаблоны промптов из карты LLM"
    ix = fake_index(vault, hub_penalty=0.0, link_boost=0.0, note_weight=0.0)
    ix.run()
    plain = [r.path for r in _retriever(ix).search(query, 3)]
    ix_hub = fake_index(vault, hub_penalty=0.8, link_boost=0.0, note_weight=0.0)
    tuned = [r.path for r in _retriever(ix_hub, store=ix.store).search(query, 3)]
    assert plain[0] == "Карта LLM.md" and tuned[0] == "Промпты.md"


def test_the_link_boost_is_bounded_by_a_neighbours_own_evidence(vault: Path, fake_index) -> None:
    write(vault, "Сон.md", "# Сон\nСпортсмену нужно восемь часов сна, см. [[Пустяк]].\n")
    write(vault, "Пустяк.md", "# Пустяк\nничего общего\n")
    ix = fake_index(vault, link_boost=5.0, note_weight=0.0)
    ix.run()
    results = _retriever(ix).search("сколько часов сна нужно спортсмену", 5)
    assert results[0].path == "Сон.md"  # a weak neighbour of a strong hit never jumps it, whatever the weight


def test_bm25_hits_count_by_how_much_of_the_question_they_hold(vault: Path, fake_index) -> None:
    write(vault, "Полный.md", "# Полный\nпорт сервера моделей восемь тысяч восемьдесят один\n")
    write(vault, "Случайный.md", "# Случайный\nмоделей много, моделей разных, моделей моделей моделей\n")
    ix = fake_index(vault)
    ix.run()
    retriever = _retriever(ix)
    bm25 = retriever._ranked(retriever.sparse.search("порт сервера моделей", 10), _keep(), "bm25")
    retriever._weigh_term_coverage(bm25, "порт сервера моделей")
    assert bm25.evidence[("Полный.md", "Полный")] == 1.0
    assert bm25.evidence[("Случайный.md", "Случайный")] == pytest.approx(1 / 3)


def _retriever(ix, store=None) -> Retriever:
    from graph import LinkGraph

    s = ix.settings
    texts = ChunkStore(s.chunks_path)
    return Retriever(embedder=ix.embedder, store=store or ix.store, texts=texts,
                     sparse=SparseIndex.current(texts, s.bm25_path), graph=LinkGraph.load(s.graph_path),
                     **fusion_options(s))


def _keep():
    from overlay.search.retrieval import _Filter

    return _Filter(False, set())
