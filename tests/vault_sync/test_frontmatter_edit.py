"""Frontmatter edits are textual: the output is the input plus the two lines, nothing else moves."""

from __future__ import annotations

import pytest
import yaml

from vault_sync.frontmatter_edit import FrontmatterEditError, set_keys

KEYS = {"overlay": "answered", "overlay_answer": "[[Overlay/2026-11-30 Сколько часов сна]]"}
ADDED = 'overlay: answered\noverlay_answer: "[[Overlay/2026-11-30 Сколько часов сна]]"\n'

CORPUS = {
    "times, octal-looking and leading zeros, yes/no, comments": (
        "---\n# my note\ntime: 12:30\nzip: 0123\nmode: 0o755\ndone: yes\nflag: No  # keep\n---\nbody\n"),
    "flow list and mapping, quoting styles": (
        "---\ntags: [a, b]\nmeta: {x: 1, y: 'two'}\nsingle: 'it''s'\ndouble: \"tab\\there\"\n---\n# H\n"),
    "anchors and aliases": "---\nbase: &b\n  x: 1\nother: *b\nlist:\n- one\n- &two two\n- *two\n---\ntext",
    "multi-line strings": (
        "---\nliteral: |\n  line one\n  line two\nfolded: >-\n  a\n  b\nkeep: |+\n  x\n\n---\nbody\n"),
    "dates and unicode keys": "---\ncreated: 2025-07-04\nдата: 2025-07-04T10:00:00\nключ: значение\n---\n",
    "block sequence at the margin": "---\ntags:\n- вопрос\n- сон\naliases:\n  - Сон\n---\nbody",
    "empty block": "---\n---\nbody\n",
    "a last line that is a comment": "---\na: 1\n# trailing comment\n---\n",
    "a longer fence": "----\na: 1\n----\nbody\n",
}


@pytest.mark.parametrize("name", list(CORPUS))
def test_the_output_is_the_input_plus_two_lines(name: str) -> None:
    text = CORPUS[name]
    fence = text.split("\n", 1)[0]
    close = text.index(f"\n{fence}\n", len(fence) - 1) + 1  # where the closing fence line starts
    out = set_keys(text, KEYS)
    assert out == text[:close] + ADDED + text[close:]
    loaded = yaml.safe_load(out[len(fence) + 1:out.index(f"\n{fence}\n", close - 1)])
    assert loaded == {**(yaml.safe_load(text[len(fence) + 1:close]) or {}), **KEYS}


def test_crlf_and_bom_are_kept() -> None:
    text = "\ufeff---\r\ntime: 12:30 # c\r\n---\r\nтело\r\n"
    out = set_keys(text, KEYS)
    assert out == "\ufeff---\r\ntime: 12:30 # c\r\n" + ADDED.replace("\n", "\r\n") + "---\r\nтело\r\n"


def test_existing_keys_are_replaced_in_place_and_nothing_else_moves() -> None:
    text = "---\nz: 1\noverlay: ask   # asked on Monday\nb: [x]\noverlay_answer:\n  - old\n  - older\nc: 2\n---\nq\n"
    out = set_keys(text, KEYS)
    assert out == ("---\nz: 1\noverlay: answered\nb: [x]\n"
                   'overlay_answer: "[[Overlay/2026-11-30 Сколько часов сна]]"\nc: 2\n---\nq\n')


def test_a_note_without_frontmatter_gets_a_block_at_the_top() -> None:
    assert set_keys("Сколько часов? #overlay/ask", KEYS) == "---\n" + ADDED + "---\nСколько часов? #overlay/ask"
    assert set_keys("\ufeffq\r\n", KEYS) == "\ufeff---\r\n" + ADDED.replace("\n", "\r\n") + "---\r\nq\r\n"


@pytest.mark.parametrize("text", [
    "---\ntags: [a, b\n---\nq\n",  # broken YAML
    "---\n- a\n- b\n---\nq\n",  # a list, not a mapping
    "---\na: 1\nno closing fence\n",
    "---\noverlay: ask\noverlay: ask\n---\nq\n",  # duplicate keys: replacing one would not set the value
])
def test_unsafe_frontmatter_is_refused_and_named(text: str) -> None:
    with pytest.raises(FrontmatterEditError):
        set_keys(text, KEYS)


def test_a_mistyped_date_elsewhere_in_the_block_does_not_stop_the_edit() -> None:
    text = "---\ndate: 2025-13-45\n---\nq\n"
    assert set_keys(text, KEYS) == "---\ndate: 2025-13-45\n" + ADDED + "---\nq\n"


def test_values_that_yaml_would_misread_are_quoted() -> None:
    for value in ("yes", "12:30", "0123", "2025-13-45", "a: b", "#x", " lead", "[[x]]", 'say "hi"', "back\\slash", "",
                  "null"):
        out = set_keys("---\n---\n", {"k": value})
        assert yaml.safe_load(out.split("---\n")[1]) == {"k": value}, value
    assert set_keys("---\n---\n", {"overlay": "answered"}) == "---\noverlay: answered\n---\n"
