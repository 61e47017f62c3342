"""The numbered sources an answer may cite: retrieved sections that are relevant enough, with their full text,
fitted into the model's context window."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace

from overlay.index.stems import stem, tokenize, words
from overlay.search.retrieval import Period, Retriever, SearchResult


@dataclass(frozen=True)
class Source:
    n: int
    path: str
    heading: str
    text: str
    score: float
    similarity: float | None
    why: tuple[str, ...]
    words: tuple[str, ...]  # words of the question found in this section (BM25's evidence, shown to the reader)
    text_hash: str = ""  # sha1 of the chunk's full text: what the answer was built from (stale-answer tracking)
    date: str = ""  # YYYY-MM-DD the text is from, when known

    def as_dict(self) -> dict[str, object]:
        return {"n": self.n, "path": self.path, "heading": self.heading, "score": self.score}


PER_NOTE = 2  # sections of one note among the sources, at most
SAME_NOTE = 0.5  # a note's next section competes at half its score: other notes come first unless far behind
POOL = 6  # candidates fetched per source slot
# Both measured on the dev sets (`overlay eval answers … --extractive`): 0.7 → 0.5 and 4 → 6 candidates per slot
# lifted the npm set's gold-among-sources from 0.83 to 0.91, facts 0.76 → 0.78, the other two sets unchanged.


def relevant(result: SearchResult, min_similarity: float, shared_words: bool = False) -> bool:
    """A section counts when it is close in meaning or shares a content word with the question; fusion ranks
    always return *something*, and an answer built on noise is worse than saying the notes do not say."""
    close = result.similarity is not None and result.similarity >= min_similarity
    return close or shared_words or "bm25" in result.why


def diverse(results: list[SearchResult], k: int, per_note: int = PER_NOTE) -> list[SearchResult]:
    """Up to k sections, best first, at most `per_note` from one note, a note's second section discounted: a long
    note matching in many sections must not take every slot from the note that answers (measured on a real vault:
    8 of 8 sources from one note, the answering note missed)."""
    picked: list[SearchResult] = []
    count: dict[str, int] = {}
    pool = list(results)
    while pool and len(picked) < k:
        best = max(pool, key=lambda r: r.score * SAME_NOTE ** count.get(r.path, 0))
        pool.remove(best)
        if count.get(best.path, 0) < per_note:
            picked.append(best)
            count[best.path] = count.get(best.path, 0) + 1
    return picked


def gather(retriever: Retriever, question: str, k: int, *, min_similarity: float,
           exclude: Collection[str] = (), include_answers: bool = False, period: Period = None) -> list[Source]:
    """The sources for an answer: diverse relevant sections, then — while slots are left — relevant sections of
    the notes the top hits link to or are linked from."""
    found = retriever.search(question, POOL * k, exclude=exclude, include_answers=include_answers, period=period)
    picked = diverse(_relevant(retriever, question, found, min_similarity), k)
    if len(picked) < k:
        picked += _linked(retriever, question, picked, k - len(picked), min_similarity, exclude, include_answers,
                          period)
    return _sources(retriever, question, picked)


def _relevant(retriever: Retriever, question: str, results: list[SearchResult],
              min_similarity: float) -> list[SearchResult]:
    stems = set(tokenize(question))
    rows = retriever.texts.get([r.chunk_id for r in results])
    return [r for r in results if r.chunk_id in rows
            and relevant(r, min_similarity, bool(stems & set(rows[r.chunk_id].terms.split())))]


def _linked(retriever: Retriever, question: str, picked: list[SearchResult], slots: int, min_similarity: float,
            exclude: Collection[str], include_answers: bool, period: Period) -> list[SearchResult]:
    seeds = list(dict.fromkeys(r.path for r in picked))[:3]
    taken = {(r.path, r.heading) for r in picked}
    notes = {r.path for r in picked}
    candidates = retriever.linked(seeds, question, 3 * slots, include_answers=include_answers,
                                  exclude={*exclude, *notes}, period=period)
    fresh = [r for r in candidates if (r.path, r.heading) not in taken]
    return _relevant(retriever, question, fresh, min_similarity)[:slots]


def _sources(retriever: Retriever, question: str, results: list[SearchResult]) -> list[Source]:
    rows = retriever.texts.get([r.chunk_id for r in results])
    question_words = {stem(w): w for w in words(question)}
    sources = []
    for r in results:
        row = rows.get(r.chunk_id)
        if row is None:
            continue  # replaced by an index run since the search; the next ask sees the new text
        terms = set(row.terms.split())
        matched = tuple(w for s, w in question_words.items() if s in terms and len(w) > 2)
        sources.append(Source(len(sources) + 1, r.path, r.heading, row.text, r.score, r.similarity, r.why, matched,
                              hashlib.sha1(row.text.encode("utf-8", "surrogatepass")).hexdigest(), row.date))
    return sources


def fit(sources: list[Source], budget: int, count: Callable[[str], int]) -> list[Source]:
    """As many sources, best first, as `budget` tokens hold; the last one cut to fit when a useful part does."""
    kept: list[Source] = []
    left = budget
    for source in sources:
        cost = count(source.text) + 12  # + its "[^n] path" line
        if cost <= left:
            kept.append(source)
            left -= cost
            continue
        if left >= 96:
            share = max(int(len(source.text) * (left - 12) / cost), 1)
            kept.append(replace(source, text=source.text[:share].rsplit(" ", 1)[0] + " …"))
        break
    return kept


def render(sources: list[Source]) -> str:
    return "\n\n".join(f"[^{s.n}] ({s.path})\n{s.text.strip()}" for s in sources)
