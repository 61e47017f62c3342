"""Answer notes worth keeping: diverse sources, per-section related notes, the prompt-echo guard, the support check,
the extractive mode, stale-answer tracking and `--refresh` — on fakes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import frontmatter
import pytest

from overlay.answer.ask import ask, refresh
from overlay.answer.checks import echoes
from overlay.answer.evaluation import fact_stated
from overlay.answer.llm import answer_mode
from overlay.answer.note_format import untouched
from overlay.answer.sources import diverse, gather
from overlay.answer.support import SupportChecker
from overlay.search.retrieval import SearchResult
from tests.fakes import FakeLLM, HashEmbedder

LONG = "# Велосипед\n" + "".join(
    f"## Интервалы {i}\nИнтервалы по восемь минут, сон после интервалов, восстановление после интервалов {i}.\n"
    for i in range(8))
NOTES = {
    "Велосипед.md": LONG + "\nСм. [[Сон]].\n",
    "Сон.md": "# Сон\nПосле интервалов спортсмену нужно восемь часов сна для восстановления.\n",
    "Питание.md": "# Питание\nПосле интервалов восстановление ускоряют углеводы и белок.\n",
    "Пульс.md": "# Пульс\nУтренний пульс показывает восстановление после интервалов.\n",
}
QUESTION = "Как восстановиться после интервалов?"


@pytest.fixture
def index(indexed):
    return indexed(NOTES)


def result(path: str, score: float) -> SearchResult:
    return SearchResult(path, f"h{score}", score, "", ("dense",), f"{path}{score}", 0.9)


def test_diverse_takes_at_most_two_sections_of_a_note_and_prefers_other_notes() -> None:
    ranked = [result("Long.md", 1.0 - i / 100) for i in range(8)] + [result("B.md", 0.8), result("C.md", 0.75)]
    picked = diverse(ranked, 5)
    assert [r.path for r in picked].count("Long.md") == 2
    assert {r.path for r in picked} == {"Long.md", "B.md", "C.md"}


def test_an_answer_draws_on_several_notes_and_says_how_many(index) -> None:
    sources = gather(index.retriever(), QUESTION, 6, min_similarity=0.0)
    assert sum(s.path == "Велосипед.md" for s in sources) <= 2
    assert len({s.path for s in sources}) >= 3
    llm = FakeLLM()
    llm.default = "После интервалов нужен сон [^1]."
    data = ask(index.settings, QUESTION, llm=llm, retriever=index.retriever(), k=6, write=False).as_dict()
    assert data["distinct_notes"] == len({s["path"] for s in data["sources"]}) >= 3


def test_notes_the_top_hits_link_to_fill_the_slots_left(index) -> None:
    retriever = index.retriever()
    linked = retriever.linked(["Велосипед.md"], QUESTION, 3)
    assert [r.path for r in linked] == ["Сон.md"] and linked[0].why == ("link from Велосипед.md",)
    assert linked[0].similarity is not None


def test_each_section_lists_only_what_it_cites_and_the_rest_goes_last(index) -> None:
    llm = FakeLLM().enqueue("Интервалы по восемь минут [^1].", "", "Восемь часов сна после интервалов [^2].")
    note = ask(index.settings, QUESTION, llm=llm, retriever=index.retriever(), k=4, write=False).answer
    parts = note.split("\n---\n")
    assert parts[0].count("[^1].") >= 1 and "[^2]." not in parts[0]
    assert "Список релевантных заметок:" not in parts[1]  # a section that cites nothing lists nothing
    assert "Другие источники:" in parts[-1]
    lists = [p.split("Список релевантных заметок:", 1)[1] for p in parts if "Список релевантных заметок:" in p]
    assert len(lists) == len(set(lists)) == 2


def test_a_pasted_prompt_is_removed_counted_and_named_in_the_revision(index) -> None:
    echo = ("Правила: Опирайся только на пронумерованные источники. Не используй знания, которых в них нет. "
            "После интервалов нужен сон [^1].")
    llm = FakeLLM().enqueue(echo, echo, "Сон [^1].", "Сон [^1].")
    data = ask(index.settings, QUESTION, llm=llm, retriever=index.retriever(), write=False)
    checks = data.as_dict()["checks"]
    assert checks["echo_removed"] >= 2 and "Опирайся" not in data.answer and "нужен сон" in data.answer
    assert "повторяет инструкции" in llm.calls[1][-1]["content"]


def test_echo_detection_spares_answers_and_quotes() -> None:
    prompt = "Правила:\n- Опирайся только на пронумерованные источники.\nВопрос: Сколько часов сна нужно?"
    assert echoes("Правила:\n\nОпирайся только на пронумерованные источники.", prompt) == [
        "Правила:", "Опирайся только на пронумерованные источники."]
    assert echoes("Спортсмену нужно восемь часов сна [^1].", prompt) == []
    assert echoes("Сколько часов сна нужно? Восемь [^1].", prompt) == ["Сколько часов сна нужно?"]


def test_support_needs_the_numbers_and_the_meaning_of_the_source() -> None:
    checker = SupportChecker(HashEmbedder(), {1: "Сон > Норма\n\nВзрослому спортсмену нужно 8–9 часов сна."})
    claims = checker.judge("Спортсмену нужно 8–9 часов сна [^1]. Спортсмену нужно 12 часов сна [^1]. "
                           "Луна сделана из сыра [^1].")
    assert [c.holds for c in claims] == [True, False, False]


def test_an_unsupported_citation_is_revised_then_removed(index) -> None:
    wrong = "Спортсмену нужно 12 часов сна [^1]."
    llm = FakeLLM().enqueue(wrong, wrong, "Восемь часов сна [^1].", "Восемь часов сна [^1].")
    data = ask(index.settings, "Сколько часов сна нужно после интервалов?", llm=llm, retriever=index.retriever(),
               write=False)
    checks = data.as_dict()["checks"]
    assert checks["revised"] >= 1 and checks["cited_sentences"] > checks["supported"]
    assert "12 часов" not in data.draft.sections[0].text
    assert any(r.startswith("unsupported [^1]") for r in checks["removed"])
    assert "нет того, что утверждает" in llm.calls[1][-1]["content"]


def test_without_a_model_the_answer_quotes_the_notes(index) -> None:
    def no_model():
        raise AssertionError("no model may be loaded in extractive mode")

    data = ask(index.settings, QUESTION, llm=no_model, retriever=index.retriever(), write=False)
    assert data.draft.model == "extractive" and data.as_dict()["model"] == "extractive"
    text = data.draft.sections[0].text
    assert "восемь часов сна" in text and "[^" in text
    assert data.as_dict()["checks"]["supported"] == data.as_dict()["checks"]["cited_sentences"] > 0
    assert "### Что говорят заметки" in data.answer


def test_answer_mode_follows_what_is_configured(vault: Path) -> None:
    from overlay.settings import load_settings

    assert answer_mode(load_settings(vault)) == "extractive"
    assert answer_mode(load_settings(vault, model_path="/models/qwen3.gguf")) == "llm"
    assert answer_mode(load_settings(vault, llm_url="http://127.0.0.1:8080")) == "llm"
    assert answer_mode(load_settings(vault, model_path="bundled")) == "llm"
    assert answer_mode(load_settings(vault, answer_mode="extractive", model_path="x.gguf")) == "extractive"
    assert answer_mode(load_settings(vault), model_given=True) == "llm"


def test_facts_are_matched_by_numbers_and_stems() -> None:
    assert fact_stated("8–9 часов", "Спортсмену нужно 8–9 часов сна.")
    assert fact_stated("около 4.8 бита на вес", "Q4_K_M даёт примерно 4,8 бит на вес")
    assert not fact_stated("около 4.8 бита на вес", "Q4_K_M даёт 5 бит на вес")
    assert not fact_stated("порт 8080", "сервер слушает порт 8081")


def test_an_answer_eval_survives_a_failing_question_and_lists_it(index) -> None:
    from overlay.answer.evaluation import evaluate
    from overlay.errors import LLMError
    from overlay.search.evaluation import Question

    questions = [Question("q1", "ru", "Сколько часов сна нужно после интервалов?", ("Сон.md",), "lookup",
                          ("восемь часов",)),
                 Question("q2", "ru", "Что ускоряет восстановление?", ("Питание.md",))]
    retriever = index.retriever()

    def answer(q: Question):
        if q.id == "q1":
            raise LLMError("the prompt does not fit the model's window")
        return ask(replace(index.settings, answer_mode="extractive"), q.question, retriever=retriever, write=False,
                   log=False)

    result = evaluate(questions, answer)
    assert result["n"] == 1 and [q["id"] for q in result["questions"]] == ["q2"]
    assert result["failed"] == [{"id": "q1", "error": "the prompt does not fit the model's window"}]
    assert result["gold_in_sources"] == 1.0


def test_stale_answers_are_found_and_refreshed_in_place_or_as_a_new_note(index) -> None:
    from overlay.jobs.reindex import reindex

    llm = FakeLLM()
    llm.default = "После интервалов нужен сон [^1]."
    first = ask(index.settings, QUESTION, llm=llm, retriever=index.retriever(), k=3)
    path = index.settings.vault / first.note_path
    assert untouched(path.read_text(encoding="utf-8"))
    assert frontmatter.loads(path.read_text(encoding="utf-8"))["built_from"]
    index.run()
    source = index.settings.vault / first.draft.sources[0].path
    source.write_text(source.read_text(encoding="utf-8").replace("восемь", "девять"), encoding="utf-8")
    index.run()
    from overlay.index.indexer import Indexer

    report = reindex(index.settings, indexer=Indexer(index.settings, embedder=index.embedder,
                                                    store_factory=lambda *_: index.store)).as_dict()
    stale = {a["path"]: a for a in report["stale_answers"]}
    assert first.note_path in stale and stale[first.note_path]["changed"]
    audit = (index.settings.vault / "Overlay" / "Vault audit.md").read_text(encoding="utf-8")
    assert "Устаревшие ответы" in audit and f'overlay ask --refresh "{first.note_path}"' in audit

    again = refresh(index.settings, first.note_path, llm=llm, retriever=index.retriever())
    assert again.refreshed == "in place" and again.note_path == first.note_path
    assert untouched(path.read_text(encoding="utf-8"))
    edited = path.read_text(encoding="utf-8") + "\nМоя приписка.\n"
    path.write_text(edited, encoding="utf-8")
    third = refresh(index.settings, first.note_path, llm=llm, retriever=index.retriever())
    assert third.refreshed == "as a new note" and third.note_path != first.note_path
    old = path.read_text(encoding="utf-8")
    assert old.endswith("\nМоя приписка.\n") and f'superseded_by: "[[{third.note_path[:-3]}]]"' in old
    with pytest.raises(Exception, match="not an answer note"):
        refresh(index.settings, "Сон.md", llm=llm, retriever=index.retriever())


def test_llm_mode_can_be_forced_without_a_configured_model(index) -> None:
    settings = replace(index.settings, answer_mode="llm")
    assert answer_mode(settings) == "llm"


def test_a_related_source_says_why_it_is_there_in_the_notes_language() -> None:
    import prompts
    from graph.resolver import LinkResolver
    from overlay.answer.note_format import Links, _why
    from overlay.answer.sources import Source

    source = Source(1, "Дом.md", "", "Карта дома.", 1.0, None, ("title", "dense"), ())
    resolver = LinkResolver()
    resolver.add("Дом.md")
    for lang, named in (("ru", "вопрос называет её по имени"), ("en", "the question names it")):
        words = prompts.table("sections.toml")[lang]
        assert f"({named}; {words['why_dense']})" in _why(source, words, Links(resolver, "Overlay/A.md"))


def test_a_question_typed_on_the_wrong_layout_is_answered_and_filed_as_read(index) -> None:
    from overlay.search.evaluation import on_wrong_layout

    typed = on_wrong_layout(QUESTION)
    assert typed == "Rfr djccnfyjdbnmcz gjckt bynthdfkjd?"
    llm = FakeLLM()
    llm.default = "После интервалов нужен сон [^1]."
    result = ask(index.settings, typed, llm=llm, retriever=index.retriever())
    assert result.draft.question == QUESTION and result.draft.lang == "ru"  # not an English question of gibberish
    assert result.note_path is not None and "Как восстановиться" in result.note_path
    prompts = [m["content"] for call in llm.calls for m in call]
    assert prompts and all(typed not in p for p in prompts) and any(QUESTION in p for p in prompts)
