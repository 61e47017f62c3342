"""Non-prose runs (inline images as data URIs, base64, hex, minified lines) are blanked from the indexed text,
reported, and nothing else changes: prose, line numbers, hashes, URLs, long words."""

from __future__ import annotations

import base64
import os

import pytest

from vault_sync.blobs import describe, strip_blobs
from vault_sync.parser import parse_note

PNG = base64.b64encode(os.urandom(6000)).decode()


def test_a_data_uri_image_is_blanked_and_its_line_reported() -> None:
    text = f"# Киневин\nМодель принятия решений.\n\n![[Pasted image.png]]\n![x](data:image/png;base64,{PNG})\nКонец."
    out, removed = strip_blobs(text)
    assert out == "# Киневин\nМодель принятия решений.\n\n![[Pasted image.png]]\n![x]()\nКонец."
    assert [(r.kind, r.line) for r in removed] == [("data URI", 5)] and removed[0].chars > 8000
    assert describe(removed).startswith("not prose, not indexed: 1 data URI (8 KB) at line 5")
    assert strip_blobs(f"До ![](data:image/png;BASE64,{PNG}) после")[0] == "До ![]() после"  # any case: still an image


@pytest.mark.parametrize("blob", [
    PNG[:600],  # a bare base64 run
    base64.urlsafe_b64encode(base64.b64decode(PNG)[:600]).decode(),  # URL-safe base64: a token, a key
    os.urandom(200).hex(),  # a hex dump
    "var a=" + "function(b){return b+1};" * 80,  # a minified line
    "<svg><path d='" + " ".join(f"M{i * 7 % 97}.{i % 10},{i % 89}.5 L{i}.25,{i + 3}.75" for i in range(80)) + "'/>",
])
def test_other_runs_are_blanked(blob: str) -> None:
    out, removed = strip_blobs(f"До.\n{blob}\nПосле.")
    assert out == "До.\n\nПосле." and len(removed) == 1


def test_wrapped_base64_is_blanked_line_by_line() -> None:
    wrapped = "\n".join(PNG[i:i + 76] for i in range(0, 76 * 8, 76))
    out, removed = strip_blobs(f"Ключ:\n{wrapped}\nКонец.")
    assert out == "Ключ:\n" + "\n" * 8 + "Конец." and removed[0].kind == "wrapped base64 block"


RAW = os.urandom(160)
XXD = "\n".join(f"{i:08x}: " + " ".join(RAW[j:j + 2].hex() for j in range(i, i + 16, 2)) + "  ................"
                for i in range(0, 160, 16))
HEXDUMP_C = "\n".join(f"{i:08x}  " + " ".join(f"{b:02x}" for b in RAW[i:i + 16]) + "  |.ELF......|"
                      for i in range(0, 160, 16))
C_ARRAY = "\n".join(">   " + ", ".join(f"0x{b:02x}" for b in RAW[i:i + 12]) + "," for i in range(0, 96, 12))


@pytest.mark.parametrize("dump", [XXD, HEXDUMP_C, C_ARRAY])
def test_a_pasted_hex_dump_is_blanked_line_by_line(dump: str) -> None:
    n = dump.count("\n") + 1
    out, removed = strip_blobs(f"Заголовок ELF:\n```\n{dump}\n```\nКонец.")
    assert out == "Заголовок ELF:\n```\n" + "\n" * n + "```\nКонец."
    assert [(r.kind, r.line) for r in removed] == [("hex dump", 3)]


def test_decimal_tables_and_short_hex_snippets_stay() -> None:
    decimals = "\n".join(" ".join(str((i * 7 + j * 13) % 100) for j in range(10)) for i in range(12))
    short = "\n".join(XXD.split("\n")[:4])  # four lines: too few to call a dump
    words = "\n".join(["bad face cafe dead beef fade ace add bed"] * 6)  # words spelled in hex letters
    for text in (decimals, short, words):
        assert strip_blobs(text + "\n" + "Текст заметки, который должен остаться. " * 4)[1] == []


def test_script_and_style_elements_are_blanked_to_their_newlines_but_not_inside_code() -> None:
    text = ("# Пост\nТекст.\n<style>\n.a {color: red}\n</style>\n<SCRIPT src=x>var a = 1;\nrun()</SCRIPT> хвост\n"
            "```html\n<script>alert(1)</script>\n```\n")
    out, removed = strip_blobs(text)
    assert out == "# Пост\nТекст.\n\n\n\n\n хвост\n```html\n<script>alert(1)</script>\n```\n"
    assert [(r.kind, r.line) for r in removed] == [("<style> block", 3), ("<script> block", 6)]


@pytest.mark.parametrize("prose", [
    "В 2023 году — 15 %, в 2024-м — 17,5 % (см. таблицу 3). " * 25,  # numbers in prose, 1,400 characters
    "Хэш коммита 3f786850e387550fdab836ed7e6dc881de23001b, sha256 " + "a" * 64 + ", sha512 " + "b" * 128 + " остаются.",
    "https://example.com/" + "/".join(["very-long-path-segment"] * 12) + "?q=1&page=2",
    "Очень длинный абзац без переносов. " * 60,  # 2,000 characters of prose on one line
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ" * 10,  # one case, no digits: not base64
    "[[" + "-".join(["Очень-длинное-имя-заметки-2024"] * 8) + "]] и snake_" + "_".join(["case_name_v2"] * 20),
    "| a | b |\n|---|---|\n" + "| 1 | 2 |\n" * 50,
])
def test_prose_hashes_urls_and_tables_stay(prose: str) -> None:
    assert strip_blobs(prose) == (prose, [])


def test_the_parser_indexes_the_words_and_warns_with_file_lines() -> None:
    text = f"---\ntags: [модели]\n---\n# Киневин\nСложные системы.\n![](data:image/jpg;base64,{PNG})\n[[Связь]]\n"
    note = parse_note(text, "Киневин.md")
    assert PNG[:50] not in note.body and "Сложные системы." in note.body
    assert note.warnings == ("not prose, not indexed: 1 data URI (8 KB) at line 6",)
    assert [link.target for link in note.links] == ["Связь"] and note.links[0].line == 7
    assert note.body.split("\n")[7 - note.body_line] == "[[Связь]]"  # every line still where it was
