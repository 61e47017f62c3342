from __future__ import annotations

import unicodedata

import pytest

from vault_sync import Link, parse_canvas, parse_note
from vault_sync.parser import CanvasError


def links(text: str) -> list[Link]:
    return list(parse_note(text, "n.md").links)


def targets(text: str) -> list[tuple[str, str]]:
    return [(link.target, link.kind) for link in links(text)]


@pytest.mark.parametrize(("src", "expected"), [
    ("[[T]]", Link("T", line=1)),
    ("[[T|shown]]", Link("T", alias="shown", line=1)),
    ("[[T#Heading]]", Link("T", heading="Heading", line=1)),
    ("[[T#^block-1]]", Link("T", block="block-1", line=1)),
    ("[[T#Heading|shown]]", Link("T", heading="Heading", alias="shown", line=1)),
    ("[[T#H1#H2]]", Link("T", heading="H2", line=1)),
    ("[[folder/T]]", Link("folder/T", line=1)),
    ("[[T.md]]", Link("T.md", line=1)),
    ("![[T]]", Link("T", kind="embed", line=1)),
    ("![[img.png]]", Link("img.png", kind="embed", line=1)),
    ("![[T#Heading]]", Link("T", kind="embed", heading="Heading", line=1)),
    ("| [[T\\|shown]] |", Link("T", alias="shown", line=1)),
    ("[[#Local heading]]", Link("", heading="Local heading", line=1)),
    ("[[Заметка о сне|сон]]", Link("Заметка о сне", alias="сон", line=1)),
])
def test_wikilink_forms(src: str, expected: Link) -> None:
    assert links(src) == [expected]


def test_markdown_links_to_local_notes_only() -> None:
    text = ("[a](Other%20Note.md) [b](<sub/My Note.md#Part>) [c](https://x.org/a.md) [d](mailto:a@b.c) "
            "[e](#anchor) [f](file.pdf) ![g](pic.png)")
    got = [(lk.target, lk.kind, lk.heading) for lk in links(text)]
    assert got == [("Other Note.md", "markdown", None), ("sub/My Note.md", "markdown", "Part"),
                   ("pic.png", "embed", None)]


def test_no_links_inside_code_or_comments() -> None:
    text = ("`[[Inline]]` and\n```\n[[Fenced]] #notag\n```\n~~~md\n[[Tilde]]\n~~~\n<!-- [[Html]] -->\n"
            "%% [[Obsidian comment]] %%\n    plain [[Real]]")
    assert [lk.target for lk in links(text)] == ["Real"]
    assert parse_note(text, "n.md").tags == ()


def test_inline_math_is_not_scanned_but_dollar_amounts_are_text() -> None:
    text = ("Inline $[[Math]] #nottag$ and $x^2$; real [[A]] #tag\n"
            "costs $5 and $10 for [[B]], $5/$10 for [[C]], $HOME and $PATH in [[D]], \\$[[E]]$ escaped\n"
            "$$\n[[Block]]\n$$\n")
    assert [lk.target for lk in links(text)] == ["A", "B", "C", "D", "E"]
    assert parse_note(text, "n.md").tags == ("tag",)


def test_line_numbers_count_frontmatter() -> None:
    text = "---\ntitle: x\n---\nline one\n[[A]]\n"
    assert links(text)[0].line == 5


def test_tags_inline_nested_cyrillic_and_frontmatter() -> None:
    text = ("---\ntags: [proj/x, '#заметки']\n---\n# Heading is not a tag\n"
            "Text #tag/nested, #заметки/сон and (#in-parens); not #123, not a#b, url http://x.com/#frag, `#code`")
    note = parse_note(text, "n.md")
    assert note.tags == ("proj/x", "заметки", "tag/nested", "заметки/сон", "in-parens")


def test_tags_as_string_and_aliases_as_string() -> None:
    note = parse_note("---\ntags: a, b/c\naliases: Один, Two\n---\nbody", "n.md")
    assert note.tags == ("a", "b/c")
    assert note.aliases == ("Один", "Two")


def test_frontmatter_other_keys_kept_and_json_friendly() -> None:
    note = parse_note("---\ncreated: 2025-07-20\nrating: 5\nnested: {a: [1, 2]}\n---\nbody", "n.md")
    assert note.frontmatter == {"created": "2025-07-20", "rating": 5, "nested": {"a": [1, 2]}}
    assert note.body.strip() == "body"


