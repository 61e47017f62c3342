"""Notes a query names — every word of a note's title, alias or file name among the query's words — and sections
whose heading of two or more words it names.

Why a list of its own: a query that is a note's name ("Progressive summarization", "Дом", "npm ci") is a request
for that note, and search did not always return it first. USE cannot read a two-word English term on Russian text,
a hub note is lowered as a map (the hub penalty), and a longer note that also carries the name gathers dense, note
and link evidence the named note lacks. BM25's names field (×2) is too soft for that: measured with every note's
name as the query (`overlay eval names`, the dev suite's "titles" column), the named note came first in 84–93 %
of them; with this list (weight 1.0) in 98–100 %, and no question of the dev sets moved. The list weighs each
named note by (the share of the query's words that its name covers)², so a query that is the name counts fully
and a question that mentions a one-word name among five words barely moves (1/25). A question about exactly a
name ("что такое GTD", "what is PARA") counts as the name: the asking words (FRAME) are not counted when the rest
of the query is the name ("what is <title>" lookups 78–95 % → 93–98 %, no question moved).

Headings work the same way on the candidate sections the other lists fetched, when one note alone among them has
that heading: heading lookups 72–89 % → 83–94 % hit@1 on the dev sets, no question moved.

A slip in a name's word ("Прогресисвное резюмирование", "npm-pubilsh") is mended before search when no note contains
the word as typed (`NameIndex.spelled`): title lookups with a slip 32–83 % → 97–100 % hit@1, no dev question changed.

Names come from the link graph (the same title, aliases and file name that wiki-links resolve by), stemmed as BM25
stems them (`overlay.index.stems`): word order, case and word forms do not matter, stop words are left out.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable

from rapidfuzz import process
from rapidfuzz.distance import OSA

from graph import LinkGraph
from overlay.index.chunking import is_exchange
from overlay.index.stems import fold, tokenize

MIN_SLIP = 5  # letters: a shorter word one edit from a name's word is as likely another word as a slip
_WORD = re.compile(r"\w+")
MIN_HEADING_STEMS = 2  # a one-word heading ("Итоги", "Setup") names a kind of section, not one section
# The frame of a question about something ("what is …", "что такое …", "расскажи про …"): words that ask, not words
# that name, so they do not count against the share a name covers — "что такое GTD" names the note "GTD" as fully
# as "GTD" does. Stems, as tokenize() makes them (most Russian ones are stop words there already; bm25s's English
# list has none of these). Written out by hand: no stop-word list separates asking words from naming ones.
FRAME = frozenset(tokenize(
    "what which who whom whose when where why how tell explain describe about mean meaning define definition do does "
    "did такое какое какие каких почему сколько расскажи объясни означает значит это"))


class NameIndex:
    """The stems of every note's names, looked up by stem."""

    def __init__(self, graph: LinkGraph, leave_out: Collection[str] = ()) -> None:
        """`leave_out`: notes whose names do not count (the overlay's own answers: an answer titled like the note
        it answers would otherwise share, and halve, that note's name)."""
        self._by_stem: dict[str, list[tuple[str, frozenset[str]]]] = defaultdict(list)
        self._sharing: dict[frozenset[str], int] = defaultdict(int)  # how many notes answer to each name
        # the words of every name, to mend a slip with: {word as compared: (as the name writes it, its stem)}, and
        # the words by first letter and length (a slip keeps the first letter: see spelled)
        self._written: dict[str, tuple[str, str]] = {}
        self._by_start: dict[tuple[str, int], list[str]] = defaultdict(list)
        for path in sorted(set(graph.notes()) - set(leave_out)):
            names = sorted(note_names(graph, path))
            for stems in {frozenset(tokenize(name)) for name in names} - {frozenset()}:
                self._sharing[stems] += 1
                for stem in stems:
                    self._by_stem[stem].append((path, stems))
            for word in (w for name in names for w in _WORD.findall(name) if len(w) >= MIN_SLIP and w.isalpha()):
                folded = fold(word)
                if folded not in self._written and (stems := tokenize(word)):
                    self._written[folded] = (word, stems[0])
                    self._by_start[folded[0], len(folded)].append(folded)

    def has(self, stem: str) -> bool:
        """Whether some note's name has this stem."""
        return stem in self._by_stem

    def spelled(self, query: str, known: Callable[[str], bool]) -> str:
        """`query` with each word that no note has (`known`: is this stem in some note's text or name) and
        that is one slip — a letter left out, added or changed, or two neighbours swapped — from the word of exactly
        one name, written as that name writes it: "Прогресисвное резюмирование" → "Прогрессивное резюмирование",
        "npm-pubilsh" → "npm-publish". A word some note has is never changed, nor a short one, nor one with digits
        ("qwen2" is not a slip of "Qwen3"), nor its first letter: slips there are rare in typing, and every wrong
        mend the dev questions showed was one ("gravel" → "travel", "одели" → "модели"); with it kept, none of
        their 251 questions is changed."""
        def mend(match: re.Match[str]) -> str:
            word = match.group(0)
            stems = tokenize(word)
            if len(word) < MIN_SLIP or not word.isalpha() or not stems or known(stems[0]):
                return word
            folded = fold(word)
            near = {self._written[w] for n in (len(word) - 1, len(word), len(word) + 1)
                    for w, _, _ in process.extract(folded, self._by_start.get((folded[0], n), ()),
                                                   scorer=OSA.distance, score_cutoff=1, limit=None)}
            by_stem = {stem: written for written, stem in sorted(near)}
            return next(iter(by_stem.values())) if len(by_stem) == 1 else word  # two names a slip away: a guess

        return _WORD.sub(mend, query)

    def named(self, query: str) -> dict[str, float]:
        """{path: (share of the query's words its best name covers)² ÷ the number of notes answering to that name}
        for every note all of whose words of some name are in the query; best first, ties by path. A name that
        thirty notes share ("README", "Meeting", "index") names none of them much, as a template's heading does
        not (no dev set has such names: ±0 there)."""
        asked = frozenset(tokenize(query))
        found: dict[str, float] = {}
        for stem in asked:
            for path, stems in self._by_stem.get(stem, ()):
                if stems <= asked:
                    share = _share(stems, asked) / self._sharing[stems]
                    found[path] = max(found.get(path, 0.0), share)
        return dict(sorted(found.items(), key=lambda item: (-item[1], item[0])))


