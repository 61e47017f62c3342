from __future__ import annotations

from pathlib import Path

import pytest

from graph import LinkGraph
from overlay.index.bm25 import SparseIndex
from overlay.index.chunk_store import ChunkStore
from overlay.search.context import ContextQuestion, read_context
from overlay.search.reader import fusion_options
from overlay.search.retrieval import Retriever
from tests.conftest import write


@pytest.mark.parametrize(("question", "names", "ask"), [
    ("какие десять правил хорошего текста я выписал к книге про канцелярит и штампы",
     "канцелярит и штампы", "какие десять правил хорошего текста я выписал"),
    ("какой пример делегирования приводится в книге о том, как устроено управление в России",
     "том, как устроено управление в России", "какой пример делегирования приводится"),
    ("как, по книге о современной программной инженерии, лучше всего распараллеливать работу",
     "современной программной инженерии", "как, лучше всего распараллеливать работу"),
    ("какую модель советуют в книге о покере и какие принципы в неё входят",
     "покере", "какую модель советуют и какие принципы в неё входят"),
    ("что я выписал из книги «Пиши, сокращай» про штампы", "Пиши, сокращай", "что я выписал про штампы"),
    ("какие правила мы обсуждали с другом о книге про канцелярит",  # "с другом о …" is not a kind of note
     "канцелярит", "какие правила мы обсуждали с другом"),
    ("In my post about how long to stay at one job, what is the third year supposed to be for?",
     "how long to stay at one job", "what is the third year supposed to be for?"),
    ("In my summary of the book on fixing team dynamics I say people grow best from within — whose idea is it?",
     "the book on fixing team dynamics", "I say people grow best from within — whose idea is it?"),
    ('which rules did I copy from the book "Writing Tools" about verbs', "Writing Tools",
     "which rules did I copy about verbs"),
])
def test_a_question_that_names_its_note_is_read_as_naming_words_and_what_is_asked(question: str, names: str,
                                                                                   ask: str) -> None:
    assert read_context(question) == ContextQuestion(names, ask)


@pytest.mark.parametrize(("question", "names", "target", "ask"), [
    ("the roadmap links to a model note: how do I turn its thinking off", "roadmap", "a model note",
     "how do I turn its thinking off"),
    ("the npm ci page points to the lockfile documentation: what does lockfileVersion 3 mean", "npm ci",
     "the lockfile documentation", "what does lockfileVersion 3 mean"),
    ("страница про npm link ссылается на описание папок: куда попадают исполняемые файлы", "npm link",
     "описание папок", "куда попадают исполняемые файлы"),
    ("в моей заметке про биохакинг есть ссылка про сон — сколько нужно спать", "биохакинг", "сон",
     "сколько нужно спать"),
])
def test_a_question_that_says_a_note_links_somewhere_is_read_as_subject_target_and_what_is_asked(
        question: str, names: str, target: str, ask: str) -> None:
    assert read_context(question) == ContextQuestion(names, ask, target)


def test_a_linking_question_whose_subject_names_no_note_can_be_read_as_in_the_note_about() -> None:
    question = "в моей заметке про биохакинг есть ссылка про сон — сколько нужно спать"
    assert read_context(question, links=False) == ContextQuestion(
        "биохакинг", "есть ссылка про сон — сколько нужно спать")


@pytest.mark.parametrize("question", [
    "сколько часов сна нужно спортсмену",  # names no note
    "как на слух понять, что фраза в статье слишком перегружена",  # "в статье" without "about": not a named note
    "what does the lockfile documentation say about version 3",
    "в книге про канцелярит и штампы",  # nothing is asked besides the naming words
    "в книге про канцелярит и штампы — расскажи, что это означает",  # nothing but asking words
    "in the book about flow, explain what it means",
])
def test_questions_that_name_no_note_are_left_alone(question: str) -> None:
    assert read_context(question) is None


BOOK = ("# Пиши сокращай\nКнига про канцелярит и штампы в текстах. Автор разбирает канцелярит, штампы и пустые "
        "обороты, канцелярит в письмах и штампы в рекламе. TL;DR: [[Правила]]. Ещё про редактуру: [[Редактура]].\n")
RULES = "# Правила\nДесять правил хорошего текста: сила в правде, смысл важнее формы. Из [[Пиши сокращай]].\n"
QUESTION = "какие десять правил хорошего текста я выписал к книге про канцелярит и штампы"


def _retriever(vault: Path, fake_index, notes: dict[str, str], **settings) -> Retriever:
    """With the settings' fusion options, as `overlay search` opens it."""
    for rel, text in notes.items():
        write(vault, rel, text)
    ix = fake_index(vault, **settings)
    ix.run()
    s, texts = ix.settings, ChunkStore(ix.settings.chunks_path)
    return Retriever(embedder=ix.embedder, store=ix.store, texts=texts, sparse=SparseIndex.current(texts, s.bm25_path),
                     graph=LinkGraph.load(s.graph_path), **fusion_options(s))


def _top(vault: Path, fake_index, notes: dict[str, str], question: str = QUESTION, **settings) -> list:
    return _retriever(vault, fake_index, notes, **settings).search(question, 5)


