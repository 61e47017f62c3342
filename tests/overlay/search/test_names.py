"""Notes a query names: the title list (overlay.search.names) and its place in hybrid search."""

from __future__ import annotations

import pytest

from graph import LinkGraph
from overlay.index.bm25 import SparseIndex
from overlay.index.chunk_store import ChunkStore
from overlay.index.stems import tokenize
from overlay.search.evaluation import evaluate_search, names_as_queries, on_wrong_layout, with_typo
from overlay.search.names import NameIndex, named_headings
from overlay.search.reader import fusion_options
from overlay.search.retrieval import Retriever

HOME = {
    "Дом/Дом.md": "# Дом\n- [[Умный дом]]\n- [[Ремонт кухни]]\n- [[Счета]]\n- [[Соседи]]\n",
    "Дом/Умный дом.md": "# Умный дом\nДатчики дома: дом греется к семи, свет в доме гаснет в полночь. "
                        "По дому ходит робот-пылесос, дом закрывается сам.\n",
    "Дом/Ремонт кухни.md": "---\naliases: [Кухня]\n---\n# Ремонт кухни\nПлитка, фартук, вытяжка.\n",
    "Progressive summarization.md": "Слои выделения: жирный, затем выделение маркером, затем резюме.\n",
    "Заметки о слоях.md": "Layers for progressive summarization: каждый слой короче, progressive summarization "
                          "по Форте, the layers of progressive summarization.\n",
    "Overlay/Дом.md": "---\ntype: overlay-answer\n---\nОтвет про дом.\n",
}


def _retriever(ix) -> Retriever:
    texts = ChunkStore(ix.settings.chunks_path)
    return Retriever(embedder=ix.embedder, store=ix.store, texts=texts,
                     sparse=SparseIndex.current(texts, ix.settings.bm25_path),
                     graph=LinkGraph.load(ix.settings.graph_path), **fusion_options(ix.settings))


@pytest.fixture
def home(indexed):
    return indexed(HOME)


def test_a_name_counts_by_the_square_of_the_share_of_the_query_it_covers(home) -> None:
    texts = ChunkStore(home.settings.chunks_path)
    names = NameIndex(LinkGraph.load(home.settings.graph_path), texts.answer_paths())
    assert names.named("дом") == {"Дом/Дом.md": 1.0}  # the overlay's answer of that name neither counts nor halves
    assert names.named("ДОМА") == names.named("дом")  # case and word form: stems, as BM25 reads them
    assert names.named("умный дом") == {"Дом/Умный дом.md": 1.0, "Дом/Дом.md": 0.25}
    assert names.named("Summarization, progressive")["Progressive summarization.md"] == 1.0  # any word order
    assert names.named("кухня")["Дом/Ремонт кухни.md"] == 1.0  # an alias is a name
    assert names.named("ремонт") == {}  # every word of a name, not some
    five = names.named("когда я в последний раз платил счета за дом летом")  # 5 words once stop words are out
    assert five["Дом/Дом.md"] == pytest.approx(1 / 25)  # one word of five: it barely counts
    assert names.named("и в на") == {}  # stop words only
    assert names.named("что такое умный дом?")["Дом/Умный дом.md"] == 1.0  # asked about: the frame does not count
    assert names.named("расскажи про Progressive Summarization")["Progressive summarization.md"] == 1.0
    assert names.named("how warm is my умный дом")["Дом/Умный дом.md"] == pytest.approx((2 / 5) ** 2)  # the name
    # is not all the question asks about: every word counts, the frame's too (how, warm, my, умн, дом)


def test_a_name_many_notes_share_names_each_of_them_less(indexed) -> None:
    ix = indexed({"A/README.md": "про A\n", "B/README.md": "про B\n", "C/Readme.md": "про C\n", "План.md": "план\n"})
    names = NameIndex(LinkGraph.load(ix.settings.graph_path))
    assert names.named("readme") == {"A/README.md": 1 / 3, "B/README.md": 1 / 3, "C/Readme.md": 1 / 3}
    assert names.named("план") == {"План.md": 1.0}