def named_headings(query: str, sections: Iterable[tuple[str, str]]) -> dict[tuple[str, str], float]:
    """{(path, heading): (share of the query's words the heading covers)²} for the candidate sections whose heading
    of two or more words is all in the query — when that heading names a section of one note only among the
    candidates (a template's heading repeated in many notes names none of them). Chat exchanges are no headings."""
    asked = frozenset(tokenize(query))
    notes: dict[frozenset[str], dict[str, tuple[str, str]]] = defaultdict(dict)
    for path, heading in sections:
        stems = heading_stems(heading)
        if stems and stems <= asked:
            notes[stems].setdefault(path, (path, heading))
    return {next(iter(by_note.values())): _share(stems, asked) for stems, by_note in notes.items() if len(by_note) == 1}


def note_names(graph: LinkGraph, path: str) -> set[str]:
    """Every name a note answers to, as wiki-links resolve it: its title, its aliases and its file name."""
    attrs = graph.g.nodes[path]
    return {n.strip() for n in (attrs.get("title", ""), *attrs.get("aliases", ()),
                                path.rsplit("/", 1)[-1].rsplit(".", 1)[0]) if n.strip()}


def heading_stems(heading: str) -> frozenset[str]:
    """The stems of a heading that can name a section (two or more of them; a chat exchange's label is none)."""
    if not heading or is_exchange(heading):
        return frozenset()
    stems = frozenset(tokenize(heading))
    return stems if len(stems) >= MIN_HEADING_STEMS else frozenset()


def _share(name: frozenset[str], asked: frozenset[str]) -> float:
    """(the share of the query's words the name covers)²; 1 when the name is all the query holds besides its frame
    ("что такое GTD", "what is PARA", "расскажи про Zettelkasten")."""
    return 1.0 if asked - FRAME <= name else (len(name) / len(asked)) ** 2
