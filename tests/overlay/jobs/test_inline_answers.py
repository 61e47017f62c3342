"""Replies where the question was asked: a chat's last unanswered turn (three export layouts, one arriving as
Mac-Roman mojibake) or a `> [!ask|inline]` callout is answered inside the note, once, in the user's layout; the
insertion is the only change, and taking it out gives the original bytes back; a note edited meanwhile is left
alone. Fixtures are written here (not the user's seeds)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from overlay.answer import inline
from overlay.index.note_kinds import asking
from overlay.jobs import triggers
from overlay.settings import load_settings
from tests.conftest import write
from tests.overlay.jobs.test_watch import Running, wait_for
from vault_sync import inline_answers, parse_note, read_note

NEXUS = (">[!nexus_user] **User** - 01.12.2026 at 21:05\n> Как восстанавливаться после интервальных тренировок?\n"
         "<!-- UID: 11111111-aaaa -->\n\n>[!nexus_agent] **Assistant** - 01.12.2026 at 21:06\n"
         "> Сон, питание и лёгкие дни.\n<!-- UID: 22222222-bbbb -->\n\n"
         ">[!nexus_user] **User** - 01.12.2026 at 21:09\n> А сколько часов сна нужно?\n<!-- UID: 33333333-cccc -->\n")
HEADINGS = ("# Чат про сон\n\n## User\nКак восстанавливаться после интервальных тренировок?\n\n## ChatGPT\n"
            "Сон, питание и лёгкие дни.\n\n## User\nА сколько часов сна нужно?\n")
BOLD = ("**Human:** Как восстанавливаться после интервальных тренировок?\n\n**Assistant:** Сон, питание и лёгкие "
        "дни.\n\n**Human:** А сколько часов сна нужно?")  # no line end at the end of the file
SLEEP = "# Сон\nСпортсмену нужно восемь часов сна, подростку девять.\n"
LAYOUTS = {"nexus": NEXUS, "headings": HEADINGS.replace("\n", "\r\n"), "bold": BOLD}


def mojibake(text: str) -> bytes:
    """UTF-8 text read as Mac-Roman and saved as UTF-8: how such exports arrive (repaired at read time)."""
    return text.encode("utf-8").decode("mac_roman").encode("utf-8")


@pytest.mark.parametrize("layout", LAYOUTS)
def test_the_last_unanswered_turn_asks_with_its_conversation(vault: Path, layout: str) -> None:
    settings = load_settings(vault, chat_asks="last", answer_placement="inline")
    note = parse_note(LAYOUTS[layout], "Чаты/Сон.md")
    ask = asking(note, settings)
    assert ask is not None and ask.text == "А сколько часов сна нужно?" and ask.placement == "inline"
    assert [role for role, _ in ask.history] == ["user", "assistant"]
    assert ask.history[0][1].startswith("Как восстанавливаться")
    assert note.body.split("\n")[ask.anchor - 1].endswith("А сколько часов сна нужно?")
    assert asking(note, load_settings(vault)) is None  # default: only a tagged turn asks


def test_a_tagged_turn_asks_anywhere_in_the_chat(vault: Path) -> None:
    tagged = NEXUS.replace("после интервальных тренировок?", "после интервальных тренировок? #overlay/ask")
    ask = asking(parse_note(tagged, "Сон.md"), load_settings(vault, answer_placement="inline"))
    assert ask is not None and ask.text.startswith("Как восстанавливаться") and ask.history == () and ask.anchor == 2


@pytest.mark.parametrize("layout", LAYOUTS)
def test_the_watcher_answers_inline_once_and_removing_it_gives_the_bytes_back(vault: Path, layout: str) -> None:
    write(vault, "Сон.md", SLEEP)
    raw = mojibake(LAYOUTS[layout]) if layout == "nexus" else LAYOUTS[layout].encode("utf-8")
    path = write(vault, "Чаты/Сон.md", raw)
    os.chmod(path, 0o640)
    with Running(vault, chat_asks="last", answer_placement="inline") as run:
        wait_for(lambda: run.watcher.health.answered == 1, "the inline answer")
        time.sleep(1.0)  # a batch or two more: the answered turn must not ask again
        assert run.watcher.health.answered == 1 and not (vault / "Overlay").exists()
    text = path.read_bytes().decode("utf-8")
    (answer,) = inline_answers.find(text)
    assert answer.intact and "[[Сон]]" in answer.body and "Восемь часов сна" in answer.body
    assert f"[^{answer.run_id.rsplit('-', 1)[-1]}-1]" in answer.body  # footnotes named after the run
    assert answer.meta["sources"] == ["[[Сон#Сон]]"] and len(answer.meta["built_from"]) == 1
    assert os.stat(path).st_mode & 0o777 == 0o640
    settings = load_settings(vault)
    assert inline.remove(settings, "Чаты/Сон.md") == [answer.run_id]
    assert path.read_bytes() == raw.decode("utf-8").encode("utf-8")  # byte for byte, as it was saved


def test_a_note_edited_while_answering_is_left_alone(vault: Path) -> None:
    write(vault, "Сон.md", SLEEP)
    path = write(vault, "Чат.md", "> [!ask|inline] Сколько часов сна нужно?\n\nМои заметки.\n")
    note, _ = read_note(vault, "Чат.md")
    settings = load_settings(vault)
    question = triggers.question_of(note, settings)
    assert question is not None and question.inline and question.anchor == 1
    write(vault, "Чат.md", "> [!ask|inline] Сколько часов сна нужно?\n\nМои заметки, дописанные.\n")
    with pytest.raises(triggers.NoteChanged):
        inline.write(settings, inline.Place("Чат.md", question.checksum, 1), {"run": "r1", "q": "?"}, "Ответ.")
    assert inline_answers.find(path.read_text(encoding="utf-8")) == []


def test_a_utf16_note_without_a_byte_order_mark_is_read_but_never_written_as_utf8(vault: Path) -> None:
    """Its bytes are valid UTF-8 when every character is ASCII or plain Cyrillic (NULs and control bytes): it is read
    as UTF-16 now, so its question is found — and an edit written back as UTF-8 would break the file."""
    raw = "---\ntags: [x]\n---\n> [!ask|inline] Сколько часов сна нужно?\n\nМои заметки.\n".encode("utf-16-le")
    path = write(vault, "Чат.md", raw)
    note, encoding = read_note(vault, "Чат.md")
    settings = load_settings(vault)
    question = triggers.question_of(note, settings)
    assert encoding == "utf-16-le" and question is not None and question.inline
    with pytest.raises(Exception, match="is not UTF-8, so no answer is written into it"):
        inline.write(settings, inline.Place("Чат.md", question.checksum, question.anchor), {"run": "r1", "q": "?"},
                     "Ответ.")
    with pytest.raises(ValueError, match="not UTF-8, so it was not marked answered"):
        triggers.mark_answered(settings, question, "[[Overlay/Ответ]]")
    assert path.read_bytes() == raw


@pytest.mark.parametrize("codec", ["cp1251", "utf-16-le"])
def test_an_inline_question_in_a_note_that_is_not_utf8_is_answered_in_a_note_of_its_own(vault: Path,
                                                                                        codec: str) -> None:
    write(vault, "Сон.md", SLEEP)
    raw = HEADINGS.encode(codec)
    path = write(vault, "Чаты/Сон.md", raw)
    with Running(vault, chat_asks="last", answer_placement="inline") as run:
        wait_for(lambda: run.watcher.health.answered == 1, "the answer")
        errors = [e["reason"] for e in run.watcher.health.errors]
    assert path.read_bytes() == raw  # not a byte changed
    (answer,) = (vault / "Overlay").glob("*.md")
    assert "[[Сон" in answer.read_text(encoding="utf-8")
    assert errors == [f"answered in {answer.relative_to(vault).as_posix()}, but not marked answered: it is not "
                      "UTF-8, so it was not marked answered (re-save it as UTF-8)"]


def test_an_edited_inline_answer_is_not_removed(vault: Path) -> None:
    path = write(vault, "Чат.md", "> [!ask|inline] Вопрос?\n")
    note, _ = read_note(vault, "Чат.md")
    settings = load_settings(vault)
    inline.write(settings, inline.Place("Чат.md", note.checksum, 1), {"run": "r1", "q": "Вопрос?"}, "Ответ.")
    path.write_text(path.read_text(encoding="utf-8").replace("Ответ.", "Мой ответ."), encoding="utf-8")
    before = path.read_bytes()
    with pytest.raises(Exception, match="was edited since overlay wrote it"):
        inline.remove(settings, "Чат.md")
    assert path.read_bytes() == before



def test_inline_answers_are_refreshed_in_place_listed_when_stale_and_removed_from_the_cli(vault: Path) -> None:
    from click.testing import CliRunner

    from overlay.answer.ask import refresh
    from overlay.cli import main
    from overlay.jobs.reindex import reindex
    from tests.fakes import FakeLLM

    write(vault, "Сон.md", SLEEP)
    chat = write(vault, "Чат.md", "> [!ask|inline] Сколько часов сна нужно спортсмену?\n\nМои заметки.\n")
    original = chat.read_bytes()
    with Running(vault) as run:
        wait_for(lambda: run.watcher.health.answered == 1, "the inline answer")
        settings, store, embedder = run.fake.settings, run.fake.store, run.fake.embedder
    (first,) = inline_answers.find(chat.read_text(encoding="utf-8"))
    llm = FakeLLM()
    llm.default = "Девять часов для подростка [^1]."
    retriever = run.fake.retriever()
    result = refresh(settings, "Чат.md", llm=llm, retriever=retriever)
    (second,) = inline_answers.find(chat.read_text(encoding="utf-8"))
    assert result.refreshed == "inline" and second.run_id != first.run_id and "Девять часов" in second.body
    assert second.anchor == first.anchor and second.intact
    write(vault, "Сон.md", "# Сон\nСпортсмену нужно девять часов сна.\n")  # its source changed
    from overlay.index.indexer import Indexer

    indexer = Indexer(settings, embedder=embedder, store_factory=lambda *_: store)
    stale = reindex(settings, indexer=indexer).as_dict()["stale_answers"]
    assert [a["path"] for a in stale] == [f"Чат.md#{second.run_id}"] and stale[0]["changed"]
    done = CliRunner().invoke(main, ["answers", "remove", "Чат", "--vault", str(vault), "--json"])
    assert done.exit_code == 0, done.output
    assert chat.read_bytes() == original
