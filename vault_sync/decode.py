"""Bytes -> text for vault files that arrive in every state real vaults contain.

Hand-written on purpose: charset detectors (charset-normalizer, chardet) guess per file with no notion of *certain*,
and ftfy only repairs the Windows/Latin-1 family by default. The rules here are few and each is certain or reported.
"""

from __future__ import annotations

import math
import re
from typing import NamedTuple

from vault_sync.script import LATIN, has_cyrillic

# UTF-8 text that was decoded with one of these and saved again as UTF-8 round-trips exactly back.
_MOJIBAKE_CODECS = ("mac_roman", "cp1252")
_CONTROL_BYTES = bytes([*range(0, 9), *range(14, 32)])
_WORD = re.compile(r"[^\W\d_]+")  # runs of letters


class UndecodableFile(ValueError):
    """The bytes are not a text note (binary junk, or no encoding fits)."""


class Decoded(NamedTuple):
    text: str
    encoding: str
    note: str | None  # a human sentence when anything was guessed or repaired


def decode_bytes(raw: bytes) -> Decoded:
    """Decode a note: UTF-8 (with or without BOM), UTF-16 with BOM (without one when its characters fall in the
    Latin, Cyrillic and punctuation blocks, reported), else cp1251 (or cp1252 for Western text, KOI8-R or CP866 for
    Russian text in those older encodings) reported as a guess.

    Afterwards, mojibake from a UTF-8 file read as Mac-Roman or Windows-1252 is reversed when the reversal is exact.
    """
    if raw.startswith(b"\xef\xbb\xbf"):
        text, enc, note = raw[3:].decode("utf-8", errors="strict"), "utf-8-sig", None
    elif raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        text, enc, note = raw.decode("utf-16"), "utf-16", None
    elif (bare := _utf16_without_bom(raw)) is not None:
        text, enc = bare
        note = f"no byte-order mark; read as {enc.upper()}: its characters fall in the Latin and Cyrillic blocks"
    else:
        _reject_binary(raw)
        try:
            text, enc, note = raw.decode("utf-8"), "utf-8", None
        except UnicodeDecodeError as exc:
            text, enc = _decode_legacy(raw, exc)
            note = f"not valid UTF-8 (byte {exc.start}); decoded as {enc}, a guess"
    repaired, codec = repair_mojibake(text)
    if codec:
        note = (note + "; " if note else "") + f"mojibake repaired (UTF-8 text that had been read as {codec})"
    return Decoded(repaired, enc, note)


# The high byte of a UTF-16 code unit in text of our languages: Basic Latin and Latin-1 (0x00), Latin Extended
# (0x01), Cyrillic (0x04), dashes, quotes and the ellipsis (0x20), № and ™ (0x21).
_TEXT_HIGH_BYTES = frozenset((0x00, 0x01, 0x04, 0x20, 0x21))
_TEXT_CONTROLS = frozenset("\t\n\r\f")


def _utf16_without_bom(raw: bytes) -> tuple[str, str] | None:
    """(text, codec) for UTF-16 saved without a byte-order mark — certain enough: nearly every high byte names a
    Latin, Cyrillic or punctuation block, a tenth or more are ASCII (spaces, line ends), and the text decodes with
    no control character. Binary data fails one of these."""
    if len(raw) < 4 or len(raw) % 2 or b"\x00" not in raw[:8192]:
        return None
    head = raw[:8192]
    for codec, high in (("utf-16-le", head[1::2]), ("utf-16-be", head[0::2])):
        if sum(b in _TEXT_HIGH_BYTES for b in high) < 0.98 * len(high) or high.count(0) < 0.1 * len(high):
            continue
        try:
            text = raw.decode(codec)
        except UnicodeDecodeError:
            continue
        if not any(c < " " and c not in _TEXT_CONTROLS for c in text):
            return text, codec
    return None


def editable_utf8(raw: bytes) -> str:
    """A note's text for an edit written back as UTF-8: valid UTF-8 with no NUL in it — UTF-16 saved without a
    byte-order mark is valid UTF-8 when every character is ASCII or plain Cyrillic, and writing UTF-8 into it would
    break the file. UnicodeDecodeError otherwise, as for any other encoding."""
    text = raw.decode("utf-8")
    if "\x00" in text:
        at = text.index("\x00")
        raise UnicodeDecodeError("utf-8", raw, at, at + 1, "a NUL byte: UTF-16 without a byte-order mark")
    return text


def _reject_binary(raw: bytes) -> None:
    head = raw[:8192]
    if b"\x00" in head:
        raise UndecodableFile("binary content (NUL bytes): not a text note")
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    if head and controls / len(head) > 0.05:
        raise UndecodableFile(f"binary content ({controls} control bytes in the first {len(head)}): not a text note")


