"""A LoRA adapter loaded for real: built here for the bundled SmolLM2, set as a user sets it (`lora_path`), it
changes greedy output; an all-zero one does not; a bad one is a clear LLMError in a process that lives on;
`overlay doctor` reports it."""

from __future__ import annotations

from pathlib import Path

import pytest

from overlay import doctor
from overlay.answer.llm import bundled_model_path, make_llm
from overlay.engine.llama import read_metadata
from overlay.errors import LLMError
from overlay.settings import load_settings
from tests.adapters import make_adapter, model_dims

pytestmark = pytest.mark.integration
PROMPT = "The capital of France is"


@pytest.fixture(scope="module")
def dims() -> dict[str, int]:
    return model_dims(read_metadata(bundled_model_path()))


def greedy(vault: Path, **settings) -> str:
    llm = make_llm(load_settings(vault, model_path="bundled", n_ctx=512, **settings))
    return "".join(llm.stream([{"role": "user", "content": PROMPT}], max_tokens=12, temperature=0.0))


def test_an_adapter_changes_greedy_output_and_a_zero_one_does_not(vault: Path, dims: dict[str, int]) -> None:
    plain = greedy(vault)
    strong = make_adapter(vault.parent / "strong.gguf", **dims)
    zero = make_adapter(vault.parent / "zero.gguf", zero=True, **dims)
    adapted = greedy(vault, lora_path=str(strong))
    assert adapted != plain, (plain, adapted)
    assert greedy(vault, lora_path=str(zero)) == plain  # the same load path with a null update: the weights decide
    assert greedy(vault, lora_path=str(strong), lora_scale=0.0) == plain  # lora_scale reaches llama.cpp
    llm = make_llm(load_settings(vault, model_path="bundled", n_ctx=512, lora_path=str(strong)))
    assert llm.adapter is not None and llm.adapter["rank"] == 8  # as the model process loaded it


@pytest.mark.parametrize(("build", "message"), [
    (dict(arch="qwen3"), "is a LoRA for qwen3, the model is llama"),
    (dict(extra_in=16), "takes 592 inputs"),
    (dict(targets=("attn_x",)), "llama.cpp refused the LoRA adapter"),  # past our checks: llama.cpp's own
])
def test_a_bad_adapter_is_a_clear_error_and_the_process_lives_on(vault: Path, dims: dict[str, int], build: dict,
                                                                  message: str) -> None:
    bad = make_adapter(vault.parent / "bad.gguf", **{**dims, **build})
    with pytest.raises(LLMError, match=message):
        greedy(vault, lora_path=str(bad))
    assert greedy(vault)  # the model process lives on: llama-cpp-python's own lora_path would have ended it


def test_doctor_reports_the_adapter_and_fails_clearly_on_a_wrong_one(vault: Path, dims: dict[str, int]) -> None:
    good = make_adapter(vault.parent / "good.gguf", **dims)
    check = doctor._adapter(load_settings(vault, model_path="bundled", lora_path=str(good)))
    assert check.ok and "LoRA for llama, rank 8" in check.detail and "fits SmolLM2" in check.detail
    wrong = make_adapter(vault.parent / "wrong.gguf", **{**dims, "arch": "qwen3"})
    check = doctor._adapter(load_settings(vault, model_path="bundled", lora_path=str(wrong)))
    assert not check.ok and "LoRA for qwen3, the model is llama" in check.detail and "convert_lora" in check.fix
    cut = vault.parent / "cut.gguf"
    cut.write_bytes(good.read_bytes()[:4000])
    names = {c.name: c for c in doctor.run(load_settings(vault, model_path="bundled", lora_path=str(cut)))}
    assert not names["LoRA adapter"].ok and "damaged or cut short" in names["LoRA adapter"].detail
