"""A question asked inside a chat: a follow-up is searched with the user's previous turn, and the conversation is
shown to the model before the question, the latest turns that fit."""

from __future__ import annotations

from pathlib import Path

from overlay.answer.ask import ask
from overlay.answer.conversation import as_messages, search_query
from tests.conftest import write
from tests.fakes import FakeLLM

HISTORY = (("user", "Какой уровень квантизации я выбрал по умолчанию?"), ("assistant", "Q5_K_M."))


def test_a_follow_up_is_searched_with_the_previous_user_turn() -> None:
    assert search_query("а сколько гигабайт для 32B?", HISTORY) == (
        "а сколько гигабайт для 32B?\nКакой уровень квантизации я выбрал по умолчанию?")
    long = "Сколько гигабайт видеопамяти занимает модель на тридцать два миллиарда параметров?"
    assert search_query(long, HISTORY) == long  # self-contained: searched as it is
    assert search_query("а сколько?", ()) == "а сколько?"


def test_the_latest_turns_that_fit_start_with_the_user() -> None:
    turns = [("user", "один"), ("assistant", "два"), ("user", "три"), ("assistant", "четыре " * 50)]
    assert as_messages(turns, 1000, lambda t: len(t.split()))[0] == {"role": "user", "content": "один"}
    kept = as_messages(turns, 60, lambda t: len(t.split()))  # the long last turn fits, the rest do not
    assert kept == []  # it is the assistant's: a conversation shown to the model starts with a user turn


def test_the_model_sees_the_conversation_before_the_question(vault: Path, fake_index) -> None:
    write(vault, "Квантизация.md", "# Квантизация\nQ5_K_M: 23 ГБ для 32B модели, Q4_K_M: 19 ГБ.\n")
    ix = fake_index(vault, model_path="bundled")
    ix.run()
    llm = FakeLLM()
    llm.default = "23 ГБ [^1]."
    ask(ix.settings, "а сколько гигабайт для 32B?", llm=llm, retriever=ix.retriever(), write=False, history=HISTORY)
    messages = llm.calls[0]
    assert [m["role"] for m in messages[:3]] == ["system", "user", "assistant"]
    assert messages[1]["content"] == HISTORY[0][1] and messages[-1]["role"] == "user"
