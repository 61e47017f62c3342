"""Words typed with the other keyboard layout switched on: "ghjuhtccbdyjt htp.vbhjdfybt" is "прогрессивное
резюмирование" typed on the Latin layout, "тзь" is "npm" typed on the Russian one — the slip every Russian user
makes, and one no embedding model and no stemmer reads.

A word no note contains is read on the other layout when every stem of what that gives is in the vault (BM25's
vocabulary); once one word of a query has been read so, the stop words typed the same way are too ("ghb" → "при"),
since the query was typed on the wrong layout. A word some note has is never changed.

The key map is the standard Russian ЙЦУКЕН layout over US QWERTY, written out by hand: it is 66 keys, and no
maintained library converts between the two (the ones on PyPI are abandoned one-file scripts).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from overlay.index.stems import tokenize
from vault_sync.script import has_cyrillic

_LATIN = "`qwertyuiop[]asdfghjkl;'zxcvbnm,.~QWERTYUIOP{}ASDFGHJKL:\"ZXCVBNM<>"
_CYRILLIC = "ёйцукенгшщзхъфывапролджэячсмитьбюЁЙЦУКЕНГШЩЗХЪФЫВАПРОЛДЖЭЯЧСМИТЬБЮ"
TO_CYRILLIC = str.maketrans(_LATIN, _CYRILLIC)
TO_LATIN = str.maketrans(_CYRILLIC, _LATIN)
# A word as typed: Latin keys (letters and the punctuation keys that are Russian letters), or Cyrillic letters;
# with its digits ("Йцут3" is "Qwen3").
_TYPED = re.compile(r"[A-Za-z0-9`\[\];',.~{}:\"<>]*[A-Za-z`\[\];'~{}:\"<>][A-Za-z0-9`\[\];',.~{}:\"<>]*"
                    r"|[А-Яа-яЁё0-9]*[А-Яа-яЁё][А-Яа-яЁё0-9]*")
_PUNCTUATION = ",.;:'\""  # keys that end a word as often as they are a letter (б, ю, ж, э on the Russian layout)
MIN_LETTERS = 2
ONE_LETTER_WORDS = frozenset("авиксуояai")


def other_layout(word: str) -> str:
    """`word` as the same keys give it on the other layout."""
    return word.translate(TO_LATIN if has_cyrillic(word) else TO_CYRILLIC)


def relayout(query: str, known: Callable[[str], bool]) -> str:
    """`query` with each word typed on the wrong layout read on the right one (see the module's docstring)."""
    words = [(m, _read(m.group(0), known)) for m in _TYPED.finditer(query)]
    swapped = {m.start(): other for m, other in words if other is not None}
    if not swapped:
        return query
    for m, _ in words:  # the same query's stop words were typed on the same layout ("b" → "и")
        typed = m.group(0)
        core = typed.rstrip(_PUNCTUATION) or typed
        if m.start() not in swapped and _is_stop_word(other_layout(core)) and not _is_word(typed, known):
            swapped[m.start()] = other_layout(core) + typed[len(core):]
    out, at = [], 0
    for m, _ in words:
        if m.start() in swapped:
            out += [query[at:m.start()], swapped[m.start()]]
            at = m.end()
    return "".join([*out, query[at:]])


def _read(typed: str, known: Callable[[str], bool]) -> str | None:
    """The word on the other layout, when it is a word of the vault and the word as typed is not."""
    if len(typed) < MIN_LETTERS or _is_word(typed, known):
        return None
    core = typed.rstrip(_PUNCTUATION)
    for keys in dict.fromkeys((typed, core)):  # "jib,rf," is "ошибка," before it is "ошибкаб"
        other = other_layout(keys)
        stems = tokenize(other)
        if keys and stems and all(known(stem) for stem in stems) and re.fullmatch(r"\w+", other):
            return other + typed[len(keys):]
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
    return bool(re.fullmatch(r"[^\W\d_]+", word)) and not tokenize(word)
