"""Embeddings from an OpenAI-compatible server: what comes back is checked, failures are clear errors naming the
URL, transient ones are retried, and an index run that meets one commits nothing of the failing batch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from overlay.errors import ConfigError, EmbeddingError
from overlay.index.embedding import embedder_name, make_embedder, prefixes
from overlay.index.indexer import Indexer
from overlay.settings import load_settings
from tests.conftest import write
from tests.fake_servers import Script, fake_server
from tests.fakes import MemoryStore


def server_settings(vault: Path, url: str, **kw):
    return load_settings(vault, embedding_url=url, embedding_model="bge-m3", embedding_retries=kw.pop("retries", 1),
                         embedding_timeout_s=kw.pop("timeout", 5.0), **kw)


def test_vectors_come_back_normalised_in_order_with_the_servers_dimension(vault: Path) -> None:
    script = Script()
    with fake_server(script) as url:
        embedder = make_embedder(server_settings(vault, url))
        vectors = embedder.embed_documents(["сон восемь часов", "backup at night", "квантизация"])
        assert embedder.name == "server:bge-m3" == embedder_name(server_settings(vault, url))
        assert embedder.dim == 64 and vectors.shape == (3, 64)
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
        assert np.allclose(vectors, script.embedder.embed_documents(["сон восемь часов", "backup at night",
                                                                     "квантизация"]), atol=1e-6)
        assert {body["model"] for _, body in script.requests} == {"bge-m3"}


def test_a_transient_failure_is_retried_and_a_lasting_one_names_the_url(vault: Path) -> None:
    script = Script()
    with fake_server(script) as url:
        embedder = make_embedder(server_settings(vault, url, retries=2))
        script.fail_next = [503, 502]
        assert embedder.embed_query("сон").shape == (64,)  # two retries, then the answer
        script.fail_next = [500, 500, 500]
        with pytest.raises(EmbeddingError, match=rf"{url}/embeddings answered 500.*tried 3 times"):
            embedder.embed_query("сон")


@pytest.mark.parametrize(("garbage", "message"), [
    (lambda texts: [[0.1] * 32 for _ in texts], "32-dimensional vectors where 64 were expected"),
    (lambda texts: [[float("nan")] * 64 for _ in texts], "NaN"),
    (lambda texts: [[0.1] * 64], "returned 1 vectors for 2 texts"),
    (lambda texts: {"nonsense": True}, "without OpenAI-style embeddings"),
])
def test_garbage_from_the_server_is_refused(vault: Path, garbage, message: str) -> None:
    script = Script()
    with fake_server(script) as url:
        embedder = make_embedder(server_settings(vault, url))
        script.vectors = garbage
        if message.startswith("without"):
            script.embeddings = lambda body: (200, {"nonsense": True})  # type: ignore[method-assign]
        with pytest.raises(EmbeddingError, match=message):
            embedder.embed_documents(["один", "два"])


def test_a_server_that_is_down_or_stalls_is_a_clear_error(vault: Path) -> None:
    with pytest.raises(EmbeddingError, match=r"127\.0\.0\.1:9/v1/embeddings cannot connect"):
        make_embedder(server_settings(vault, "http://127.0.0.1:9", retries=0))
    script = Script()
    with fake_server(script) as url:
        embedder = make_embedder(server_settings(vault, url, retries=0, timeout=0.3))
        script.stall_s = 1.0
        with pytest.raises(EmbeddingError, match=r"no answer within 0\.3 s"):
            embedder.embed_query("сон")


def test_an_index_run_stops_before_writing_the_failing_batch(vault: Path) -> None:
    for i in range(300):
        write(vault, f"n{i:03}.md", f"# Заметка {i}\nТекст номер {i} про сон и бег.\n")
    script = Script()
    store = MemoryStore()
    with fake_server(script) as url:
        settings = server_settings(vault, url, retries=0)
        embedder = make_embedder(settings)
        calls = {"n": 0}

        def flaky(body):
            calls["n"] += 1
            if calls["n"] == 4:  # the second batch of notes fails
                return 500, {"error": "out of memory"}
            return Script.embeddings(script, body)

        script.embeddings = flaky  # type: ignore[method-assign]
        with pytest.raises(EmbeddingError, match="answered 500"):
            Indexer(settings, embedder=embedder, store_factory=lambda *_: store).run()
        committed = len(store.rows)
        assert 0 < committed < 300  # the batches before the failure were written...
        script.embeddings = lambda body: Script.embeddings(script, body)  # type: ignore[method-assign]
        report = Indexer(settings, embedder=embedder, store_factory=lambda *_: store).run()
    assert report.notes == 300 and len(store.rows) == 300  # ...and the next run finishes, without duplicates


def test_settings_and_prefixes(vault: Path) -> None:
    with pytest.raises(ConfigError, match="also set embedding_model"):
        load_settings(vault, embedding_url="http://127.0.0.1:8080")
    assert prefixes(load_settings(vault, embedding_model="intfloat/multilingual-e5-small")) == ("query: ", "passage: ")
    qwen = prefixes(load_settings(vault, embedding_model="/m/Qwen3-Embedding-0.6B-Q8_0.gguf"))
    assert qwen[0].startswith("Instruct: ") and qwen[0].endswith("Query: ") and qwen[1] == ""
    assert prefixes(load_settings(vault, embedding_model="bge-m3")) == ("", "")
    assert prefixes(load_settings(vault, embedding_model="e5-large", embedding_query_prefix="none",
                                  embedding_doc_prefix="doc: ")) == ("", "doc: ")
