from __future__ import annotations

import pytest

from tests.conftest import SEEDS
from vault_sync import UndecodableFile, decode_bytes, repair_mojibake

RU = "Привет, мир! Заметка о сне и тренировках — с эмодзи 🧠 и «кавычками»."


def test_utf8_plain_and_bom() -> None:
    assert decode_bytes(RU.encode()) == (RU, "utf-8", None)
    assert decode_bytes(b"\xef\xbb\xbf" + RU.encode()) == (RU, "utf-8-sig", None)


def test_utf16_with_bom() -> None:
    assert decode_bytes(RU.encode("utf-16")).text == RU


def test_cp1251_is_a_reported_guess() -> None:
    text = "Старая заметка в кодировке Windows-1251"
    decoded = decode_bytes(text.encode("cp1251"))
    assert decoded.text == text and decoded.encoding == "cp1251"
    assert "cp1251" in decoded.note and "guess" in decoded.note


@pytest.mark.parametrize("codec", ["mac_roman", "cp1252"])
def test_mojibake_repaired_when_exact(codec: str) -> None:
    text = "Привет — hello\n| таблица | ✔ |\n"
    broken = text.encode("utf-8").decode(codec, errors="strict") if codec == "mac_roman" else None
    if broken is None:
        pytest.importorskip("encodings.cp1252")
        try:
            broken = text.encode("utf-8").decode("cp1252")
        except UnicodeDecodeError:
            broken = "ÐŸÑ€Ð¸Ð²ÐµÑ‚"  # "Привет" read as cp1252
            text = "Привет"
    decoded = decode_bytes(broken.encode("utf-8"))
    assert decoded.text == text
    assert "mojibake repaired" in decoded.note and codec in decoded.note


@pytest.mark.parametrize("genuine", [
    "café au lait — naïve résumé",  # Western accents: re-encode to invalid UTF-8, left alone
    "Ångström ±5 µm, 25 °C",
    "plain ascii",
    "Русский текст с – тире",
])
def test_real_text_is_not_repaired(genuine: str) -> None:
    assert repair_mojibake(genuine) == (genuine, None)


@pytest.mark.parametrize(("raw", "why"), [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "NUL"),
    (bytes(range(1, 9)) * 200, "control bytes"),
])
def test_binary_junk_rejected(raw: bytes, why: str) -> None:
    with pytest.raises(UndecodableFile, match=why):
        decode_bytes(raw)


def test_legacy_bytes_never_decoded_silently() -> None:
    decoded = decode_bytes("Ünïcödé".encode("latin-1"))
    assert decoded.encoding == "cp1252" and "a guess" in decoded.note
    with pytest.raises(UndecodableFile, match="nor cp1251"):
        decode_bytes(b"abc \x98\xff")


RUSSIAN = "Заметка о проекте: сегодня я начал переносить старые записи и проверил, как работает поиск по ним."


@pytest.mark.parametrize(("text", "codec"), [
    ("Съешь же ещё этих мягких французских булок, Qwen3 и iPhone", "cp1251"),
    ("Фёдор купил iPhoneы", "cp1251"),  # one hybrid word among Russian ones
    ("café, résumé, naïve — Größe über München", "cp1252"),  # cp1251 would give "cafй", "Grцяe"
    (RUSSIAN, "koi8_r"),  # read as cp1251: "ъБНЕФЛБ П РТПЕЛФЕ: ..."
    (RUSSIAN, "cp866"),
    ("Шпаргалка по старым заметкам: что перенести в новое хранилище", "cp866"),  # "Ш" is the byte cp1251 lacks
    (RUSSIAN.upper(), "cp1251"),  # all capitals: still cp1251
    ("Сьогодні я переглянув старі нотатки і знайшов їх дуже корисними", "cp1251"),  # Ukrainian: not "fixed"
    ("Заметка", "cp1251"),  # too short to tell: the common one
])
def test_a_legacy_note_is_read_in_the_codec_its_words_make_sense_in(text: str, codec: str) -> None:
    decoded = decode_bytes(text.encode(codec))
    assert (decoded.text, decoded.encoding) == (text, codec) and f"decoded as {codec}, a guess" in decoded.note


@pytest.mark.skipif(not (SEEDS / "as-received").is_dir(), reason="the user's seed notes are not beside the repo")
def test_users_real_files_decode_to_the_repaired_versions() -> None:
    for received in sorted((SEEDS / "as-received").iterdir()):
        expected = (SEEDS / "decoded" / received.name).with_suffix(".md").read_text(encoding="utf-8")
        decoded = decode_bytes(received.read_bytes())
        assert decoded.text == expected, received.name
        assert "mac_roman" in decoded.note


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark_is_read_and_reported(codec: str) -> None:
    text = "---\ntitle: Заметка\n---\nТекст про [[Связь]] — «кавычки», № 5…\r\nEnglish too.\n"
    decoded = decode_bytes(text.encode(codec))
    assert (decoded.text, decoded.encoding) == (text, codec) and "no byte-order mark" in decoded.note


@pytest.mark.parametrize("raw", [
    bytes(4096),  # zeros: a sparse binary file
    b"\x00\x01\x00\x02" * 500,  # control characters as UTF-16
    "中文笔记内容".encode("utf-16-le") * 50,  # not our blocks: no guess, rejected as before
    b"PK\x03\x04" + bytes(range(256)) * 8,  # an archive
])
def test_binary_is_not_taken_for_utf16(raw: bytes) -> None:
    with pytest.raises(UndecodableFile, match="binary content"):
        decode_bytes(raw)
