"""Which writing system a text is written in: Cyrillic or Latin. One place for a question every layer asks (which
stemmer, which answer language, which language a question set or the audit note is in)."""

from __future__ import annotations

import re

CYRILLIC = re.compile(r"[\u0400-\u04FF]")  # the whole Cyrillic block: Russian, and Ukrainian і/ї/є, Serbian ђ, ...
LATIN = re.compile(r"[A-Za-z]")


def has_cyrillic(text: str) -> bool:
    return CYRILLIC.search(text) is not None


def cyrillic_letters(text: str) -> int:
    return len(CYRILLIC.findall(text))


def language(text: str) -> str:
    """"ru" when Cyrillic letters are at least as many as Latin ones (and there is one), else "en"."""
    return "ru" if cyrillic_letters(text) >= max(1, len(LATIN.findall(text))) else "en"
