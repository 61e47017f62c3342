"""Inline answers: inserted as text under the asking block, found again, removed to the byte; an edited answer is
never removed; the parser indexes the note without them."""

from __future__ import annotations

import pytest

from vault_sync.inline_answers import AnswerEdited, InlineEditError, find, insert, remove
from vault_sync.parser import parse_note

CHAT = (">[!nexus_user] **User** - 02.12.2026 at 9:40\n> Сколько часов сна нужно?\n<!-- UID: 1 -->\n\n"
        ">[!nexus_agent] **Assistant** - 02.12.2026 at 9:41\n> Около восьми.\n")
BODY = "### 1. Суть\n\nВосемь часов [^a1-1].\n\n#### Sources  \n[^a1-1]: [[Сон]]  "


def meta(run: str = "r1", **extra) -> dict:
    return {"run": run, "q": "Сколько часов сна нужно? --> <b>", "sources": ["[[Сон]]"], "built_from": ["abc"],
            **extra}


@pytest.mark.parametrize("original", [
    CHAT,
    CHAT.replace("\n", "\r\n"),  # Windows line ends
    "\ufeff" + CHAT,  # a BOM
    "> [!ask] Сколько часов сна нужно?",  # the asking line is the last, with no line end
])
def test_insert_then_remove_gives_the_original_bytes(original: str) -> None:
    anchor = 2 if original.lstrip("\ufeff").startswith(">[!nexus") else 0
    new = insert(original, anchor, meta(), BODY)
    assert new.startswith(original.split("\n")[0]) and BODY.split("\n")[0] in new
    (answer,) = find(new)
    assert answer.intact and answer.anchor == anchor and answer.meta["q"].endswith("--> <b>")
    assert answer.body == BODY and remove(new, "r1") == original
    if "\r\n" in original:
        assert "\n" not in new.replace("\r\n", "")  # the note's own line ends throughout


def test_two_answers_come_out_in_any_order() -> None:
    one = insert(CHAT, 2, meta("r1"), BODY)
    two = insert(one, len(one.split("\n")) - 2, meta("r2"), "Второй ответ.")
    assert [a.run_id for a in find(two)] == ["r1", "r2"]
    assert remove(remove(two, "r1"), "r2") == CHAT == remove(remove(two, "r2"), "r1")


def test_an_edited_answer_is_never_removed() -> None:
    new = insert(CHAT, 2, meta(), BODY)
    edited = new.replace("Восемь часов", "Девять часов")
    assert not find(edited)[0].intact
    with pytest.raises(AnswerEdited, match="was edited"):
        remove(edited, "r1")
    with pytest.raises(InlineEditError, match="no inline answer r9"):
        remove(new, "r9")
    with pytest.raises(InlineEditError, match="line 99"):
        insert(CHAT, 98, meta(), BODY)


def test_the_parser_indexes_the_note_without_its_inline_answers() -> None:
    new = insert(CHAT, 2, meta(), BODY)
    note = parse_note(new, "Чат.md")
    assert "Восемь часов" not in note.body and "Около восьми" in note.body
    assert note.inline_answers == (("r1", 3, True),)  # under file line 3 (the UID comment)
    assert len(note.body.split("\n")) == len(new.split("\n"))  # every line where it was
