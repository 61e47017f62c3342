"""The model worker as a real child process (a scripted engine behind the real protocol loop): answers stream,
the model stays loaded, and a worker that dies — SIGSEGV mid-answer as llama.cpp on an AMX CPU, SIGKILL as the OOM
killer — is an LLMError that says so, is recorded for `overlay status`, and is replaced on the next call."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from overlay.answer.llm_gguf import WorkerLLM
from overlay.engine import deaths
from overlay.engine.deaths import WorkerDied
from overlay.errors import LLMError
from overlay.settings import Settings, load_settings
from tests.fakes import fake_worker

MESSAGES = [{"role": "user", "content": "Сколько часов сна нужно?"}]


@pytest.fixture
def settings(vault: Path) -> Settings:
    s = load_settings(vault, model_path="bundled")
    s.state_dir.mkdir(parents=True, exist_ok=True)
    return s


def armed(tmp_path: Path) -> Path:
    marker = tmp_path / "crash-once"
    marker.write_text("")
    return marker


def test_answers_stream_and_the_model_stays_loaded(settings: Settings) -> None:
    llm = WorkerLLM(settings, worker=fake_worker("--reply", "Восемь часов сна [^1]."))
    try:
        assert "".join(llm.stream(MESSAGES, max_tokens=50, temperature=0.0)) == "Восемь часов сна [^1]."
        assert llm.usage.completion_tokens == 4 and llm.usage.prompt_tokens == 4
        assert llm.count_tokens("один два три") == 3 and llm.n_ctx == settings.n_ctx
        assert "".join(llm.stream(MESSAGES, max_tokens=2, temperature=0.0)) == "Восемь часов "
        assert llm.worker.starts == 1  # one process, one load, for every call
    finally:
        llm.worker.close()


def test_a_caller_that_stops_early_leaves_the_pipe_in_step(settings: Settings) -> None:
    llm = WorkerLLM(settings, worker=fake_worker("--reply", " ".join(f"w{i}" for i in range(200))))
    try:
        stream = llm.stream(MESSAGES, max_tokens=200, temperature=0.0)
        assert [next(stream), next(stream)] == ["w0 ", "w1 "]
        stream.close()  # the loop guard gave up on a looping model
        assert llm.count_tokens("a b") == 2  # the next reply is this call's, not a leftover delta
        assert "".join(llm.stream(MESSAGES, max_tokens=3, temperature=0.0)) == "w0 w1 w2 "
        assert llm.worker.starts == 1
    finally:
        llm.worker.close()


@pytest.mark.parametrize(("sig", "stage", "fix"), [
    ("SIGSEGV", "while generating", "cpu_repack"),
    ("SIGKILL", "while generating", "memory"),
    ("SIGABRT", "while generating", "failed check"),
])
def test_a_worker_killed_mid_answer_is_a_clear_error_and_the_next_call_gets_a_fresh_one(
        settings: Settings, tmp_path: Path, sig: str, stage: str, fix: str) -> None:
    llm = WorkerLLM(settings, worker=fake_worker("--crash-once", str(armed(tmp_path)), "--signal", sig))
    try:
        stream = llm.stream(MESSAGES, max_tokens=50, temperature=0.0)
        got = [next(stream), next(stream)]
        with pytest.raises(WorkerDied) as caught:
            got.extend(stream)
        assert got == ["Восемь ", "часов "]
        message = str(caught.value)
        assert f"{sig}, signal {int(getattr(signal, sig))}" in message and stage in message
        assert "2 pieces streamed" in message and "pretending to crash" in message  # its last log line
        assert fix in caught.value.hint
        recorded = deaths.read(settings)
        assert recorded["total"] == 1 and recorded["deaths"][-1]["cause"].startswith(sig)
        assert recorded["deaths"][-1]["stage"].startswith("generating")
        assert "".join(llm.stream(MESSAGES, max_tokens=50, temperature=0.0)) == "Восемь часов сна [^1]."
        assert llm.worker.starts == 2  # a fresh process, the model loaded again
    finally:
        llm.worker.close()


def test_a_crash_while_loading_says_so(settings: Settings, tmp_path: Path) -> None:
    worker = fake_worker("--crash-once", str(armed(tmp_path)), "--crash-at", "load")
    try:
        with pytest.raises(WorkerDied, match=r"died \(SIGSEGV, signal 11\) while loading SmolLM2"):
            WorkerLLM(settings, worker=worker)
        assert WorkerLLM(settings, worker=worker).n_ctx == settings.n_ctx
    finally:
        worker.close()


def test_a_python_error_in_the_engine_is_reported_and_the_worker_lives(settings: Settings) -> None:
    llm = WorkerLLM(settings, worker=fake_worker())
    try:
        with pytest.raises(LLMError, match="ValueError: a Python error inside the engine") as caught:
            llm.count_tokens("boom")
        assert not isinstance(caught.value, WorkerDied)
        assert llm.count_tokens("ok") == 1 and llm.worker.starts == 1
    finally:
        llm.worker.close()


def test_deaths_are_kept_newest_last_and_bounded(settings: Settings) -> None:
    for i in range(deaths.MAX_RECORDED + 5):
        deaths.record(settings, {"cause": f"SIGSEGV {i}", "stage": "generating"}, owner="test")
    data = deaths.read(settings)
    assert data["total"] == deaths.MAX_RECORDED + 5 and len(data["deaths"]) == deaths.MAX_RECORDED
    assert data["deaths"][-1]["cause"] == f"SIGSEGV {deaths.MAX_RECORDED + 4}"
    (settings.state_dir / "engine.json").write_text("{not json")
    assert deaths.read(settings) == {"deaths": [], "total": 0}


def test_embedding_and_reranking_models_and_a_tokenizer_share_the_worker_and_survive_its_crash(settings: Settings,
                                                                                 tmp_path: Path) -> None:
    """A GGUF embedder and reranker live in the model worker beside the answer model; a native crash there is an
    error that says so, recorded for `overlay status`, and the next call runs in a fresh worker."""
    from overlay.engine.pooled import PooledModel

    model = tmp_path / "embed.gguf"
    model.write_bytes(b"GGUF")
    marker = armed(tmp_path)
    worker = fake_worker("--crash-once", str(marker), "--crash-at", "pooled")
    try:
        ranker = PooledModel(settings, "rank", str(model), worker=worker)
        with pytest.raises(WorkerDied, match=r"SIGSEGV.*reranking with embed\.gguf"):
            ranker.rank("сон восемь", ["сон восемь часов", "квантизация"])
        assert deaths.read(settings)["total"] == 1
        assert ranker.rank("сон восемь", ["сон восемь часов", "квантизация"]) == [2.0, 0.0]  # a fresh worker
        embedder = PooledModel(settings, "embed", str(model), worker=worker)
        vectors = embedder.embed([f"текст {i}" for i in range(70)])  # three requests of at most 32
        assert len(vectors) == 70 and len(vectors[0]) == 8 and set(worker.loaded) == {"rank", "embed"}
        vocab = PooledModel(settings, "vocab", str(model), worker=worker)  # `dataset export --tokenizer`
        assert vocab.count("один два три") == 3 and set(worker.loaded) == {"rank", "embed", "vocab"}
    finally:
        worker.close()
    with pytest.raises(LLMError, match="rerank_model: no such GGUF file"):
        PooledModel(settings, "rank", str(tmp_path / "missing.gguf"), worker=worker)
    with pytest.raises(LLMError, match="--tokenizer: no such GGUF file"):
        PooledModel(settings, "vocab", str(tmp_path / "missing.gguf"), worker=worker)


IMPORT_ORDER = """
import json, sys
seen = []
class Watch:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("numpy", "scipy", "bm25s", "jax", "torch") or name == "llama_cpp.llama_cpp":
            seen.append(name)
        return None
sys.meta_path.insert(0, Watch())
from overlay.engine.worker import load_llama
try:
    load_llama({"model_path": sys.argv[1]})  # the model process's real import path, up to the load
except Exception as exc:
    seen.append(type(exc).__name__)
print(json.dumps(seen))
"""


def test_the_model_process_loads_llama_cpp_before_numpy(tmp_path: Path) -> None:
    """On a CUDA build (an H200 machine, bench/gpu_check.sh), a process that had imported numpy, scipy or bm25s
    before llama.cpp's libraries died with SIGSEGV loading the model; the model process imports none of them first."""
    import json
    import subprocess
    import sys

    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF" + b"\0" * 64)  # reaches llama.cpp's loader, which rejects it
    proc = subprocess.run([sys.executable, "-c", IMPORT_ORDER, str(model)], capture_output=True, text=True,
                          check=True, cwd=Path(__file__).resolve().parents[3])
    seen = json.loads(proc.stdout)
    assert seen[0] == "llama_cpp.llama_cpp", seen
    assert seen[-1] == "LLMError" and not any(name.split(".")[0] in ("scipy", "bm25s", "jax", "torch")
                                              for name in seen), seen
