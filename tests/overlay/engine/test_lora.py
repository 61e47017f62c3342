"""A LoRA adapter is read and checked before llama.cpp sees it (llama-cpp-python 0.3.36 would die of a
segmentation fault on one that llama.cpp refuses): every fault is named, with what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from overlay.engine import lora
from overlay.errors import LLMError
from tests.adapters import make_adapter

SMOL = {"general.architecture": "llama", "llama.block_count": "30", "llama.embedding_length": "576"}


def test_a_good_adapter_is_described_and_fits(tmp_path: Path) -> None:
    adapter = lora.inspect(make_adapter(tmp_path / "a.gguf", rank=4))
    assert (adapter.architecture, adapter.rank, adapter.weights, adapter.targets) == ("llama", 4, 60,
                                                                                      ("attn_q", "attn_v"))
    assert adapter.alpha == 16.0 and "rank 4, alpha 16, 60 weights (attn_q, attn_v)" in adapter.describe()
    lora.check_fits(adapter, SMOL)
    assert adapter.as_dict()["targets"] == ["attn_q", "attn_v"]


@pytest.mark.parametrize(("build", "message"), [
    (dict(arch="qwen3"), "is a LoRA for qwen3, the model is llama"),
    (dict(extra_in=8), "blk.0.attn_q.weight takes 584 inputs; the model's width is 576"),
    (dict(layers=31), "adapts layer 30; the model has 30 layers"),
])
def test_an_adapter_for_another_model_is_refused_by_name(tmp_path: Path, build: dict, message: str) -> None:
    adapter = lora.inspect(make_adapter(tmp_path / "a.gguf", **build))
    with pytest.raises(LLMError, match=message) as caught:
        lora.check_fits(adapter, SMOL)
    assert "convert_lora_to_gguf.py" in caught.value.hint


@pytest.mark.parametrize(("build", "message"), [
    (dict(kind="model"), "is not a LoRA adapter: a model, not an adapter"),
    (dict(unpaired=True), "halves without their pair"),
    (dict(ranks=(8, 4)), r"disagree on the rank \(\[4, 8\]\)"),
])
def test_a_file_that_is_not_a_usable_lora_is_refused_by_name(tmp_path: Path, build: dict, message: str) -> None:
    with pytest.raises(LLMError, match=message):
        lora.inspect(make_adapter(tmp_path / "a.gguf", **build))


def test_a_damaged_file_is_refused_not_crashed_on(tmp_path: Path) -> None:
    good = make_adapter(tmp_path / "a.gguf").read_bytes()
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(good[: len(good) // 3])
    with pytest.raises(LLMError, match=r"cut\.gguf is not a readable GGUF file: damaged or cut short"):
        lora.inspect(cut)
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a gguf at all" * 50)
    with pytest.raises(LLMError, match="no GGUF header"):
        lora.inspect(junk)
    with pytest.raises(LLMError, match="LoRA adapter not found"):
        lora.inspect(tmp_path / "missing.gguf")