def test_decomposed_text_is_read_composed_and_the_checksum_is_the_files() -> None:
    """macOS file names and some PDFs give "й" as "и" + U+0306: read as typed, or "Йогурт" is indexed as "огурт"."""
    nfd = unicodedata.normalize("NFD", "---\naliases: [Ёлка]\n---\n# Йогурт и ёж\nСм. [[Йод]]\n")
    note = parse_note(nfd, unicodedata.normalize("NFD", "Еда/Йогурт.md"))
    assert note.title == "Йогурт" and note.aliases == ("Ёлка",)
    assert [h.text for h in note.headings] == ["Йогурт и ёж"] and "Йод" in note.body
    assert note.body == unicodedata.normalize("NFC", note.body)
    assert note.checksum == parse_note(nfd, "x.md").checksum != parse_note(unicodedata.normalize("NFC", nfd),
                                                                              "x.md").checksum


def test_title_from_frontmatter_else_file_name() -> None:
    assert parse_note("---\ntitle: Мой заголовок\n---\n", "a/b.md").title == "Мой заголовок"
    assert parse_note("text", "a/Имя файла.md").title == "Имя файла"


@pytest.mark.parametrize("bad", [
    "---\ntitle: [unclosed\n---\n# Body [[Kept]]\n",
    "---\n- a\n- b\n---\n# Body [[Kept]]\n",
    "---\njust a string\n---\n# Body [[Kept]]\n",
    "---\ntitle: never closed\n# Body [[Kept]]\n",
])
def test_broken_frontmatter_is_read_as_text_with_reason(bad: str) -> None:
    note = parse_note(bad, "n.md")
    assert note.frontmatter == {}
    assert note.body == bad  # nothing lost
    assert [lk.target for lk in note.links] == ["Kept"]
    assert note.warnings and note.warnings[0].startswith("frontmatter:")


@pytest.mark.parametrize(("value", "kept"), [
    ("2025-13-45", "2025-13-45"),  # a typo'd month: PyYAML raises ValueError, Obsidian shows text
    ("2025-02-30T10:00:00", "2025-02-30T10:00:00"),
    ("!!timestamp soon", "soon"),
    ("2025-02-03", "2025-02-03"),  # a real date is still one (as ISO text)
])
def test_a_date_that_cannot_be_one_stays_text_and_the_note_keeps_its_properties(value: str, kept: str) -> None:
    note = parse_note(f"---\ndate: {value}\naliases: [Сон]\n---\nbody [[Kept]]\n", "n.md")
    assert note.frontmatter == {"date": kept, "aliases": ["Сон"]}
    assert note.aliases == ("Сон",) and not note.warnings


def test_recursive_or_exploding_aliases_are_a_reason_not_a_crash() -> None:
    bomb = "l0: &l0 [a, a, a, a, a, a, a, a, a, a]\n" + "".join(
        f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]\n" for i in range(1, 7))
    for block, reason in (("a: &a [*a]\n", "refers to itself"), (bomb, "expand to more than")):
        note = parse_note(f"---\n{block}---\n# Body [[Kept]]\n", "n.md")
        assert note.frontmatter == {} and [lk.target for lk in note.links] == ["Kept"]
        assert note.warnings[0].startswith("frontmatter: invalid YAML") and reason in note.warnings[0]


def test_headings_blocks_and_callouts() -> None:
    text = ("# One\n## Two **bold** [[Link|shown]]\n```\n# not a heading\n```\ntext ^blk-1\n\n^own-line\n"
            ">[!nexus_user] **User** - 04.07.2025 at 8:02\n> hi\n> ## inside callout\n> [!tip]- Folded tip\n"
            "> > [!note] nested")
    note = parse_note(text, "n.md")
    assert [(h.level, h.text, h.line) for h in note.headings] == [(1, "One", 1), (2, "Two bold shown", 2)]
    assert note.blocks == ("blk-1", "own-line")
    assert [(c.type, c.title, c.folded) for c in note.callouts] == [
        ("nexus_user", "User - 04.07.2025 at 8:02", False), ("tip", "Folded tip", True), ("note", "nested", False)]


def test_html_comments_removed_from_indexed_text_lines_kept() -> None:
    text = "a\n<!-- UID: 123\nmore -->\nb [[X]]"
    note = parse_note(text, "n.md")
    assert "UID" not in note.body
    assert note.body.count("\n") == text.count("\n")
    assert note.links[0].line == 4


