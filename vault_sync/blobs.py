"""Text in a note that is not prose: inline images as data URIs, long base64 or hex runs, pasted hex dumps, minified
one-line blobs, long lines of numbers and symbols (an inline SVG's path data), and the insides of HTML `<script>` and
`<style>` elements (a published note's widget code: Obsidian shows none of it).

A real vault pasted with images carries them inline (`![x](data:image/png;base64,iVBOR…)`): on one vault 43 such
notes became 89 % of all chunks, slowed the first index 19-fold and buried the notes' words. `strip_blobs` blanks
them in the indexed text (each removed run becomes empty; newlines stay, so every line number holds) and says what
it removed, for the note's warnings. The file itself is never touched. Hand-written: no library we use detects
these, and the rules are a few regular expressions.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from vault_sync.markdown import mask_code

# A data URI with a base64 payload, to the end of the payload (no spaces, no newline in it).
_DATA_URI = re.compile(r"data:[\w.+-]+/[\w.+-]+(?:;[\w.+-]+=[\w.+-]+)*;(?i:base64),[A-Za-z0-9+/=_-]+", re.ASCII)
# A run of base64 alphabet (or its URL-safe form, `-` and `_` for `+` and `/`: tokens, keys) with no space: at least
# 200 characters, mixing upper and lower case and digits.
_BASE64_RUN = re.compile(r"(?<![\w+/=-])[A-Za-z0-9+/_-]{200,}={0,2}(?![\w+/=-])", re.ASCII)
_HEX_RUN = re.compile(r"(?<![0-9A-Fa-f])[0-9A-Fa-f]{256,}(?![0-9A-Fa-f])")  # hashes (40-128) stay
_WRAPPED_LINE = re.compile(r"^[ \t>]*[A-Za-z0-9+/]{60,}={0,2}[ \t]*$", re.ASCII)  # one line of wrapped base64
WRAPPED_MIN_LINES = 5
# A token of a hex dump (`xxd`, `hexdump -C`, `od -x`, a C array): a byte group, or the offset that starts a line.
_HEX_TOKEN = re.compile(r"(?:0[xX])?[0-9A-Fa-f]{2,16}[,;:]?", re.ASCII)
HEX_DUMP_MIN_TOKENS, HEX_DUMP_TOKEN_SHARE, HEX_DUMP_LETTER_SHARE, HEX_DUMP_DIGIT_SHARE = 8, 0.7, 0.2, 0.5
MINIFIED_MIN_CHARS, MINIFIED_MAX_SPACE_SHARE = 1000, 0.05  # prose is ~15 % spaces, in Russian as in English
# A long line whose non-space characters are mostly not letters: path data, number dumps. Prose lines of the dev
# vaults hold 77 % letters and more, their CSS and minified JSON 58 %, a sentence dense with figures ~35 %, SVG path
# data ~10 %.
SYMBOLS_MAX_LETTER_SHARE = 0.2
_SCRIPT_STYLE = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Removed:
    kind: str  # "data URI", "base64 run", "hex run", "minified line", "<script> block", …
    line: int  # 1-based line of the text given
    chars: int


def strip_blobs(text: str) -> tuple[str, list[Removed]]:
    """(text with every non-prose run blanked, what was removed). Text without any comes back unchanged."""
    if len(text) < 128:
        return text, []
    removed: list[Removed] = []
    text = _blank_script_style(text, removed)
    lines = text.split("\n")
    _blank_wrapped(lines, removed)
    _blank_hex_dumps(lines, removed)
    for i, line in enumerate(lines):
        if len(line) >= 128:
            lines[i] = _strip_line(line, i + 1, removed)
    if not removed:
        return text, []
    return "\n".join(lines), sorted(removed, key=lambda r: r.line)


def describe(removed: list[Removed]) -> str:
    """One warning line: "not indexed: 3 data URIs (812 KB) at lines 4, 9, 12"."""
    kinds: dict[str, list[Removed]] = {}
    for r in removed:
        kinds.setdefault(r.kind, []).append(r)
    parts = []
    for kind, rows in kinds.items():
        lines = ", ".join(str(r.line) for r in rows[:5]) + (", …" if len(rows) > 5 else "")
        size = sum(r.chars for r in rows)
        amount = f"{size / 1024:.0f} KB" if size >= 1024 else f"{size} chars"
        plural = "s" if len(rows) > 1 else ""
        parts.append(f"{len(rows)} {kind}{plural} ({amount}) at line{plural} {lines}")
    return "not prose, not indexed: " + "; ".join(parts)


_DATA_URI_BYTES = re.compile(_DATA_URI.pattern.encode("ascii"))  # the same rule on the raw file


def bytes_beside_data_uris(raw: bytes) -> int:
    """The size of a file less its inline data URIs: what the size limit weighs (a note with ten pasted screenshots
    is several MB of base64 around a page of text, and its text should be indexed)."""
    return len(raw) - sum(len(m.group()) for m in _DATA_URI_BYTES.finditer(raw))


_PATTERNS = (("data URI", _DATA_URI, False), ("base64 run", _BASE64_RUN, True), ("hex run", _HEX_RUN, False))


def _strip_line(line: str, number: int, removed: list[Removed]) -> str:
    for kind, pattern, must_mix in _PATTERNS:
        def blank(m: re.Match[str], kind: str = kind, must_mix: bool = must_mix) -> str:
            if must_mix and not _mixed(m.group()):
                return m.group()
            removed.append(Removed(kind, number, len(m.group())))
            return ""

        line = pattern.sub(blank, line)
    if len(line) >= MINIFIED_MIN_CHARS and sum(c.isspace() for c in line) / len(line) < MINIFIED_MAX_SPACE_SHARE:
        removed.append(Removed("minified line", number, len(line)))
        return ""
    if len(line) >= MINIFIED_MIN_CHARS and _letter_share(line) < SYMBOLS_MAX_LETTER_SHARE:
        removed.append(Removed("line of numbers and symbols", number, len(line)))
        return ""
    return line


def _letter_share(line: str) -> float:
    solid = [c for c in line if not c.isspace()]
    return sum(c.isalpha() for c in solid) / len(solid) if solid else 1.0


def _blank_script_style(text: str, removed: list[Removed]) -> str:
    """`<script>…</script>` and `<style>…</style>` blanked to their newlines — unless inside code, where the user
    wrote them down to be read."""
    if "<" not in text:
        return text
    masked = None

    def blank(m: re.Match[str]) -> str:
        nonlocal masked
        if masked is None:
            masked = mask_code(text)
        if masked[m.start()] != text[m.start()]:
            return m.group()
        removed.append(Removed(f"<{m.group(1).lower()}> block", text.count("\n", 0, m.start()) + 1, len(m.group())))
        return "\n" * m.group().count("\n")

    return _SCRIPT_STYLE.sub(blank, text)


def _mixed(run: str) -> bool:
    """Base64 mixes upper case, lower case and digits; a long word or a path of one case does not."""
    return any(c.isupper() for c in run) and any(c.islower() for c in run) and any(c.isdigit() for c in run)


def _blank_wrapped(lines: list[str], removed: list[Removed]) -> None:
    """Base64 wrapped at 64 or 76 columns (a pasted key, a MIME part): runs of WRAPPED_MIN_LINES such lines."""
    _blank_runs(lines, removed, "wrapped base64 block", lambda line: bool(_WRAPPED_LINE.match(line)) and _mixed(line))


def _blank_hex_dumps(lines: list[str], removed: list[Removed]) -> None:
    """A pasted hex dump: runs of WRAPPED_MIN_LINES lines of 8+ tokens, 70 % of them byte groups or offsets (the
    ASCII column may follow), where at least a fifth of the groups show a hex letter or an `0x` — so a table of
    decimal numbers, which the user may search for, stays — and half show a digit (words spelled in a–f stay)."""
    def reads_as_dump(run: list[str]) -> bool:
        tokens = [t for line in run for t in _hex_tokens(line) or []]
        lettered = sum(t[:2] in ("0x", "0X") or any(c in "abcdefABCDEF" for c in t) for t in tokens)
        digits = sum(any(c.isdigit() for c in t) for t in tokens)
        return lettered >= HEX_DUMP_LETTER_SHARE * len(tokens) and digits >= HEX_DUMP_DIGIT_SHARE * len(tokens)

    _blank_runs(lines, removed, "hex dump", lambda line: _hex_tokens(line) is not None, reads_as_dump)


def _blank_runs(lines: list[str], removed: list[Removed], kind: str, member: Callable[[str], bool],
                whole: Callable[[list[str]], bool] = lambda run: True) -> None:
    """Blank each run of WRAPPED_MIN_LINES or more consecutive `member` lines that is `whole` as a run."""
    start = None
    for i in range(len(lines) + 1):
        inside = i < len(lines) and member(lines[i])
        if inside and start is None:
            start = i
        elif not inside and start is not None:
            run = lines[start:i]
            if len(run) >= WRAPPED_MIN_LINES and whole(run):
                removed.append(Removed(kind, start + 1, sum(len(x) for x in run)))
                lines[start:i] = [""] * len(run)
            start = None


def _hex_tokens(line: str) -> list[str] | None:
    """The line's hex tokens if it reads as a line of a hex dump, else None."""
    if len(line) < 3 * HEX_DUMP_MIN_TOKENS - 1:  # eight groups of two and the spaces between
        return None
    tokens = line.lstrip(" \t>").split()
    if len(tokens) < HEX_DUMP_MIN_TOKENS:
        return None
    hex_tokens = [t for t in tokens if _HEX_TOKEN.fullmatch(t)]
    return hex_tokens if len(hex_tokens) >= HEX_DUMP_TOKEN_SHARE * len(tokens) else None
