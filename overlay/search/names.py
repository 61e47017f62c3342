"""Notes a query names: every word of a note's title, alias or file name among the query's words.

Why a list of its own: a query that is a note's name ("Progressive summarization", "Дом", "npm ci") is a request
for that note, and search did not always return it first. USE cannot read a two-word English term on Russian text,
a hub note is lowered as a map (the hub penalty), and a longer note that also carries the name gathers dense, note
and link evidence the named note lacks. BM25's names field (×2) is too soft for that: measured with every note's
name as the query (`overlay eval titles`, the dev suite's "titles" column), the named note came first in 84–93 %
of them; with this list (weight 1.0) in 98–100 %, and no question of the dev sets moved. The list weighs each
named note by (the share of the query's words that its name covers)², so a query that is the name counts fully
and a question that mentions a one-word name among five words barely moves (1/25).

Names come from the link graph (the same title, aliases and file name that wiki-links resolve by), stemmed as BM25
stems them (`overlay.index.stems`): word order, case and word forms do not matter, stop words are left out.
"""

from __future__ import annotations

from collections import defaultdict

from graph import LinkGraph
from overlay.index.stems import tokenize


class NameIndex:
    """The stems of every note's names, looked up by stem."""

    def __init__(self, graph: LinkGraph) -> None:
        self._by_stem: dict[str, list[tuple[str, frozenset[str]]]] = defaultdict(list)
        for path in sorted(graph.notes()):
            attrs = graph.g.nodes[path]
            stem_of_file = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
            names = {frozenset(tokenize(name)) for name in (attrs.get("title", ""), *attrs.get("aliases", ()),
                                                            stem_of_file) if name}
            for stems in names - {frozenset()}:
                for stem in stems:
                    self._by_stem[stem].append((path, stems))

    def named(self, query: str) -> dict[str, float]:
        """{path: (share of the query's words its best name covers)²} for every note all of whose words of some
        name are in the query; best first, ties by path."""
        asked = frozenset(tokenize(query))
        found: dict[str, float] = {}
        for stem in asked:
            for path, stems in self._by_stem.get(stem, ()):
                if stems <= asked:
                    found[path] = max(found.get(path, 0.0), (len(stems) / len(asked)) ** 2)
        return dict(sorted(found.items(), key=lambda item: (-item[1], item[0])))