def test_typed_relations_from_frontmatter_and_inline_fields() -> None:
    text = ('---\nparent: "[[Родитель]]"\nrelated: [[Other]]\nsources: ["[[A#H]]", "[[B]]"]\ntags: ["[[NotRel]]"]\n'
            '---\nup:: [[Up Note]]\n- author:: [[Канеман]], [[Тверски]]\nInline [rel:: [[Rel]]] and (via:: [[Via]])\n'
            "plain [[Plain]]\nmood:: 7\n")
    got = [(lk.target, lk.kind, lk.property, lk.heading) for lk in links(text)]
    assert got == [
        ("Родитель", "property", "parent", None), ("Other", "property", "related", None),
        ("A", "property", "sources", "H"), ("B", "property", "sources", None),
        ("Up Note", "property", "up", None), ("Канеман", "property", "author", None),
        ("Тверски", "property", "author", None), ("Rel", "property", "rel", None),
        ("Via", "property", "via", None), ("Plain", "link", None, None)]


def test_unquoted_wikilinks_in_a_yaml_list_are_relations() -> None:
    text = "---\nrelated:\n  - [[A]]\n  - [[B#H|b]]\n  - \"[[C]]\"\n  - plain\nnumbers: [[1, 2]]\n---\nbody\n"
    got = [(lk.target, lk.property, lk.heading, lk.alias) for lk in links(text)]
    assert got == [("A", "related", None, None), ("B", "related", "H", "b"), ("C", "related", None, None)]


def test_chat_export_callouts_and_uid_comments() -> None:
    text = (">[!nexus_user] **User** - 04.07.2025 at 8:02\n> Вопрос про [[LoRA]]\n<!-- UID: abc -->\n\n"
            ">[!nexus_agent] **Assistant** - 04.07.2025 at 8:03\n> | a | b |\n> |---|---|\n> | 1 | 2 |\n"
            "<!-- UID: def -->\n")
    note = parse_note(text, "chat.md")
    assert [c.type for c in note.callouts] == ["nexus_user", "nexus_agent"]
    assert [lk.target for lk in note.links] == ["LoRA"]
    assert "UID" not in note.body


def test_canvas_text_nodes_files_and_labelled_edges() -> None:
    canvas = ('{"nodes": [{"id": "t", "type": "text", "text": "Идея: [[Граф]] #canvas-tag"},'
              '{"id": "a", "type": "file", "file": "A.md"}, {"id": "b", "type": "file", "file": "dir/B.md",'
              ' "subpath": "#Part"}, {"id": "g", "type": "group", "label": "Группа"},'
              '{"id": "u", "type": "link", "url": "https://x.org"}],'
              '"edges": [{"id": "e", "fromNode": "a", "toNode": "b", "label": "ведёт к"},'
              '{"id": "f", "fromNode": "t", "toNode": "u"}]}')
    note = parse_canvas(canvas, "map.canvas")
    assert note.kind == "canvas"
    assert "Идея" in note.body and "Группа" in note.body
    assert note.tags == ("canvas-tag",)
    got = {(lk.target, lk.kind, lk.heading, lk.property) for lk in note.links}
    assert got == {("Граф", "link", None, None), ("A.md", "canvas", None, None), ("dir/B.md", "canvas", "Part", None),
                   ("A.md", "canvas", None, "edge:ведёт к"), ("dir/B.md", "canvas", "Part", "edge:ведёт к")}


@pytest.mark.parametrize("bad", ["{not json", "[1, 2]"])
def test_invalid_canvas_raises_clear_error(bad: str) -> None:
    with pytest.raises(CanvasError, match="canvas:"):
        parse_canvas(bad, "x.canvas")


def test_windows_line_endings() -> None:
    text = "---\r\ntitle: T\r\n---\r\n# Head\r\n```\r\n[[InCode]]\r\n```\r\ntext ^blk\r\n[[Real]] #tag\r\n"
    note = parse_note(text, "n.md")
    assert note.title == "T" and [h.text for h in note.headings] == ["Head"]
    assert note.blocks == ("blk",) and note.tags == ("tag",)
    assert [(lk.target, lk.line) for lk in note.links] == [("Real", 9)]
    assert note.checksum == parse_note(text, "n.md").checksum != parse_note(text.replace("\r", ""), "n.md").checksum


@pytest.mark.parametrize("odd", ['{}', '{"nodes": null, "edges": null}', '{"nodes": "x", "edges": ["junk"]}',
                                 '{"nodes": [{"type": "file"}, {"id": 1}], "edges": [{"fromNode": 9, "label": "x"}]}'])
def test_odd_but_valid_canvas_json_never_raises(odd: str) -> None:
    assert parse_canvas(odd, "c.canvas").links == ()


def test_a_parser_failure_costs_one_file_not_the_run(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vault_sync import SkipFile, read_note, reader

    (tmp_path / "n.md").write_text("text")
    monkeypatch.setattr(reader, "parse_note", lambda *a, **k: 1 / 0)
    with pytest.raises(SkipFile, match=r"could not parse \(ZeroDivisionError"):
        read_note(tmp_path, "n.md")
