"""From the vault to a LoRA and back, on this CPU, with the bundled SmolLM2-135M: the whole loop a user runs on his
GPU with Qwen3, small enough for CI.

    .venv/bin/pip install -e ".[train]"          # peft + accelerate (torch is already the CPU build)
    bash scripts/get_converter.sh                  # llama.cpp's convert_lora_to_gguf.py, from the sdist on PyPI
    .venv/bin/python bench/lora_loop.py --steps 30

1. `overlay dataset export` of the example vault's chats (train / validation by chat);
2. the base weights from the bundled GGUF, dequantised by transformers (`gguf_file=`), saved as a Hugging Face
   folder (the converter needs the base model's config and tensor names);
3. a LoRA (PEFT, rank 8 on q/v) trained for a few steps on the train split (the loss on the replies only) and the
   user's notes as completion text; the validation chats' loss before and after;
4. the adapter converted to a GGUF adapter by llama.cpp's own `convert_lora_to_gguf.py`;
5. `overlay doctor` checks it against the model; `overlay ask --set lora_path=…` runs with it, and its greedy
   answer differs from the base model's.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

ROOT = Path(__file__).resolve().parents[1]
CONVERTER = Path(os.environ.get("OVERLAY_LLAMA_CONVERT", ROOT / ".venv" / "share" / "llama-convert"))


def export_dataset(vault: Path, out: Path) -> tuple[dict[str, Any], list[dict], list[dict]]:
    """The example vault's chats, split so that both sides have a chat (the first seed that does it)."""
    from overlay.dataset.export import Options, export
    from overlay.settings import load_settings

    settings = load_settings(vault)
    for seed in range(100):
        report = export(settings, out, Options(val=0.3, seed=seed, max_tokens=512, notes=True))
        if report.train and report.val:
            break

    def read(name: str) -> list[dict]:
        return [json.loads(line) for line in Path(report.files[name]).read_text(encoding="utf-8").splitlines()]

    return report.as_dict() | {"seed": seed}, read("train") + read("notes"), read("val")


def load_base(hf_dir: Path):
    """SmolLM2 from the bundled GGUF (dequantised to float32 by transformers), saved where the converter reads it."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from overlay.engine.models import bundled_model_path

    gguf = bundled_model_path()
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    loaded = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    # dequantised already, but still flagged as a GGUF-quantised model, which transformers refuses to save: the
    # same weights in a plain model of the same config
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config)
    model.load_state_dict(loaded.state_dict())
    model.save_pretrained(hf_dir)
    tokenizer.save_pretrained(hf_dir)
    return model, tokenizer


def encode(tokenizer, example: dict, max_len: int):
    """Token ids and labels: a chat example trains on its last reply only (the prompt is masked); a note (completion
    text, `{"text"}`) on all of it."""
    import torch

    if "text" in example:
        ids = torch.tensor(tokenizer(example["text"])["input_ids"][:max_len]).unsqueeze(0)
        return ids, ids.clone()
    messages = list(example["messages"])
    prompt = tokenizer.apply_chat_template(messages[:-1], add_generation_prompt=True, tokenize=True)
    full = tokenizer.apply_chat_template(messages, tokenize=True)
    prompt, full = _ids(prompt), _ids(full)
    ids = torch.tensor(full[:max_len])
    labels = ids.clone()
    labels[: min(len(prompt), len(ids))] = -100
    return ids.unsqueeze(0), labels.unsqueeze(0)


def _ids(encoded) -> list[int]:
    return list(encoded["input_ids"] if isinstance(encoded, dict) or hasattr(encoded, "keys") else encoded)


def mean_loss(model, batches) -> float:
    import torch

    model.eval()
    with torch.no_grad():
        losses = [float(model(input_ids=ids, labels=labels).loss) for ids, labels in batches]
    return sum(losses) / len(losses)


def train_lora(model, train_batches, steps: int, lr: float, rank: int):
    import torch
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(0)
    peft_model = get_peft_model(model, LoraConfig(r=rank, lora_alpha=2 * rank, lora_dropout=0.0,
                                                  target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
    optimiser = torch.optim.AdamW([p for p in peft_model.parameters() if p.requires_grad], lr=lr)
    order = random.Random(0)
    peft_model.train()
    for step in range(steps):
        ids, labels = train_batches[order.randrange(len(train_batches))] if step else train_batches[0]
        loss = peft_model(input_ids=ids, labels=labels).loss
        loss.backward()
        optimiser.step()
        optimiser.zero_grad()
    return peft_model


def convert(hf_dir: Path, adapter_dir: Path, out: Path) -> Path:
    script = CONVERTER / "convert_lora_to_gguf.py"
    if not script.is_file():
        raise SystemExit(f"llama.cpp's converter is not at {CONVERTER}: run `bash scripts/get_converter.sh`")
    done = subprocess.run([sys.executable, str(script), "--base", str(hf_dir), "--outfile", str(out),
                           "--outtype", "f32", str(adapter_dir)], capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"convert_lora_to_gguf.py failed: {done.stderr[-1500:]}")
    return out


def ask_both(vault: Path, adapter: Path, question: str) -> tuple[str, str, list[dict]]:
    """The same question, greedy, without and with the adapter (the real model process); and doctor's checks."""
    from overlay import doctor, library
    from overlay.answer.ask import ask
    from overlay.settings import load_settings

    base = load_settings(vault, model_path="bundled", temperature=0.0, max_answer_tokens=40, ask_k=2,
                         answer_mode="llm")
    library.index(base)
    tuned = dataclasses.replace(base, lora_path=str(adapter))
    checks = [dataclasses.asdict(c) for c in doctor.run(tuned) if c.name in ("LoRA adapter", "generation")]
    plain = ask(base, question, write=False, log=False).answer
    adapted = ask(tuned, question, write=False, log=False).answer
    return plain, adapted, checks