def test_a_smaller_note_the_named_note_links_to_leads_when_it_holds_what_is_asked(vault: Path, fake_index) -> None:
    notes = {"Пиши сокращай.md": BOOK, "Правила.md": RULES, "Редактура.md": "# Редактура\nРедактура текста.\n"}
    retriever = _retriever(vault, fake_index, notes, context_questions=False)
    off = retriever.search(QUESTION, 5)
    assert off[0].path == "Пиши сокращай.md"  # the question's best match is the book it names
    retriever.context_questions = True
    on = retriever.search(QUESTION, 5)
    assert [r.path for r in on[:2]] == ["Правила.md", "Пиши сокращай.md"]
    assert on[0].ranked_by == "context" and "in Пиши сокращай.md, the note the question names" in on[0].why
    assert on[0].score == off[0].score  # it takes the lead's score: the list stays in descending order
    plain = retriever.search("правила хорошего текста про канцелярит и штампы", 5)
    assert all(r.ranked_by != "context" for r in plain)  # a question that names no note ranks as before


def test_a_linked_note_about_as_big_as_the_named_one_is_another_whole_not_a_part(vault: Path, fake_index) -> None:
    big = RULES + "\n## Ещё\nПро тексты и редактуру: примеры, разборы, упражнения, пересказы.\n"
    assert 2 / 3 * len(BOOK) < len(big) < len(BOOK)  # smaller, but not a part
    results = _top(vault, fake_index, {"Пиши сокращай.md": BOOK, "Правила.md": big})
    assert results[0].path == "Пиши сокращай.md" and results[0].ranked_by != "context"


def test_a_part_in_the_questions_language_does_not_win_over_a_named_note_in_another(vault: Path, fake_index) -> None:
    """The model's cosine runs higher within a language: an English card under a Russian book note would win on an
    English question by language alone."""
    book = ("# Tameflow\nMy notes on the book on flow in kanban teams. Книга про поток в канбан-командах: "
            "эффективность потока около пяти процентов, и ускорение самой работы даёт один процент, "
            "а сокращение простоя двадцать процентов. Цитата: [[Idle]].\n")
    card = "# Idle\nSpeeding up the work itself gains little: idle time, wait time.\n"
    question = "In my notes on the book about flow in kanban teams, what do we gain by speeding up the work itself?"
    results = _top(vault, fake_index, {"Tameflow.md": book, "Idle.md": card}, question=question)
    assert all(r.ranked_by != "context" for r in results)


def test_an_excluded_part_is_never_brought_back(vault: Path, fake_index) -> None:
    retriever = _retriever(vault, fake_index, {"Пиши сокращай.md": BOOK, "Правила.md": RULES})
    assert retriever.search(QUESTION, 5)[0].path == "Правила.md"
    results = retriever.search(QUESTION, 5, exclude=("Правила.md",))
    assert "Правила.md" not in [r.path for r in results]


def test_a_named_note_linked_with_hundreds_of_notes_is_a_map_whose_parts_are_not_weighed(
        vault: Path, fake_index, monkeypatch) -> None:
    from overlay.search import retrieval

    notes = {"Пиши сокращай.md": BOOK, "Правила.md": RULES, "Редактура.md": "# Редактура\nРедактура текста.\n"}
    retriever = _retriever(vault, fake_index, notes)
    assert retriever.search(QUESTION, 5)[0].path == "Правила.md"
    monkeypatch.setattr(retrieval, "MAX_PARTS", 1)  # the book links two notes: over the limit
    assert retriever.search(QUESTION, 5)[0].path == "Пиши сокращай.md"


LINKING = {
    "Roadmap.md": "# Roadmap\n- [ ] Hybrid search, see [[Overlay project]]\n- [ ] The model side: [[Qwen3]]\n",
    "Overlay project.md": "# Overlay project\nThe roadmap of the overlay project: a model note per model, links "
                          "between notes. The roadmap links every model note.\n",
    "Qwen3.md": "# Qwen3\nThinking mode: turn thinking off with /no_think in the prompt.\n",
    "Calm.md": "# Calm\nHow do I turn my thinking off at night? Breathing, no screens.\n",
}
LINKING_QUESTION = "the roadmap links to a model note: how do I turn its thinking off"


def test_a_note_the_named_note_links_to_leads_when_the_question_says_it_links_there(vault: Path,
                                                                                    fake_index) -> None:
    retriever = _retriever(vault, fake_index, LINKING, context_questions=False)
    off = retriever.search(LINKING_QUESTION, 5)
    assert off[0].path == "Calm.md"  # what is asked matches a note the roadmap does not link to best
    retriever.context_questions = True
    on = retriever.search(LINKING_QUESTION, 5)
    assert [r.path for r in on[:2]] == ["Qwen3.md", "Calm.md"] and on[0].ranked_by == "context"
    assert "link from Roadmap.md, which the question names" in on[0].why
    assert on[0].score == off[0].score


def test_a_subject_that_names_no_single_note_moves_nothing(vault: Path, fake_index) -> None:
    notes = {**LINKING, "Old/Roadmap.md": "# Roadmap\nThe old plan, see [[Calm]].\n"}
    retriever = _retriever(vault, fake_index, notes, context_questions=False)
    off = [r.path for r in retriever.search(LINKING_QUESTION, 5)]
    retriever.context_questions = True
    assert [r.path for r in retriever.search(LINKING_QUESTION, 5)] == off  # two notes are "roadmap": neither named
