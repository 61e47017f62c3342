"""Answer evaluation: the retrieval question format (`gold`, optional `answer_facts`) run through `ask` without
writing notes. Per question: a gold note among the sources, distinct notes, citations valid, links resolved, cited
sentences supported, prompt echoes removed, answer language, and the share of the expected facts the answer states
(fuzzy: a fact counts as stated when its numbers all occur and most of its word stems do) — in the answer's own
sections, not in the snippets the related-notes lists quote."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from overlay.answer.ask import AskResult
from overlay.errors import OverlayError
from overlay.index.stems import tokenize
from overlay.search.evaluation import Question
from vault_sync.script import language

FACT_STEMS = 0.6  # of a fact's word stems that must occur in the answer (hedges like "около" need not)
_NUMBER = re.compile(r"\d+(?:[.,:]\d+)?")
METRICS = ("gold_in_sources", "distinct_notes", "citations_valid", "links_resolved", "supported", "echo_removed",
           "language_match", "facts", "seconds")


def fact_stated(fact: str, answer: str) -> bool:
    numbers = [n.replace(",", ".") for n in _NUMBER.findall(fact)]
    said = {n.replace(",", ".") for n in _NUMBER.findall(answer)}
    if any(n not in said for n in numbers):
        return False
    stems = [t for t in tokenize(fact) if not _NUMBER.fullmatch(t)]
    if not stems:
        return bool(numbers)
    have = set(tokenize(answer))
    return sum(t in have for t in stems) >= FACT_STEMS * len(stems)


def score_one(question: Question, result: AskResult, seconds: float) -> dict[str, Any]:
    data = result.as_dict()
    checks = data["checks"]
    paths = {s["path"] for s in data["sources"]}
    prose = "\n".join(section.text for section in result.draft.sections)  # not the related-notes quotes
    facts = [fact_stated(f, prose) for f in question.answer_facts]
    return {
        "id": question.id, "lang": question.lang, "kind": question.kind,
        "gold_in_sources": float(bool(paths & set(question.gold))),
        "distinct_notes": float(data["distinct_notes"]),
        "citations_valid": _share(checks["citations_valid"], checks["citations_total"]),
        "links_resolved": _share(checks["links_resolved"], checks["links_total"]),
        "supported": _share(checks["supported"], checks["cited_sentences"]),
        "echo_removed": float(checks["echo_removed"]),
        "language_match": float(data["language"] == (question.lang or language(question.question))),
        "facts": sum(facts) / len(facts) if facts else None,
        "seconds": round(seconds, 3),
        "model": data["model"],
    }


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 1.0


def evaluate(questions: list[Question], answer: Callable[[Question], AskResult]) -> dict[str, Any]:
    """Every question answered and scored; one that fails (an engine error) is listed in `failed` with its reason
    and left out of the means, and the run goes on: a long evaluation is not lost to one question."""
    rows, failed = [], []
    for q in questions:
        started = time.perf_counter()
        try:
            result = answer(q)
        except OverlayError as exc:
            failed.append({"id": q.id, "error": str(exc)})
            continue
        rows.append(score_one(q, result, time.perf_counter() - started))
    out: dict[str, Any] = {"n": len(rows), **_means(rows), "failed": failed}
    for field in ("lang", "kind"):
        groups = sorted({r[field] for r in rows})
        out[f"by_{field}"] = {g: {"n": sum(r[field] == g for r in rows), **_means([r for r in rows if r[field] == g])}
                              for g in groups}
    out["model"] = rows[0]["model"] if rows else None
    out["questions"] = rows
    return out


def _means(rows: list[dict[str, Any]]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for key in METRICS:
        values = [r[key] for r in rows if r[key] is not None]
        out[key] = round(sum(values) / len(values), 4) if values else None
    return out
