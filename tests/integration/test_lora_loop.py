"""The vault → LoRA → overlay loop on this CPU with the bundled SmolLM2-135M (bench/lora_loop.py): a dataset from the
example vault's chats, a LoRA trained with PEFT, converted by llama.cpp's converter, accepted by `overlay doctor`,
and an answer that differs from the base model's; the validation loss goes down."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.integration


def test_the_vault_to_lora_loop(tmp_path: Path) -> None:
    pytest.importorskip("peft", reason="the `train` extra (pip install -e '.[train]') is not installed")
    if not (ROOT / ".venv" / "share" / "llama-convert" / "convert_lora_to_gguf.py").is_file():
        pytest.skip("llama.cpp's converter is missing: run `bash scripts/get_converter.sh` (scripts/test.sh does)")
    from bench.lora_loop import run

    figures = run(steps=30, lr=5e-4, rank=8, work=tmp_path)
    print(json.dumps({k: v for k, v in figures.items() if k not in ("base_answer", "adapted_answer")},
                     ensure_ascii=False))
    assert figures["dataset"]["train"] > 0 and figures["dataset"]["val"] > 0
    assert figures["val_loss_after"] < figures["val_loss_before"]
    assert all(check["ok"] for check in figures["doctor"]), figures["doctor"]
    assert "rank 8" in figures["doctor"][0]["detail"] and figures["answers_differ"]
