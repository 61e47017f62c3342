"""The numbered sources an answer may cite: retrieved sections that are relevant enough, with their full text,
fitted into the model's context window."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace

from overlay.index.stems import stem
from overlay.search.retrieval import Retriever, SearchResult

_WORD = re.compile(r"\w+", re.UNICODE)


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

    def as_dict(self) -> dict[str, object]:
        return {"n": self.n, "path": self.path, "heading": self.heading, "score": self.score}


def relevant(result: SearchResult, min_similarity: float) -> bool:
    """A section counts when it is close in meaning or shares a content word with the question; fusion ranks
    always return *something*, and an answer built on noise is worse than saying the notes do not say."""
    return "bm25" in result.why or (result.similarity is not None and result.similarity >= min_similarity)


def gather(retriever: Retriever, question: str, k: int, *, min_similarity: float,
           exclude: Collection[str] = (), include_answers: bool = False) -> list[Source]:
    results = retriever.search(question, 2 * k, exclude=exclude, include_answers=include_answers)
    results = [r for r in results if relevant(r, min_similarity)][:k]
    rows = retriever.texts.get([r.chunk_id for r in results])
    question_words = {stem(w): w for w in _WORD.findall(question.lower().replace("ё", "е"))}
    sources = []
    for r in results:
        row = rows.get(r.chunk_id)
        if row is None:
            continue  # replaced by an index run since the search; the next ask sees the new text
        terms = set(row.terms.split())
        words = tuple(w for s, w in question_words.items() if s in terms and len(w) > 2)
        sources.append(Source(len(sources) + 1, r.path, r.heading, row.text, r.score, r.similarity, r.why, words))
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
