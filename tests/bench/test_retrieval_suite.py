"""The suite's verdict on a ranking change: the rule, the questions it moved, and whether that is more than chance."""

from __future__ import annotations

from typing import Any

import pytest

from bench.retrieval_suite import compare, moved, sign_test


def run(hit1: float, ranks: dict[str, int | None]) -> dict[str, Any]:
    return {"hit@1": hit1, "hit@5": 1.0, "mrr": hit1, "ranks": ranks}


def test_moved_lists_the_questions_that_became_and_stopped_being_a_hit_at_1() -> None:
    before = {"a": 1, "b": 2, "c": None, "d": 1, "e": 3}
    after = {"a": 1, "b": 1, "c": 1, "d": 4, "e": 2, "new": 1}
    assert moved(before, after) == (["b", "c"], ["d"])
    assert moved(None, after) == ([], [])  # a run saved before ranks were kept


@pytest.mark.parametrize(("gains", "losses", "p"), [(0, 0, 1.0), (1, 1, 1.0), (3, 2, 1.0), (5, 0, 0.0625),
                                                     (6, 0, 0.03125), (10, 2, 0.0386)])
def test_sign_test_is_the_exact_two_sided_binomial(gains: int, losses: int, p: float) -> None:
    assert sign_test(gains, losses) == pytest.approx(p, abs=5e-4)
    assert sign_test(losses, gains) == pytest.approx(p, abs=5e-4)


def test_compare_keeps_by_the_rule_and_says_when_the_moves_are_within_chance() -> None:
    saved = {"results": {"x": run(0.5, {"a": 1, "b": 2, "c": 2, "d": 1}), "y": run(0.5, {"e": 1, "f": 2})}}
    results = {"x": run(0.75, {"a": 1, "b": 1, "c": 1, "d": 2}), "y": run(0.5, {"e": 1, "f": 2})}
    lines, keep = compare(results, saved)
    assert keep  # macro up, no set lost
    assert "gained b, c; lost d" in lines
    assert "+2 −1; sign test p = 1.00 (within chance" in lines

    results["y"] = run(0.0, {"e": 3, "f": 2})  # a set lost 50 points: not kept, however the macro moved
    lines, keep = compare(results, saved)
    assert not keep and "do not keep" in lines