def run(steps: int = 30, lr: float = 5e-4, rank: int = 8, work: Path | None = None) -> dict[str, Any]:
    work = work or Path(tempfile.mkdtemp(prefix="overlay-lora-"))
    vault = work / "vault"
    shutil.copytree(ROOT / "examples" / "vault", vault, ignore=shutil.ignore_patterns(".overlay"))
    figures: dict[str, Any] = {}
    t0 = time.perf_counter()
    dataset, train, val = export_dataset(vault, work / "dataset.jsonl")
    figures["dataset"] = {k: dataset[k] for k in ("train", "val", "notes", "tokens", "seed")}
    model, tokenizer = load_base(work / "base-hf")
    train_batches = [encode(tokenizer, e, 512) for e in train]
    val_batches = [encode(tokenizer, e, 512) for e in val]
    figures["val_loss_before"] = round(mean_loss(model, val_batches), 4)
    started = time.perf_counter()
    tuned = train_lora(model, train_batches, steps, lr, rank)
    figures["train_s"] = round(time.perf_counter() - started, 1)
    figures["val_loss_after"] = round(mean_loss(tuned, val_batches), 4)
    figures |= {"steps": steps, "lr": lr, "rank": rank, "train_tokens": sum(int(i.shape[1]) for i, _ in train_batches)}
    tuned.save_pretrained(work / "adapter-hf")
    adapter = convert(work / "base-hf", work / "adapter-hf", work / "smollm2-my-notes-lora.gguf")
    figures["adapter_bytes"] = adapter.stat().st_size
    question = "Что взять для 32B модели: две RTX 4090 или одну карту на 96 ГБ?"
    plain, adapted, checks = ask_both(vault, adapter, question)
    figures |= {"doctor": checks, "answers_differ": plain != adapted, "base_answer": plain[:300],
                "adapted_answer": adapted[:300], "total_s": round(time.perf_counter() - t0, 1), "work": str(work)}
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--rank", type=int, default=8)
    args = ap.parse_args()
    print(json.dumps(run(args.steps, args.lr, args.rank), ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
