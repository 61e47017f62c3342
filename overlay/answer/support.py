"""Is a cited sentence supported by the source it cites? Two cheap signals, thresholds measured on a labelled
sample (`examples/eval/support-sample.jsonl`, `bench/support_thresholds.py`, README "Answer checks"):

- meaning: the best cosine between the sentence and any one sentence of the source (the bundled embedding model);
- words: the share of the sentence's content-word stems found in the source.

A citation is supported when every number in the sentence occurs in the source (a wrong figure is the commonest
unfaithful claim, and embeddings barely see it) and either signal clears its threshold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from overlay.answer.checks import CITATION
from overlay.index.chunking import chunk_body
from overlay.index.embedding import Embedder
from overlay.index.sentences import Sentence, split
from overlay.index.stems import tokenize

# Measured on the labelled sample (74 claims, bench/support_thresholds.py): precision 0.82, recall 0.98, F1 0.89 —
# the best F1 of the grid. Contradictions that reuse the source's words (5 of 10) are what it cannot see.
MIN_COSINE = 0.40
MIN_OVERLAP = 0.6
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


@dataclass
class Claim:
    sentence: Sentence
    cited: list[int]
    supported: list[int] = field(default_factory=list)
    unsupported: list[int] = field(default_factory=list)

    @property
    def holds(self) -> bool:
        return bool(self.supported)


@dataclass(frozen=True)
class Evidence:
    cosine: float
    overlap: float
    numbers_found: bool


def claims(text: str) -> list[Claim]:
    """The sentences of `text` that cite sources, with the source numbers they cite."""
    out = []
    for sentence in split(text):
        cited = list(dict.fromkeys(int(m.group(1)) for m in CITATION.finditer(sentence.text)))
        if cited:
            out.append(Claim(sentence, cited))
    return out


class SupportChecker:
    """Judges claims against numbered sources; source sentences are embedded once per answer."""

    def __init__(self, embedder: Embedder, sources: dict[int, str],
                 min_cosine: float = MIN_COSINE, min_overlap: float = MIN_OVERLAP) -> None:
        self.embedder, self.sources = embedder, sources
        self.min_cosine, self.min_overlap = min_cosine, min_overlap
        self._vectors: dict[int, np.ndarray] = {}

    def judge(self, text: str) -> list[Claim]:
        found = claims(text)
        if not found:
            return found
        plain = [CITATION.sub("", c.sentence.text).strip() for c in found]
        vectors = self.embedder.embed_documents(plain)
        for claim, sentence, vector in zip(found, plain, vectors, strict=True):
            for n in claim.cited:
                if n not in self.sources:
                    continue  # a citation of no source: the citation check owns that
                if self.supports(self.evidence(sentence, vector, n)):
                    claim.supported.append(n)
                else:
                    claim.unsupported.append(n)
        return found

    def supports(self, evidence: Evidence) -> bool:
        return evidence.numbers_found and (evidence.cosine >= self.min_cosine or evidence.overlap >= self.min_overlap)

    def evidence(self, sentence: str, vector: np.ndarray, n: int) -> Evidence:
        source = self.sources[n]
        return Evidence(cosine=float(np.max(self._source_vectors(n) @ vector)), overlap=word_overlap(sentence, source),
                        numbers_found=numbers_in(sentence, source))

    def _source_vectors(self, n: int) -> np.ndarray:
        if n not in self._vectors:
            body = chunk_body(self.sources[n])
            pieces = [s.text for s in split(body)] or [body]
            self._vectors[n] = np.asarray(self.embedder.embed_documents(pieces), dtype=np.float32)
        return self._vectors[n]


def word_overlap(sentence: str, source: str) -> float:
    mine = set(tokenize(sentence))
    return len(mine & set(tokenize(source))) / len(mine) if mine else 0.0


def numbers_in(sentence: str, source: str) -> bool:
    """Every number the sentence states appears in the source (`4,8` and `4.8` alike)."""
    have = {n.replace(",", ".") for n in _NUMBER.findall(source)}
    return all(n.replace(",", ".") in have for n in _NUMBER.findall(sentence))