def test_the_named_note_gains_the_title_weight_times_its_share_and_nothing_else_moves(home) -> None:
    retriever = _retriever(home)

    def scores(query: str, weight: float) -> dict[str, float]:
        retriever.title_weight = weight
        return {r.path: r.score for r in retriever.search(query, 10)}

    on, off = scores("progressive summarization", 1.0), scores("progressive summarization", 0.0)
    assert on["Progressive summarization.md"] - off["Progressive summarization.md"] == pytest.approx(1.0)
    assert {p: v for p, v in on.items() if p != "Progressive summarization.md"} == {
        p: v for p, v in off.items() if p != "Progressive summarization.md"}
    retriever.title_weight = 1.0
    why = {r.path: r.why for r in retriever.search("progressive summarization", 10)}
    assert "title" in why["Progressive summarization.md"] and "title" not in why["Заметки о слоях.md"]
    question = "что такое progressive summarization в заметках"  # the name's 2 stems among the question's 4
    gain = scores(question, 1.0)["Progressive summarization.md"] - scores(question, 0.0)["Progressive summarization.md"]
    assert len(set(tokenize(question))) == 4 and gain == pytest.approx((2 / 4) ** 2)
    assert all(not p.startswith("Overlay/") for p in scores("Дом", 1.0))  # the overlay's own notes stay out


@pytest.mark.parametrize("query", ["Progressive summarization", "Progresive summarization",
                                   "Зкщпкуыышму ыгььфкшяфешщт"])  # typed right, with a slip, on the Russian layout
def test_with_the_list_a_query_that_is_a_notes_name_finds_it_first(indexed, query: str) -> None:
    ix = indexed({"Чтение.md": "# Чтение\nProgressive summarization для книг и статей: progressive "
                               "summarization.\n- [[Книги]]\n- [[Статьи]]\n",
                  "Progressive summarization.md": "Слои выделения: жирный, затем маркер, затем резюме.\n",
                  "Спорт.md": "Progressive overload: вес растёт понемногу.\n", "Сад.md": "Яблони.\n"})
    retriever = _retriever(ix)
    retriever.title_weight = 0.0  # a note that repeats the name outranks the note of that name
    assert retriever.search("Progressive summarization", 1)[0].path == "Чтение.md"
    if query == "Progresive summarization":  # no name list, no mending: the slip is searched as typed
        assert retriever.spelled(query) == query
    retriever.title_weight = 1.0
    assert retriever.search(query, 1)[0].path == "Progressive summarization.md"


def test_names_as_queries_scores_title_and_heading_lookups(home) -> None:
    retriever = _retriever(home)
    questions = names_as_queries(retriever.graph, retriever.texts)
    titles = {q.question: q.gold for q in questions if q.kind == "title"}
    assert set(titles) == {"Дом", "Умный дом", "Ремонт кухни", "Progressive summarization", "Заметки о слоях"}
    assert titles["Дом"] == ("Дом/Дом.md",)  # not the overlay's own answer note of that name
    headings = {q.question: q.gold for q in questions if q.kind == "heading"}
    assert headings == {"Умный дом": ("Дом/Умный дом.md",), "Ремонт кухни": ("Дом/Ремонт кухни.md",)}  # 2+ words
    assert {q.question for q in questions if q.kind == "definition"} == {f"что такое {t}" for t in titles} - {
        "что такое Progressive summarization"} | {"what is Progressive summarization"}  # asked in the title's script
    typos = {q.question: q.gold for q in questions if q.kind == "typo"}  # titles with a word of 6+ letters
    assert len(typos) == 3 and set(typos.values()) == {titles[t] for t in
                                                       ("Ремонт кухни", "Progressive summarization", "Заметки о слоях")}
    layouts = {q.question: q.gold for q in questions if q.kind == "layout"}
    assert layouts == {on_wrong_layout(title): gold for title, gold in titles.items()}
    for typed, title in ((on_wrong_layout(t), t) for t in titles):  # read on the right layout: the title itself
        assert retriever.spelled(typed) == title and retriever.search(typed, 10) == retriever.search(title, 10)
    assert evaluate_search(retriever, questions)["n"] == 20
    for slip, title in ((q.question, q.id.split(":")[-1]) for q in questions if q.kind == "typo"):
        assert slip != title and retriever.spelled(slip) == title  # mended: searched as the title itself
        assert retriever.search(slip, 10) == retriever.search(title, 10)


def test_with_typo_makes_one_slip_past_the_first_letter_of_the_longest_word() -> None:
    import random

    from rapidfuzz.distance import OSA

    rng = random.Random(0)
    for name in ("Прогрессивное резюмирование", "Progressive summarization", "Квантизация GGUF", "Map of Content"):
        for _ in range(20):
            slip = with_typo(name, rng)
            assert slip is not None and OSA.distance(slip, name) == 1 and slip[0] == name[0]
            changed = [w for w, v in zip(slip.split(), name.split(), strict=False) if w != v]
            assert len(changed) == 1 and len(changed[0]) >= 5
    assert with_typo("npm ci", rng) is None and with_typo("Дом", rng) is None  # no word of 6+ letters
    assert with_typo("Progressive", random.Random(4)) == with_typo("Progressive", random.Random(4))  # seeded


