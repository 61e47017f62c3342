"""Words typed with the other keyboard layout switched on: "ghjuhtccbdyjt htp.vbhjdfybt" is "прогрессивное
резюмирование" typed on the Latin layout, "тзь" is "npm" typed on the Russian one — the slip every Russian user
makes, and one no embedding model and no stemmer reads.

A word no note contains is read on the other layout when every stem of what that gives is in the vault (BM25's
vocabulary) — a word of two or three letters only when no other word of the query is a word of the vault as typed:
that short, one vault word in twenty-odd thousand reads as another ("its" → "шеы", "ex" → "уч"). Once one word of
a query has been read so, the query was typed on the wrong layout, and its other words that no note has are read
so too when they look like words on the other layout and not as typed ("dbcbn" is no English but "висит" is
Russian): their letter triples, against those of the vault's own words (`Letters`); the stop words likewise ("ghb"
→ "при"). A word the vault has is never changed, and a word that looks like a word as
typed stays ("как запустить вщслук": only "вщслук" → "docker").

The key map is the standard Russian ЙЦУКЕН layout over US QWERTY, written out by hand: it is 66 keys, and no
maintained library converts between the two (the ones on PyPI are abandoned one-file scripts).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from overlay.index.stems import fold, tokenize
from vault_sync.script import has_cyrillic

_LATIN = "`qwertyuiop[]asdfghjkl;'zxcvbnm,.~QWERTYUIOP{}ASDFGHJKL:\"ZXCVBNM<>"
_CYRILLIC = "ёйцукенгшщзхъфывапролджэячсмитьбюЁЙЦУКЕНГШЩЗХЪФЫВАПРОЛДЖЭЯЧСМИТЬБЮ"
TO_CYRILLIC = str.maketrans(_LATIN, _CYRILLIC)
TO_LATIN = str.maketrans(_CYRILLIC, _LATIN)
# A word as typed: Latin keys (letters and the punctuation keys that are Russian letters; a letter among them), or
# Cyrillic letters; with its digits ("Йцут3" is "Qwen3").
_TYPED = re.compile(r"[A-Za-z0-9`\[\];',.~{}:\"<>]*[A-Za-z][A-Za-z0-9`\[\];',.~{}:\"<>]*"
                    r"|[А-Яа-яЁё0-9]*[А-Яа-яЁё][А-Яа-яЁё0-9]*")
_PUNCTUATION = ",.;:'\""  # keys that end a word as often as they are a letter (б, ю, ж, э on the Russian layout)
MIN_LETTERS = 2
SURE_LETTERS = 4  # a word this long read on the other layout is evidence on its own; a shorter one is when the
# query has no word the vault reads as typed ("тзь сш", "ljv")
ONE_LETTER_WORDS = frozenset("авиксуояai")
_LETTERS_ONLY = re.compile(r"[^\W\d_]+")
WORDLIKE, GIBBERISH = 0.5, 0.25  # shares of a word's letter triples found among the vault's words


class Letters:
    """The letter triples of a vocabulary (the vault's stems and the stop words), each word read from its start:
    how much a string looks like a word of the vault's languages, with no language model."""

    def __init__(self, words: Iterable[str]) -> None:
        self._triples = {triple for word in words for triple in _triples(word)}

    def share(self, word: str) -> float:
        """The share of `word`'s letter triples that some word of the vocabulary has."""
        triples = _triples(fold(word))
        return sum(t in self._triples for t in triples) / len(triples) if triples else 0.0


def _triples(word: str) -> list[str]:
    marked = "^" + word
    return [marked[i:i + 3] for i in range(len(marked) - 2)]


def other_layout(word: str) -> str:
    """`word` as the same keys give it on the other layout."""
    return word.translate(TO_LATIN if has_cyrillic(word) else TO_CYRILLIC)


def relayout(query: str, known: Callable[[str], bool], letters: Callable[[], Letters] | None = None) -> str:
    """`query` with each word typed on the wrong layout read on the right one (see the module's docstring).
    `letters` gives the vault's letter triples, asked for only when a query was typed on the wrong layout."""
    words = [(m, _read(m.group(0), known)) for m in _TYPED.finditer(query)]
    swapped = {m.start(): other for m, other in words if other is not None}
    if not any(len(other) >= SURE_LETTERS for other in swapped.values()) and any(
            _is_word(m.group(0), known) for m, _ in words):
        return query  # a short word alone in a query the vault reads ("its" → "шеы", "ex" → "уч"): a chance match
    if not swapped:
        return query
    for m, _ in words:  # the rest of a query typed on the wrong layout: its stop words ("b" → "и"), and what looks
        typed = m.group(0)  # like a word on the other layout only
        if m.start() in swapped or _is_word(typed, known):
            continue
        other = _as_word(typed)
        if other is not None and _typed_so_too(typed, other, letters):
            swapped[m.start()] = other
    out, at = [], 0
    for m, _ in words:
        if m.start() in swapped:
            out += [query[at:m.start()], swapped[m.start()]]
            at = m.end()
            if query.startswith("&", at) and has_cyrillic(swapped[m.start()]):  # Shift+7, "?" on the Russian keys
                out.append("?")
                at += 1
    return "".join([*out, query[at:]])


def _read(typed: str, known: Callable[[str], bool]) -> str | None:
    """The word on the other layout, when it is a word of the vault and the word as typed is not."""
    if len(re.sub(r"\W", "", typed)) < MIN_LETTERS or _is_word(typed, known):  # letters as typed: ",A;" is none
        return None
    core = typed.rstrip(_PUNCTUATION)
    for keys in dict.fromkeys((typed, core)):  # "jib,rf," is "ошибка," before it is "ошибкаб"
        other = other_layout(keys)
        stems = tokenize(other)
        if keys and stems and all(known(stem) for stem in stems) and re.fullmatch(r"\w+", other):
            return other + typed[len(keys):]
    return None


def _typed_so_too(typed: str, other: str, letters: Callable[[], Letters] | None) -> bool:
    """Whether a word of a query typed on the wrong layout was typed so too: a stop word on the other layout, or
    a word there and gibberish as typed."""
    if _is_stop_word(re.sub(r"\W", "", other)):
        return True
    return letters is not None and letters().share(other) >= WORDLIKE and letters().share(typed) < GIBBERISH


def _as_word(typed: str) -> str | None:
    """`typed` on the other layout when that is a word — all of it ("b.y." is "июню"), else all but its trailing
    punctuation ("rfr," is "как,") —; None when neither is."""
    core = typed.rstrip(_PUNCTUATION)
    for keys in dict.fromkeys((typed, core)):
        if keys and _LETTERS_ONLY.fullmatch(other_layout(keys)):
            return other_layout(keys) + typed[len(keys):]
    return None


def _is_word(typed: str, known: Callable[[str], bool]) -> bool:
    """Whether the word as typed, of two letters or more, is a word of the vault or a stop word (its letters only:
    "word," is "word")."""
    letters = re.sub(r"\W", "", typed)
    stems = tokenize(letters)
    return len(letters) > 1 and (_is_stop_word(letters) or (bool(stems) and all(known(stem) for stem in stems)))


def _is_stop_word(word: str) -> bool:
    """A stop word (tokenize keeps none), or a word of one letter ("и", "в", "a")."""
    if len(word) == 1:
        return word.lower() in ONE_LETTER_WORDS
    return bool(_LETTERS_ONLY.fullmatch(word)) and not tokenize(word)
