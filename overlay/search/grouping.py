"""Search results one row per note, its best sections underneath — how a person scans results (and what the peers
show); the flat list of sections stays available (`search --sections`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from overlay.search.retrieval import Period, Retriever, SearchResult

SECTIONS_PER_NOTE = 3
DEPTH = 3  # sections fetched per note asked for: enough that k notes come back


@dataclass(frozen=True)
class NoteResult:
    path: str
    score: float  # its best section's
    sections: tuple[SearchResult, ...]

    @property
    def why(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(w for s in self.sections for w in s.why))

    def as_dict(self) -> dict[str, Any]:
        sections = [{k: v for k, v in s.as_dict().items() if k != "path"} for s in self.sections]
        return {"path": self.path, "score": self.score, "why": list(self.why), "ranked_by": self.sections[0].ranked_by,
                "sections": sections}


def by_note(results: list[SearchResult], k: int, per_note: int = SECTIONS_PER_NOTE) -> list[NoteResult]:
    """Sections grouped under their notes, notes in the order of their best section, k notes."""
    grouped: dict[str, list[SearchResult]] = {}
    for result in results:
        sections = grouped.setdefault(result.path, [])
        if len(sections) < per_note:
            sections.append(result)
    notes = [NoteResult(path, sections[0].score, tuple(sections)) for path, sections in grouped.items()]
    return notes[:k]


def best_notes(retriever: Retriever, query: str, k: int, *, mode: str = "hybrid", include_answers: bool = False,
               exclude: tuple[str, ...] = (), period: Period = None) -> list[NoteResult]:
    sections = retriever.search(query, max(DEPTH * k, 40), mode=mode, include_answers=include_answers,
                                exclude=exclude, period=period)
    return by_note(sections, k)
