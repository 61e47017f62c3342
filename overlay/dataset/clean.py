"""Text hygiene for training data: personal identifiers replaced, duplicates found.

Hand-written: the patterns are a handful of regular expressions (and a Luhn check, so that long numbers that are
not card numbers stay); the near-duplicate test is MinHash over word trigrams with LSH banding, a few lines with
hashlib, where a dedicated library (datasketch) would be one more dependency for twenty lines.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-zA-Zа-яА-Я]{2,}")
URL = re.compile(r"(?:https?://|www\.)[^\s<>()\[\]\"']+[^\s<>()\[\]\"'.,;:!?]")
CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
PHONE = re.compile(r"(?<![\w+])(?:\+\d{1,3}[ -]?|8[ -]?)?\(?\d{3}\)?[ -]?\d{3}[ -]?\d{2}[ -]?\d{2}(?!\d)")
PLACEHOLDERS = {"email": "<EMAIL>", "url": "<URL>", "card": "<CARD>", "phone": "<PHONE>"}


def redact(text: str, counts: dict[str, int] | None = None) -> str:
    """E-mails, URLs, card-like numbers (Luhn-valid) and phone numbers replaced by placeholders; `counts` gains how
    many of each."""
    counts = counts if counts is not None else {}

    def sub(kind: str, pattern: re.Pattern[str], text: str, keep=lambda _m: False) -> str:
        def replace(m: re.Match[str]) -> str:
            if keep(m):
                return m.group(0)
            counts[kind] = counts.get(kind, 0) + 1
            return PLACEHOLDERS[kind]
        return pattern.sub(replace, text)

    text = sub("email", EMAIL, text)
    text = sub("url", URL, text)
    text = sub("card", CARD, text, keep=lambda m: not _luhn(re.sub(r"\D", "", m.group(0))))
    return sub("phone", PHONE, text)


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def normalised(text: str) -> str:
    """The words of a text, lower-cased, digits and punctuation gone: two exports of one chat (other dates, other
    ids, other markup) normalise alike."""
    return " ".join(re.findall(r"[^\W\d_]+", text.casefold()))


PERMUTATIONS, BANDS = 64, 16  # 16 bands of 4: pairs with Jaccard ≥ ~0.8 meet in some band
_PRIME = (1 << 61) - 1
_A = [int.from_bytes(hashlib.blake2b(f"a{i}".encode(), digest_size=8).digest(), "big") % _PRIME | 1
      for i in range(PERMUTATIONS)]
_B = [int.from_bytes(hashlib.blake2b(f"b{i}".encode(), digest_size=8).digest(), "big") % _PRIME
      for i in range(PERMUTATIONS)]


def shingles(text: str) -> set[int]:
    words = normalised(text).split()
    grams = [" ".join(words[i:i + 3]) for i in range(max(len(words) - 2, 1))]
    return {int.from_bytes(hashlib.blake2b(g.encode(), digest_size=8).digest(), "big") for g in grams if g}


def signature(items: set[int]) -> tuple[int, ...]:
    if not items:
        return (0,) * PERMUTATIONS
    return tuple(min((a * x + b) % _PRIME for x in items) for a, b in zip(_A, _B, strict=True))


class NearDuplicates:
    """Texts seen so far; `seen(text)` says whether one of them shares ≥ `threshold` of its word trigrams."""

    def __init__(self, threshold: float = 0.9) -> None:
        self.threshold = threshold
        self.exact: set[str] = set()
        self.buckets: dict[tuple[int, tuple[int, ...]], list[int]] = {}
        self.sets: list[set[int]] = []

    def seen(self, text: str) -> str | None:
        """None for a new text (it is remembered), else "duplicate" or "near-duplicate"."""
        key = hashlib.sha1(normalised(text).encode()).hexdigest()
        if key in self.exact:
            return "duplicate"
        grams = shingles(text)
        sig = signature(grams)
        rows = PERMUTATIONS // BANDS
        bands = [(b, sig[b * rows:(b + 1) * rows]) for b in range(BANDS)]
        candidates = {i for band in bands for i in self.buckets.get(band, ())}
        if any(_jaccard(grams, self.sets[i]) >= self.threshold for i in candidates):
            return "near-duplicate"
        self.exact.add(key)
        self.sets.append(grams)
        for band in bands:
            self.buckets.setdefault(band, []).append(len(self.sets) - 1)
        return None


def _jaccard(a: Iterable[int], b: set[int]) -> float:
    a = set(a)
    return len(a & b) / len(a | b) if a or b else 1.0
