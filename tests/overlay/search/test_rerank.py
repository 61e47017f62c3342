"""The reranker stage: the blend's ordering logic with a deterministic fake, the stage each result was ranked by,
top results that do not depend on k, and the two shapes of rerank servers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from overlay.search.grouping import best_notes
from overlay.search.rerank import RerankError, blend, make_reranker
from overlay.settings import load_settings
from tests.conftest import write
from tests.fake_servers import Script, fake_server


class PrefersWord:
    """A deterministic reranker: a passage scores 1 when it holds the word, else 0."""

    name = "fake:prefers"

    def __init__(self, word: str) -> None:
        self.word, self.calls = word, []

    def score(self, query: str, passages: Sequence[str]) -> list[float]:
        self.calls.append(len(passages))
        return [1.0 if self.word in p else 0.0 for p in passages]


def test_the_blend_keeps_fusions_top_unless_the_reranker_disagrees_strongly() -> None:
    fused = [1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05, 0.0]
    # the reranker likes the 2nd and the last most: the 2nd (top 3, 75 % fused) overtakes the 1st only because
    # the 1st scores 0 with the reranker; the last (40 % fused) climbs over the middle of the list
    reranked = [0.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 1.0]
    scores = blend(fused, reranked)
    order = sorted(range(len(fused)), key=lambda i: -scores[i])
    assert order[0] == 1 and order[1] == 0
    assert order.index(11) < order.index(8)
    assert blend([0.5, 0.5], [3.0, -2.0]) == [1.0, 0.75]  # equal fused scores: both 1; the reranker decides


def test_search_reranks_the_top_candidates_and_says_so(vault: Path, fake_index) -> None:
    for i in range(12):  # fusion ranks by how many of the query's words a note has: 0-3 best, 8-11 last
        words = ["сон", *(["восстановление"] if i < 8 else []), *(["отдых"] if i < 4 else []),
                 *(["пульс"] if i == 9 else [])]
        write(vault, f"Заметка {i}.md", f"# Заметка {i}\nЗдесь {' и '.join(words)}, запись номер {i}.\n")
    ix = fake_index(vault)
    ix.run()
    plain = ix.retriever()
    query = "сон восстановление отдых"
    before = [n.path for n in best_notes(plain, query, 12)]
    assert before.index("Заметка 9.md") >= 8
    reranked = ix.retriever()
    reranked.reranker, reranked.rerank_top = PrefersWord("пульс"), 30
    results = best_notes(reranked, query, 12)
    after = [n.path for n in results]
    assert after.index("Заметка 9.md") <= before.index("Заметка 9.md") - 2  # the reranker's pick rose...
    assert after[0] == before[0]  # ...but fusion's first keeps 75 % of its score: it stays first
    assert {n.as_dict()["ranked_by"] for n in results} == {"rerank"}  # all 12 were within the top 30
    assert reranked.rerank_s > 0 and reranked.reranker.calls == [12]
    reranked.rerank_top = 3
    shallow = [n.path for n in best_notes(reranked, query, 3)]
    deep = [n.path for n in best_notes(reranked, query, 10)]
    assert shallow == deep[:3]  # the top does not depend on k
    assert [n.as_dict()["ranked_by"] for n in best_notes(reranked, query, 10)][3:] == ["fusion"] * 7


@pytest.mark.parametrize("shape", ["openai", "tei"])
def test_a_rerank_server_of_either_shape(vault: Path, shape: str) -> None:
    script = Script()
    script.rerank_shape = shape
    with fake_server(script) as url:
        reranker = make_reranker(load_settings(vault, rerank_url=url, rerank_model="bge-reranker-v2-m3"))
        scores = reranker.score("сон восемь часов", ["восемь часов сна", "квантизация модели"])
        assert len(scores) == 2 and scores[0] > scores[1] and reranker.name == "server:bge-reranker-v2-m3"
        script.rerank = lambda body: (200, {"results": [{"index": 0, "relevance_score": 1.0}]})
        with pytest.raises(RerankError, match="scored 1 of 2 passages"):
            reranker.score("сон", ["a", "b"])


def test_no_reranker_unless_configured(vault: Path) -> None:
    assert make_reranker(load_settings(vault)) is None