def _decode_legacy(raw: bytes, utf8_error: UnicodeDecodeError) -> tuple[str, str]:
    """cp1251 (Russian Windows) unless the result reads as Western text: cp1251 decodes every byte but 0x98, so a
    cp1252/Latin-1 note (`café`) comes out as `cafй`, Cyrillic letters inside Latin words. When most words with a
    non-ASCII letter are such hybrids and cp1252 decodes the bytes, cp1252 it is; KOI8-R or CP866 when Russian reads
    clearly better that way (_older_russian). Each is reported as a guess."""
    try:
        text = raw.decode("cp1251")
    except UnicodeDecodeError:  # 0x98, the one byte cp1251 lacks: "Ш" in CP866
        older = _older_russian(raw, None)
        if older is None:
            raise UndecodableFile(f"not UTF-8 ({utf8_error.reason} at byte {utf8_error.start}) nor cp1251") from None
        return older
    if _mostly_hybrid_words(text):
        try:
            return raw.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            pass
    return _older_russian(raw, text) or (text, "cp1251")


# How often each letter occurs in Russian text (per cent; the usual corpus table). The same bytes read in the wrong one
# of the Russian encodings turn frequent letters into rare ones (or, in CP866, into box drawing), so the mean log
# frequency of the non-ASCII characters tells the encodings apart in a sentence or two.
_RUSSIAN_LETTERS = dict(zip("оеаинтсрвлкмдпуяыьгзбчйхжшюцщэфъё", (
    10.97, 8.45, 8.01, 7.35, 6.70, 6.26, 5.47, 4.73, 4.54, 4.40, 3.49, 3.21, 2.98, 2.81, 2.62, 2.01, 1.90, 1.74, 1.70,
    1.65, 1.59, 1.44, 1.21, 0.97, 0.94, 0.73, 0.64, 0.48, 0.36, 0.32, 0.26, 0.04, 0.04), strict=True))
_LOG_FREQUENCY = {c: math.log(p / 100) for c, p in _RUSSIAN_LETTERS.items()}
_NOT_A_LETTER = math.log(1e-4)  # box drawing, symbols: what a wrong code page makes of letters
_OLDER_RUSSIAN = ("koi8_r", "cp866")  # Unix mail and old archives; DOS. Both decode every byte.
OLDER_MIN_CHARS, OLDER_MARGIN = 20, 0.3  # non-ASCII characters needed; nats per character
RUSSIAN_AT_LEAST = -4.5  # mean log frequency of Russian text read right: -3.0 to -3.8 (all capitals -3.8)
SAMPLE_BYTES = 65536  # the letters of the first 64 KB decide (a pasted book would otherwise cost seconds)


def _older_russian(raw: bytes, cp1251: str | None) -> tuple[str, str] | None:
    """KOI8-R or CP866 when the text reads as Russian clearly better that way than as cp1251 (KOI8-R read as
    cp1251 comes out as "ъБНЕФЛБ" for "Заметка"); None when neither does. Without a cp1251 reading (its one
    undefined byte), the better of the two if it reads as Russian at all."""
    sample = raw[:SAMPLE_BYTES]  # every codec here is one byte per character
    score = _russian_likelihood(cp1251[:SAMPLE_BYTES])[0] + OLDER_MARGIN if cp1251 is not None else RUSSIAN_AT_LEAST
    found = None
    for codec in _OLDER_RUSSIAN:
        likelihood, count = _russian_likelihood(sample.decode(codec))
        if count >= OLDER_MIN_CHARS and likelihood > score:
            found, score = (raw.decode(codec), codec), likelihood
    return found


def _russian_likelihood(text: str) -> tuple[float, int]:
    """(mean log frequency of the non-ASCII characters as Russian letters, how many there are)."""
    wide = [c.lower() for c in text if ord(c) > 127]
    if not wide:
        return _NOT_A_LETTER, 0
    return sum(_LOG_FREQUENCY.get(c, _NOT_A_LETTER) for c in wide) / len(wide), len(wide)


def _mostly_hybrid_words(text: str) -> bool:
    words = [w for w in _WORD.findall(text) if not w.isascii()]
    hybrid = sum(1 for w in words if LATIN.search(w) and has_cyrillic(w))
    return bool(words) and hybrid > len(words) / 2


def repair_mojibake(text: str) -> tuple[str, str | None]:
    """Undo `utf8_bytes.decode(codec)` when it is certain: the whole text re-encodes under the codec and the
    bytes are valid UTF-8 that differs from the input. Real text in any language almost never survives both
    (Cyrillic cannot be encoded by either codec; Western accents re-encode to invalid UTF-8), so this is safe.
    Returns (text, codec or None)."""
    if text.isascii() or has_cyrillic(text):
        return text, None
    for codec in _MOJIBAKE_CODECS:
        try:
            fixed = text.encode(codec).decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
        if fixed != text:
            return fixed, codec
    return text, None
