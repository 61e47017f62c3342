"""`overlay doctor`'s generation check runs the model in a process of its own: a model that crashes is a failed
check with its fix, and doctor goes on to the next check."""

from __future__ import annotations

import sys
from pathlib import Path

from overlay import doctor
from overlay.engine import client
from overlay.settings import load_settings

FAKE = str(Path(__file__).resolve().parents[1] / "fake_worker.py")


def test_a_model_that_crashes_fails_the_generation_check_and_doctor_goes_on(vault: Path, tmp_path: Path,
                                                                             monkeypatch) -> None:
    marker = tmp_path / "crash-once"
    marker.write_text("")
    monkeypatch.setattr(client, "WORKER", [sys.executable, FAKE, "--crash-once", str(marker)])
    settings = load_settings(vault, model_path="bundled")
    check = doctor._generation(settings)
    assert not check.ok and "SIGSEGV" in check.detail and "while generating" in check.detail
    assert "cpu_repack" in check.fix
    again = doctor._generation(settings)  # the marker is spent: the same check now passes
    assert again.ok and "4 tokens in" in again.detail and "fake=True" in again.detail


def test_a_server_backed_model_is_not_loaded_here(vault: Path) -> None:
    check = doctor._generation(load_settings(vault, llm_url="http://127.0.0.1:9/v1"))
    assert check.ok and "server" in check.detail


def test_doctor_embeds_and_reranks_for_real_with_the_configured_servers(vault: Path) -> None:
    from tests.fake_servers import Script, fake_server

    script = Script()
    with fake_server(script) as url:
        settings = load_settings(vault, embedding_url=url, embedding_model="bge-m3", rerank_url=url,
                                 rerank_model="bge-reranker-v2-m3")
        checks = {c.name: c for c in doctor.run(settings)}
        assert checks["embedding model"].ok and f"server:bge-m3 at {url}" in checks["embedding model"].detail
        assert "dim 64" in checks["embedding model"].detail
        assert checks["reranker"].ok and "2 passages scored" in checks["reranker"].detail
        assert [path for path, _ in script.requests].count("/v1/rerank") == 1
    down = {c.name: c for c in doctor.run(settings)}  # the servers are gone: both checks fail, doctor goes on
    assert not down["embedding model"].ok and "cannot connect" in down["embedding model"].detail
    assert not down["reranker"].ok and down["reranker"].fix and "index" in down
