from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from overlay.search.evaluation import EvalFileError, Question, links_as_labels, load_questions, score


def q(id_: str, gold: tuple[str, ...], kind: str = "lookup", lang: str = "ru") -> Question:
    return Question(id_, lang, "?", gold, kind)


def test_metrics_by_hand() -> None:
    questions = [q("a", ("A",)), q("b", ("B",), lang="en"), q("c", ("C", "D"), kind="multi-hop"), q("d", ("Z",))]
    ranked = {
        "a": ["A", "x"],  # rank 1
        "b": ["x", "y", "B"],  # rank 3
        "c": ["D", "x", "C"],  # rank 1, both gold in top 10
        "d": ["x"] * 1,  # miss
    }
    result = score(questions, ranked, k=10)
    assert result["n"] == 4
    assert result["hit@1"] == 0.5  # a, c
    assert result["hit@5"] == 0.75
    assert result["mrr"] == round((1 + 1 / 3 + 1 + 0) / 4, 4)
    assert result["all_gold@10"] == 1.0
    assert result["misses"] == ["d"]
    assert result["ranks"] == {"a": 1, "b": 3, "c": 1, "d": None}  # per question: what a change moved
    assert result["by_lang"]["en"] == {"n": 1, "hit@1": 0.0, "hit@5": 1.0, "hit@10": 1.0, "mrr": round(1 / 3, 4),
                                       "ndcg@5": 0.5}  # rank 3: 1 / log2(4)
    both = (1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3))  # c: gold at ranks 1 and 3 of the best possible 1 and 2
    assert result["ndcg@5"] == round((1 + 0.5 + both + 0) / 4, 4)
    assert result["by_kind"]["multi-hop"]["hit@1"] == 1.0


def test_hit_at_k_counts_distinct_paths_only_within_k() -> None:
    result = score([q("a", ("G",))], {"a": [f"n{i}" for i in range(5)] + ["G"]}, k=5)
    assert result["hit@5"] == 0.0 and result["hit@10"] == 1.0 and result["mrr"] == 0.0
    assert result["ranks"] == {"a": None}  # beyond k


def test_load_questions_validates_with_line_numbers(tmp_path: Path) -> None:
    good = {"id": "1", "lang": "ru", "question": "?", "gold": ["a.md"], "answer_facts": [], "kind": "link"}
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps(good) + "\n\n" + json.dumps({**good, "gold": []}) + "\n")
    with pytest.raises(EvalFileError, match=r"q\.jsonl:3: a question needs a kind label and at least one gold"):
        load_questions(path)
    path.write_text(json.dumps(good) + "\n{broken\n")
    with pytest.raises(EvalFileError, match=r":2: not a question line"):
        load_questions(path)
    path.write_text(json.dumps(good))
    assert load_questions(path)[0].kind == "link"


def test_example_dev_set_is_well_formed() -> None:
    from tests.conftest import EXAMPLE_VAULT, ROOT

    questions = load_questions(ROOT / "examples" / "eval" / "examples-vault.jsonl")
    assert len(questions) >= 40
    assert {x.lang for x in questions} == {"ru", "en"}
    assert {x.kind for x in questions} == {"lookup", "multi-hop", "link"}
    assert all((EXAMPLE_VAULT / g).is_file() for x in questions for g in x.gold)


def test_links_as_labels_hides_link_names(vault: Path, fake_index) -> None:
    from graph import LinkGraph
    from overlay.index.chunk_store import ChunkStore
    from tests.conftest import write

    write(vault, "Source.md", "Long enough text about training and recovery that mentions [[Target note|the alias]] "
                              "and goes on for a while so that it can stand as a question on its own.")
    write(vault, "Target note.md", "target")
    ix = fake_index(vault)
    ix.run()
    questions = links_as_labels(LinkGraph.load(ix.settings.graph_path), ChunkStore(ix.settings.chunks_path))
    assert len(questions) == 1
    only = questions[0]
    assert only.gold == ("Target note.md",) and only.exclude == ("Source.md",) and only.lang == "en"
    assert "target note" not in only.question.lower() and "the alias" not in only.question.lower()


def test_any_kind_label_is_scored_and_reported() -> None:
    questions = [q("a", ("G",)), Question("b", "en", "?", ("G",), "paraphrase"), Question("c", "en", "?", ("G",),
                                                                                          "my-own-kind")]
    result = score(questions, {"a": ["G"], "b": ["x", "G"], "c": []}, k=10)
    assert list(result["by_kind"]) == ["lookup", "paraphrase", "my-own-kind"]
    assert result["by_kind"]["paraphrase"]["hit@5"] == 1.0 and result["by_kind"]["my-own-kind"]["hit@10"] == 0.0
