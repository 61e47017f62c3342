from __future__ import annotations

from overlay.index.chunking import chunk_note, clean_for_index
from vault_sync import parse_note


def chunks(text: str, path: str = "Dir/Note.md", **kw):
    return chunk_note(parse_note(text, path), **kw)


def test_sections_carry_heading_path_and_nearest_heading() -> None:
    text = ("---\ntitle: Заметка\n---\nintro\n# A\na text\n## B\nb text\n```\n# not a heading\n```\n# C\nc text")
    got = [(c.heading, c.heading_path, c.line) for c in chunks(text)]
    assert got == [("", (), 4), ("A", ("A",), 5), ("B", ("A", "B"), 7), ("C", ("C",), 12)]
    b = chunks(text)[2]
    assert b.text.startswith("Заметка > A > B\n\n") and "# not a heading" in b.text


def test_empty_sections_skipped_but_heading_only_note_kept() -> None:
    assert [c.heading for c in chunks("# Only heading\n")] == ["Only heading"]
    assert [c.heading for c in chunks("\n\n# A\n\n# B\ntext")] == ["B"]
    assert [c.text for c in chunks("# Note\n## Part\nx")] == ["Note > Part\n\nx"]  # H1 == title not repeated


def test_long_section_split_with_stable_ids() -> None:
    para = "Предложение номер {i} о тренировках и сне, довольно длинное для проверки. "
    text = "# Long\n" + "\n\n".join(para.format(i=i) * 3 for i in range(60))
    first = chunks(text, max_tokens=128, overlap=16)
    again = chunks(text, max_tokens=128, overlap=16)
    assert len(first) > 5
    assert [c.id for c in first] == [c.id for c in again]
    assert len({c.id for c in first}) == len(first)
    assert all(c.heading == "Long" and c.text.startswith("Note > Long\n\n") for c in first)


def test_editing_one_section_changes_only_its_chunk_id() -> None:
    before = chunks("# A\none\n# B\ntwo\n# C\nthree")
    after = chunks("# A\none\n# B\ntwo, edited\n# C\nthree")
    assert [b.id == a.id for b, a in zip(before, after, strict=True)] == [True, False, True]


def test_path_is_part_of_the_id() -> None:
    assert chunks("text", "a.md")[0].id != chunks("text", "b.md")[0].id


def test_duplicate_sections_get_distinct_ids() -> None:
    got = chunks("# Same\nx\n# Same\nx")
    assert len({c.id for c in got}) == 2


def test_clean_for_index_strips_markup_but_keeps_meaning() -> None:
    raw = (">[!nexus_user] **User** - 04.07.2025\n> Вопрос про [[LoRA дообучение|LoRA]] и [[Qwen3#Thinking]]\n"
           "> ![[pic.png]] ![[Embedded note]]\nline with block ^abc-1")
    assert clean_for_index(raw) == ("**User** - 04.07.2025\nВопрос про LoRA и Qwen3 > Thinking\n Embedded note\n"
                                    "line with block")


def test_aliases_join_the_title_in_every_chunk() -> None:
    got = chunks("---\naliases: [Квен, Qwen 3]\n---\n# Qwen3\nintro\n## Thinking\nthink", "LLM/Qwen3.md")
    assert [c.text.split("\n\n")[0] for c in got] == ["Qwen3 (Квен, Qwen 3)", "Qwen3 (Квен, Qwen 3) > Thinking"]
