"""LoRA adapter GGUFs built in tests with the `gguf` package (recipe: STACK-NOTES, "LoRA"), sized from a model's own
metadata so that they fit it, or deliberately do not."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def model_dims(meta: dict[str, str]) -> dict[str, int]:
    arch = meta["general.architecture"]
    width, heads = int(meta[f"{arch}.embedding_length"]), int(meta[f"{arch}.attention.head_count"])
    kv_heads = int(meta.get(f"{arch}.attention.head_count_kv", heads))
    return {"width": width, "kv": width // heads * kv_heads, "layers": int(meta[f"{arch}.block_count"])}


def make_adapter(path: Path, *, arch: str = "llama", width: int = 576, kv: int = 192, layers: int = 30,
                 rank: int = 8, scale: float = 0.3, seed: int = 0, zero: bool = False, extra_in: int = 0,
                 unpaired: bool = False, kind: str = "adapter", targets: tuple[str, ...] = ("attn_q", "attn_v"),
                 ranks: tuple[int, int] | None = None) -> Path:
    """Random low-rank updates to `targets` of every layer; `zero` makes lora_b zeros (an adapter that changes
    nothing); the other switches make the faults a user's file can have."""
    from gguf import GGUFWriter

    rng = np.random.default_rng(seed)
    writer = GGUFWriter(str(path), arch)
    writer.add_type(kind)
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", 16.0)
    rank_a, rank_b = ranks or (rank, rank)
    for layer in range(layers):
        for target in targets:
            out = kv if target in ("attn_k", "attn_v") else width
            name = f"blk.{layer}.{target}.weight"
            a = rng.standard_normal((rank_a, width + extra_in)) * scale
            b = np.zeros((out, rank_b)) if zero else rng.standard_normal((out, rank_b)) * scale
            writer.add_tensor(f"{name}.lora_a", a.astype(np.float32))
            if not (unpaired and layer == layers - 1):
                writer.add_tensor(f"{name}.lora_b", b.astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
