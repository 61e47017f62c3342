"""An answer without a language model: the sentences of the sources that best answer the question, quoted as they
stand, grouped by note, each with its footnote. Invents nothing, needs no GPU, takes well under a second once the
embedding model is loaded — the honest default when no capable model is configured (the bundled 135M model cannot
write Russian).

A sentence's score is its cosine to the question (the embedding model), plus half the share of the question's
content words it contains, plus a prior from its section's retrieval score; a question (it asks, it does not
answer), an inline field (`key:: value`, metadata) or a fragment of under MIN_WORDS words does not compete. The best
are taken, at most PER_SOURCE from one section and never one below FLOOR × the best, then shown in the order of the
sources and of the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from overlay.answer.checks import inert
from overlay.answer.sources import Source
from overlay.answer.support import word_overlap
from overlay.index.chunking import chunk_body
from overlay.index.embedding import Embedder
from overlay.index.sentences import split
from overlay.index.stems import words

MAX_SENTENCES = 8
PER_SOURCE = 3
FLOOR = 0.6
WORD_WEIGHT = 0.5
PRIOR_WEIGHT = 0.25
MIN_WORDS = 4
_FIELD = re.compile(r"^[\w][\w \t.-]{0,60}::")


@dataclass(frozen=True)
class Quote:
    source: int  # the source's number, its footnote
    position: int  # order within the source
    text: str
    score: float


def select(question: str, sources: list[Source], embedder: Embedder) -> list[Quote]:
    candidates = [(s, i, sentence.flat) for s in sources for i, sentence in enumerate(split(chunk_body(s.text)))
                  if _answers(sentence.flat)]
    if not candidates:
        return []
    top = max(s.score for s in sources) or 1.0
    vectors = np.asarray(embedder.embed_documents([c[2] for c in candidates]), dtype=np.float32)
    meaning = vectors @ np.asarray(embedder.embed_query(question), dtype=np.float32)
    scored = [Quote(source.n, i, text, float(cos) + WORD_WEIGHT * word_overlap(question, text)
                    + PRIOR_WEIGHT * max(source.score, 0.0) / top)
              for (source, i, text), cos in zip(candidates, meaning, strict=True)]
    scored.sort(key=lambda q: -q.score)
    floor = FLOOR * scored[0].score
    picked: list[Quote] = []
    seen: set[str] = set()
    per_source: dict[int, int] = {}
    for quote in scored:
        key = " ".join(words(quote.text))
        if quote.score < floor or len(picked) >= MAX_SENTENCES or key in seen:
            continue
        if per_source.get(quote.source, 0) >= PER_SOURCE:
            continue
        picked.append(quote)
        seen.add(key)
        per_source[quote.source] = per_source.get(quote.source, 0) + 1
    return sorted(picked, key=lambda q: (q.source, q.position))


def _answers(text: str) -> bool:
    """Could state an answer: enough words, not a question, not an inline field."""
    return len(words(text)) >= MIN_WORDS and not text.rstrip().endswith("?") and not _FIELD.match(text)


def render(quotes: list[Quote], sources: list[Source]) -> str:
    """The section's text: per note (in source order) its title, then its quoted sentences with footnotes."""
    by_n = {s.n: s for s in sources}
    blocks: list[str] = []
    for n in dict.fromkeys(q.source for q in quotes):
        source = by_n[n]
        name = source.path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        title = name + (f" › {source.heading}" if source.heading and source.heading != name else "")
        lines = "\n".join(f"- {inert(q.text)} [^{n}]" for q in quotes if q.source == n)
        blocks.append(f"**{inert(title)}**\n{lines}")
    return "\n\n".join(blocks)
