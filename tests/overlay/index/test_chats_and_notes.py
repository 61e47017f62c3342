"""Exported chats chunked per exchange and dated; note dates; note vectors kept incremental."""

from __future__ import annotations

from pathlib import Path

import pytest

from overlay.index import chats
from overlay.index.chunking import chunk_note, is_exchange
from tests.conftest import write
from vault_sync import parse_note

NEXUS = """>[!nexus_user] **User** - 14.05.2025 at 21:10
> Две RTX 4090 или одна карта на 48 ГБ?
<!-- UID: 1 -->

>[!nexus_agent] **Assistant** - 14.05.2025 at 21:11
> Одна карта проще: модель целиком в одной памяти.
<!-- UID: 2 -->

>[!nexus_user] **User** - 15.05.2025 at 8:02
> А блок питания?

>[!nexus_agent] **Assistant** - 15.05.2025 at 8:03
> Берите 1 000 Вт.
"""
CHATGPT = "---\ndate: 2025-08-03\n---\n# Кухня\n\n## User\n\nКакая вытяжка нужна?\n\n## ChatGPT\n\n450 м³/ч.\n\n" \
          "## User\n\nА шум?\n\n## ChatGPT\n\nДо 50 дБ.\n"
CLAUDE = "**Human:** Как провести ретро?\n\n**Assistant:** Начните с фактов.\n\n**Human:** А если молчат?\n\n" \
         "**Assistant:** Пусть пишут заранее.\n"


@pytest.mark.parametrize(("path", "text", "dates", "first_words"), [
    ("Чаты/Карта.md", NEXUS, ["2025-05-14", "2025-05-15"], "Две RTX 4090"),
    ("Чаты/Кухня.md", CHATGPT, ["2025-08-03", "2025-08-03"], "Какая вытяжка нужна?"),
    ("Чаты/2025-07-10 Ретро.md", CLAUDE, ["2025-07-10", "2025-07-10"], "Как провести ретро?"),
])
def test_a_chat_is_chunked_per_exchange_with_its_date(path: str, text: str, dates: list[str], first_words: str) -> None:
    chunks = chunk_note(parse_note(text, path))
    assert len(chunks) == 2 and [c.date for c in chunks] == dates
    assert all(is_exchange(c.heading) for c in chunks) and first_words in chunks[0].heading
    first, second = chunks[0].text, chunks[1].text
    assert first_words in first and "А " in second  # each exchange holds its own question and answer
    assert ("1 000 Вт" in second) or ("50 дБ" in second) or ("заранее" in second)
    assert len({c.heading for c in chunks}) == 2


def test_a_note_that_only_quotes_a_callout_is_not_a_chat() -> None:
    note = parse_note("# Идея\n> [!nexus_user] **User** - 01.01.2025 at 9:00\n> вопрос без ответа\n", "Идея.md")
    assert chats.exchanges(note) == [] and not is_exchange(chunk_note(note)[0].heading)


@pytest.mark.parametrize(("path", "text", "date"), [
    ("Дневник/2025-07-28.md", "# День\nгроза", "2025-07-28"),
    ("Анализы.md", "---\ndate: 2025-03-12\n---\n# Анализы", "2025-03-12"),
    ("Анализы.md", "---\ncreated: 2025-03-12T10:00:00\n---\n# Анализы", "2025-03-12"),
    ("Без даты.md", "# Просто заметка", ""),
])
def test_a_notes_date_comes_from_frontmatter_or_its_name(path: str, text: str, date: str) -> None:
    note = parse_note(text, path)
    assert chats.note_date(note) == date and all(c.date == date for c in chunk_note(note))


def test_properties_are_searchable_in_the_first_chunk() -> None:
    text = "---\nprice: 8500 USD\nauthor: Канеман\nparent: '[[X]]'\ntags: [a]\n---\n# Карта\n## Память\n96 ГБ"
    note = parse_note(text, "Карта.md")
    chunks = chunk_note(note)
    assert "price: 8500 USD; author: Канеман" in chunks[0].text and "parent" not in chunks[0].text
    assert "price" not in chunks[-1].text or len(chunks) == 1


def test_bookkeeping_properties_are_not_indexed() -> None:
    """Timestamps and paths a plugin writes (Linter, Templater, Digital Garden) are not facts: on a short note they
    were a third of what was embedded. A plain date and a URL stay: a user may ask for them."""
    text = ("---\ndate: 2021-09-22T09:41:00+03:00\nmodified_at: 2022-06-18T15:29:22+03:00\ncreated: 2021-09-22\n"
            "dg-path: /quotes/1.md\nday: 2024-09-30\nposted: https://t.me/x/650\nrating: 4\nfile: /tmp/a b\n---\n"
            "1. Сила в правде\n")
    first = chunk_note(parse_note(text, "quotes/1.md"))[0].text
    assert "day: 2024-09-30; posted: https://t.me/x/650; rating: 4; file: /tmp/a b" in first
    assert not any(word in first for word in ("09:41", "modified_at", "created", "dg-path"))


def test_a_notes_names_count_twice_in_bm25() -> None:
    note = parse_note("---\naliases: [Карта]\n---\n# Память\n96 ГБ памяти\n", "Видеокарта.md")
    terms = chunk_note(note)[0].terms()
    assert terms.count("видеокарт") == terms.count("карт") == 2 and terms.count("памя") == 1  # a heading: once


def test_note_vectors_follow_changes_to_a_note_alone(vault: Path, fake_index) -> None:
    write(vault, "Хаб.md", "# Хаб\n- [[Сон]]\n- [[Бег]]\n")
    write(vault, "Сон.md", "# Сон\nвосемь часов\n")
    write(vault, "Бег.md", "# Бег\nтри раза в неделю\n")
    write(vault, "Кухня.md", "# Кухня\nремонт\n")
    ix = fake_index(vault)
    assert ix.run().note_vectors == 4 and ix.store.note_paths() == {"Хаб.md", "Сон.md", "Бег.md", "Кухня.md"}
    assert ix.run().note_vectors == 0  # nothing changed, nothing embedded
    (vault / "Сон.md").rename(vault / "Отдых.md")  # Хаб's link now dangles; its document (its own text) stays
    report = ix.run()
    assert report.note_vectors == 1 and ix.store.note_paths() == {"Хаб.md", "Отдых.md", "Бег.md", "Кухня.md"}
    write(vault, "Кухня.md", "# Кухня\nремонт к октябрю\n")
    assert ix.run().note_vectors == 1
