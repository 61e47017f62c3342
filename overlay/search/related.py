"""The notes most related to one note: semantic neighbours (the note's own vectors as the query) and link
neighbours, fused by reciprocal rank, each marked with whether the two are already linked."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from overlay.search.retrieval import RRF_K, Retriever


@dataclass(frozen=True, slots=True)
class Related:
    path: str
    score: float
    linked: bool
    why: tuple[str, ...]

    def as_dict(self) -> dict:
        return {"path": self.path, "score": self.score, "linked": self.linked, "why": list(self.why)}


def related(retriever: Retriever, path: str, k: int = 10) -> list[Related]:
    ids = retriever.texts.ids_for_paths([path]).get(path, [])
    vectors = retriever.store.embeddings(ids)
    semantic: list[str] = []
    if vectors:
        centroid = np.mean(list(vectors.values()), axis=0)
        centroid /= np.linalg.norm(centroid) or 1.0
        hits = retriever.store.query(centroid, 8 * k)
        rows = retriever.texts.get([h.id for h in hits])
        semantic = list(dict.fromkeys(rows[h.id].path for h in hits if h.id in rows and not rows[h.id].answer))
        semantic = [p for p in semantic if p != path]
    graph = retriever.graph
    backlinks = set(graph.backlinks(path)) if graph else set()
    linked = set(graph.outlinks(path)) | backlinks if graph else set()
    score: dict[str, float] = {}
    why: dict[str, list[str]] = {}
    for rank, other in enumerate(semantic):
        score[other] = score.get(other, 0.0) + 1.0 / (RRF_K + 1 + rank)
        why.setdefault(other, []).append("similar text")
    for other in sorted(linked):
        score[other] = score.get(other, 0.0) + 1.0 / (RRF_K + 1)
        direction = "links to it" if other in backlinks else "linked from it"
        why.setdefault(other, []).append(direction)
    best = sorted(score, key=lambda p: -score[p])[:k]
    return [Related(p, round(score[p], 5), p in linked, tuple(why[p])) for p in best]
