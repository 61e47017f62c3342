"""What the name list costs at scale: building the name index (the stems and words of every note's names) and one
query's lookups — the notes it names, and a slip mended — on synthetic notes; and what reading a query typed on
the wrong keyboard layout costs (the vault's letter triples, built once per BM25 index on the first such query,
then one query's reading).

    .venv/bin/python bench/names_bench.py --notes 10000

The titles are three or four made-up words each (two thirds Cyrillic), every seventh note with an alias, so the
index holds about as many distinct name words as notes times three: more than a real vault of that size has (its
titles repeat words), i.e. an upper bound on what mending a slip compares. The queries are sampled titles, each
with a slip (`with_typo`). Prints the build time and the two lookups' p50 / p95, to set against the hybrid
search's 80 ms target.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from graph import LinkGraph
from overlay.index.stems import tokenize
from overlay.search.evaluation import on_wrong_layout, with_typo
from overlay.search.layout import Letters, relayout
from overlay.search.names import NameIndex
from vault_sync.parser import parse_note


def _word(rng: random.Random, *, cyrillic: bool) -> str:
    letters = "абвгдежзийклмнопрстуфхцчшщыьэюя" if cyrillic else "abcdefghijklmnopqrstuvwxyz"
    return "".join(rng.choice(letters) for _ in range(rng.randint(4, 12)))


def _text_words(rng: random.Random, notes: int) -> list[str]:
    """Stand-ins for the words of the notes' text (BM25's vocabulary): six new ones a note, more than real notes add
    once a vault has a few thousand."""
    return [_word(rng, cyrillic=i % 3 != 0) for i in range(6 * notes)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notes", type=int, default=10000)
    parser.add_argument("--queries", type=int, default=500)
    args = parser.parse_args()
    rng = random.Random(3)
    notes = []
    for i in range(args.notes):
        title = " ".join(_word(rng, cyrillic=i % 3 != 0) for _ in range(rng.randint(3, 4)))
        alias = f"aliases: [{_word(rng, cyrillic=True)} {_word(rng, cyrillic=True)}]\n" if i % 7 == 0 else ""
        notes.append(parse_note(f"---\n{alias}---\n# {title}\n\ntext\n", f"notes/{title}.md"))
    graph = LinkGraph()
    graph.apply(notes)
    t0 = time.perf_counter()
    names = NameIndex(graph)
    built = time.perf_counter() - t0
    titles = [graph.g.nodes[p]["title"] for p in rng.sample(graph.notes(), min(args.queries, len(graph.notes())))]
    queries = [with_typo(t, rng) or t for t in titles]
    vocabulary = {stem for node in graph.notes() for stem in tokenize(graph.g.nodes[node]["title"])}

    def known(stem: str) -> bool:
        return stem in vocabulary

    named, mended = [], []
    for query in queries:
        t0 = time.perf_counter()
        spelled = names.spelled(query, known)
        mended.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        names.named(spelled)
        named.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    letters = Letters([*vocabulary, *_text_words(rng, args.notes)])
    triples = time.perf_counter() - t0
    relaid = []
    for title in titles:
        typed = on_wrong_layout(title)
        t0 = time.perf_counter()
        relayout(typed, known, lambda: letters)
        relaid.append(time.perf_counter() - t0)
    words = len(names._written)
    print(f"notes {len(graph.notes())}, name words {words}")
    print(f"build {built * 1000:.0f} ms")
    print(f"letter triples of {len(vocabulary) + 6 * args.notes} words: {triples * 1000:.0f} ms")
    for label, times in (("mend", mended), ("named", named), ("read layout", relaid)):
        ms = sorted(t * 1000 for t in times)
        print(f"{label} p50 {statistics.median(ms):.2f} ms, p95 {ms[int(len(ms) * 0.95)]:.2f} ms")


if __name__ == "__main__":
    main()
