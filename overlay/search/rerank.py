"""A second stage for search: the top fused candidates re-scored by a cross-encoder, blended with the fused score
by rank. Off unless `rerank_model` is set; `search --json` says which stage ranked each result (`ranked_by`).

Three engines behind one small Protocol: a reranking GGUF in the model worker (llama.cpp's rank pooling:
bge-reranker-v2-m3, Qwen3-Reranker), a `/v1/rerank` server (llama-server --reranking, text-embeddings-inference,
vLLM), or a sentence-transformers CrossEncoder folder.

The blend is qmd's, by position: a candidate ranked 1-3 by fusion keeps 75 % of its (scaled) fused score, 4-10
keeps 60 %, the rest 40 %, and the reranker's (scaled) score makes up the rest. Fusion's top carries the exact-word
and link evidence a cross-encoder cannot see; further down, the reranker's reading of the text leads. Both scores
are min-max scaled over the candidates first, so the blend does not depend on either engine's score range (a
GGUF's logits, a server's probabilities).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from overlay.engine.http import api_base, client, post_json
from overlay.errors import EmbeddingError
from overlay.index.embedding import is_gguf
from overlay.settings import Settings

POSITION_SHARE = ((3, 0.75), (10, 0.60))  # fused score's share for ranks up to N (1-based); beyond: LATER_SHARE
LATER_SHARE = 0.40


class RerankError(EmbeddingError):
    hint = "check rerank_model / rerank_url (`overlay doctor` tries one rerank), or unset rerank_model"


class Reranker(Protocol):
    name: str

    def score(self, query: str, passages: Sequence[str]) -> list[float]: ...


def make_reranker(settings: Settings) -> Reranker | None:
    model = (settings.rerank_model or "").strip()
    if not model:
        return None
    if settings.rerank_url:
        return ServerReranker(settings)
    if is_gguf(model):
        return GgufReranker(settings)
    from overlay.index.embed_st import CrossEncoderScorer

    return CrossEncoderScorer(model)


def blend(fused: Sequence[float], reranked: Sequence[float]) -> list[float]:
    """Blended scores for candidates in fused order (fused[0] the best)."""
    f, r = _scaled(fused), _scaled(reranked)
    out = []
    for rank, (a, b) in enumerate(zip(f, r, strict=True), 1):
        share = next((s for limit, s in POSITION_SHARE if rank <= limit), LATER_SHARE)
        out.append(share * a + (1.0 - share) * b)
    return out


def _scaled(values: Sequence[float]) -> list[float]:
    lo, hi = min(values, default=0.0), max(values, default=0.0)
    return [(v - lo) / (hi - lo) if hi > lo else 1.0 for v in values]


class GgufReranker:
    def __init__(self, settings: Settings) -> None:
        from overlay.engine.pooled import PooledModel

        self.model = PooledModel(settings, "rank", (settings.rerank_model or "").strip())
        self.name = f"gguf:{self.model.file.name}"

    def score(self, query: str, passages: Sequence[str]) -> list[float]:
        scores = self.model.rank(query, list(passages))
        if len(scores) != len(passages):
            raise RerankError(f"{self.model.file.name} scored {len(scores)} of {len(passages)} passages")
        return scores


class ServerReranker:
    """`POST /v1/rerank {"model", "query", "documents"}` -> `{"results": [{"index", "relevance_score"}]}` (llama.cpp,
    vLLM, Jina/Cohere style); text-embeddings-inference's `{"query", "texts"}` -> `[{"index", "score"}]` is tried
    when a server refuses the first shape."""

    def __init__(self, settings: Settings) -> None:
        self.url = f"{api_base(settings.rerank_url or '')}/rerank"
        self.model = (settings.rerank_model or "").strip()
        self.name = f"server:{self.model}"
        self._http = client(settings.rerank_api_key, settings.embedding_timeout_s)
        self._retries = max(0, settings.embedding_retries)

    def score(self, query: str, passages: Sequence[str]) -> list[float]:
        what = f"reranking {len(passages)} passages with {self.model!r}"
        body: dict[str, Any] = {"model": self.model, "query": query, "documents": list(passages)}
        status, data = post_json(self._http, self.url, body, error=RerankError, what=what, retries=self._retries)
        if status in (400, 404, 422):  # a TEI-style server wants `texts`
            body = {"model": self.model, "query": query, "texts": list(passages)}
            status, data = post_json(self._http, self.url, body, error=RerankError, what=what, retries=self._retries)
        if status >= 400:
            raise RerankError(f"{self.url} refused to rerank with {self.model!r} ({status}): {str(data)[:300]}")
        return _scores(data, len(passages), self.url)


def _scores(data: Any, n: int, url: str) -> list[float]:
    rows = data.get("results", data.get("data")) if isinstance(data, dict) else data
    try:
        scores = {int(row["index"]): float(row.get("relevance_score", row.get("score"))) for row in rows}
    except (KeyError, TypeError, ValueError, AttributeError):
        raise RerankError(f"{url} answered without rerank results: {str(data)[:200]}") from None
    if sorted(scores) != list(range(n)):
        raise RerankError(f"{url} scored {len(scores)} of {n} passages (every passage needs a score)")
    return [scores[i] for i in range(n)]