def test_a_warm_retriever_follows_a_renamed_note(home) -> None:
    from vault_sync.parser import parse_note

    retriever = _retriever(home)
    assert "title" not in {w for r in retriever.search("Жильё", 10) for w in r.why}
    retriever.graph.apply([parse_note("---\naliases: [Жильё]\n---\n" + HOME["Дом/Дом.md"], "Дом/Дом.md")])
    why = {r.path: r.why for r in retriever.search("Жильё", 10)}  # the same graph object, changed in place
    assert "title" in why["Дом/Дом.md"]


def test_a_map_is_not_lowered_as_a_hub_when_the_query_is_its_name(home) -> None:
    retriever = _retriever(home)

    def hub_score(query: str, penalty: float) -> float:
        retriever.hub_penalty = penalty
        return next(r.score for r in retriever.search(query, 10) if r.path == "Дом/Дом.md")

    assert hub_score("Дом", 0.5) == hub_score("Дом", 0.0)  # asked for by name: the map is the answer
    assert hub_score("счета за дом", 0.5) < hub_score("счета за дом", 0.0)  # a topic word: still a map


def test_a_heading_names_a_section_when_one_note_alone_has_it() -> None:
    sections = [("A.md", "Квантизация Q4_K_M"), ("A.md", "Итоги"), ("B.md", "Задачи на неделю"),
                ("C.md", "Задачи на неделю"), ("D.md", "💬 1 · квантизация q4_k_m")]
    assert named_headings("квантизация Q4_K_M", sections) == {("A.md", "Квантизация Q4_K_M"): 1.0}
    assert named_headings("квантизация q4_k_m для видеокарты", sections) == {("A.md", "Квантизация Q4_K_M"): 4 / 9}
    assert named_headings("итоги", sections) == {}  # one word: a kind of section, not one section
    assert named_headings("задачи на неделю", sections) == {}  # a template's heading in two notes names neither


def test_a_query_that_is_a_heading_lifts_that_section(indexed) -> None:
    ix = indexed({"Сервер.md": "# Сервер\n## Резервные копии\nКаждую ночь в три часа.\n## Диски\nДва по 4 ТБ.\n",
                  "Бэкапы.md": "Резервные копии: резервные копии фото, копии документов, резервные копии почты.\n"})
    retriever = _retriever(ix)
    on = {(r.path, r.heading): r for r in retriever.search("Резервные копии", 10)}
    retriever.title_weight = 0.0
    off = {(r.path, r.heading): r for r in retriever.search("Резервные копии", 10)}
    section = ("Сервер.md", "Резервные копии")
    assert "title" in on[section].why and on[section].score == pytest.approx(off[section].score + 1.0)


def test_a_slip_in_a_word_of_a_name_is_mended_as_the_name_writes_it(home) -> None:
    names = NameIndex(LinkGraph.load(home.settings.graph_path))
    known = _retriever(home).sparse.knows
    assert names.spelled("Progresive summarization", known) == "Progressive summarization"  # a letter left out
    assert names.spelled("progressive summarizaiton", known) == "progressive summarization"  # two swapped
    assert names.spelled("Рмонт кухни", known) == "Ремонт кухни"  # written as the name writes it
    assert names.spelled("что такое progresssive summarization?", known) == (
        "что такое Progressive summarization?")  # a letter too many; the rest of the query as typed
    assert names.spelled("Frogressive summarization", known) == "Frogressive summarization"  # not the first letter
    assert names.spelled("Progresive summarization", lambda stem: True) == "Progresive summarization"  # a word
    # the vault has is never changed
    assert names.spelled("Дмо", known) == "Дмо" and names.spelled("Progresive2", known) == "Progresive2"  # short
    # words and words with digits are left as they are


def test_a_slip_two_names_are_one_edit_from_is_left_alone(indexed) -> None:
    ix = indexed({"Marker.md": "Felt pens.\n", "Marked.md": "Ticked items.\n", "Сад.md": "Яблони.\n"})
    names = NameIndex(LinkGraph.load(ix.settings.graph_path))
    known = _retriever(ix).sparse.knows
    assert names.spelled("markes", known) == "markes"  # marker or marked: a guess
    assert names.spelled("markre", known) == "Marker"  # one slip from marker, two from marked
