"""A LoRA adapter (GGUF), checked before llama.cpp sees it.

llama-cpp-python 0.3.36 does not notice when llama.cpp refuses an adapter (its NULL check compares a ctypes pointer
with None) and the process then dies of a segmentation fault: a watcher would be gone without a word. So the file
is read here with the `gguf` package first (header and tensor list only: an adapter is small) and every mismatch we
can name is named: not a GGUF, not an adapter, not a LoRA, tensors without their pair, ranks that differ, another
architecture, layers or widths the model does not have. What still gets past reaches llama.cpp through a checked
call (overlay.engine.llama).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from overlay.errors import LLMError

HINT = "point lora_path at a LoRA GGUF made for this model (llama.cpp's convert_lora_to_gguf.py makes one from PEFT)"
# The weights whose input (q, k, v, gate, up) or output (attention output, down) is the model's hidden width, in
# every llama.cpp architecture that names them so: a check that works without reading the model's tensor list.
HIDDEN_IN = ("attn_q", "attn_k", "attn_v", "attn_qkv", "ffn_gate", "ffn_up")
HIDDEN_OUT = ("attn_output", "ffn_down")
TENSOR = re.compile(r"^(?P<base>.+\.weight)\.lora_(?P<half>[ab])$")
BLOCK = re.compile(r"^blk\.(\d+)\.([a-z_]+)\.weight$")


@dataclass(frozen=True)
class Adapter:
    path: str
    architecture: str
    alpha: float | None
    rank: int
    weights: int  # how many of the model's weights it adapts
    targets: tuple[str, ...]  # their kinds: attn_q, attn_v, ...
    mib: float
    pairs: dict[str, tuple[list[int], list[int]]] = field(default_factory=dict, repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "architecture": self.architecture, "alpha": self.alpha, "rank": self.rank,
                "weights": self.weights, "targets": list(self.targets), "mib": round(self.mib, 2)}

    def describe(self) -> str:
        alpha = f", alpha {self.alpha:g}" if self.alpha is not None else ""
        return (f"{Path(self.path).name} ({self.mib:.1f} MiB): LoRA for {self.architecture}, rank {self.rank}{alpha}, "
                f"{self.weights} weights ({', '.join(self.targets)})")


def inspect(path: Path) -> Adapter:
    """The adapter as its file states it; LLMError saying what is wrong when it is not a usable LoRA GGUF."""
    from gguf import GGUFReader

    if not path.is_file():
        raise LLMError(f"LoRA adapter not found: {path}", hint="fix lora_path or remove it")
    try:
        reader = GGUFReader(path)
    except (ValueError, OSError, IndexError, KeyError) as exc:
        why = "no GGUF header" if "magic" in str(exc) else f"damaged or cut short ({exc.__class__.__name__}: {exc})"
        raise LLMError(f"{path.name} is not a readable GGUF file: {why}", hint=HINT) from None
    fields = {name: _value(field) for name, field in reader.fields.items() if not name.startswith("GGUF.")}
    kind, style = fields.get("general.type"), fields.get("adapter.type")
    if kind != "adapter" or style != "lora":
        what = "a model, not an adapter" if kind == "model" else f"general.type {kind!r}, adapter.type {style!r}"
        raise LLMError(f"{path.name} is not a LoRA adapter: {what}", hint=HINT)
    shapes = {t.name: [int(x) for x in t.shape] for t in reader.tensors}
    return Adapter(str(path), str(fields.get("general.architecture", "?")),
                   float(fields["adapter.lora.alpha"]) if "adapter.lora.alpha" in fields else None,
                   _rank(path, shapes), len(shapes) // 2, _targets(shapes), path.stat().st_size / 2**20, _pairs(shapes))


def check_fits(adapter: Adapter, model: dict[str, str]) -> None:
    """The adapter against the model's own metadata (what llama-cpp-python reports for a loaded or vocab-only model)."""
    arch = model.get("general.architecture", "?")
    name = Path(adapter.path).name
    if adapter.architecture != arch:
        raise LLMError(f"{name} is a LoRA for {adapter.architecture}, the model is {arch}", hint=HINT)
    blocks, width = _int(model.get(f"{arch}.block_count")), _int(model.get(f"{arch}.embedding_length"))
    for base, (a, b) in adapter.pairs.items():
        match = BLOCK.match(base)
        if not match:
            continue
        layer, kind = int(match.group(1)), match.group(2)
        if blocks is not None and layer >= blocks:
            raise LLMError(f"{name} adapts layer {layer}; the model has {blocks} layers", hint=HINT)
        width_in, width_out = a[0], b[1]
        if width and kind in HIDDEN_IN and width_in != width:
            raise LLMError(f"{name}: {base} takes {width_in} inputs; the model's width is {width}", hint=HINT)
        if width and kind in HIDDEN_OUT and width_out != width:
            raise LLMError(f"{name}: {base} gives {width_out} outputs; the model's width is {width}", hint=HINT)


def _pairs(shapes: dict[str, list[int]]) -> dict[str, tuple[list[int], list[int]]]:
    """base weight -> (lora_a shape, lora_b shape), in GGUF order: lora_a is [in, rank], lora_b [rank, out]."""
    halves: dict[str, dict[str, list[int]]] = {}
    for tensor, shape in shapes.items():
        match = TENSOR.match(tensor)
        if match:
            halves.setdefault(match.group("base"), {})[match.group("half")] = shape
    return {base: (h["a"], h["b"]) for base, h in halves.items() if "a" in h and "b" in h}


def _rank(path: Path, shapes: dict[str, list[int]]) -> int:
    stray = [t for t in shapes if not TENSOR.match(t)]
    pairs = _pairs(shapes)
    unpaired = [t for t in shapes if TENSOR.match(t) and TENSOR.match(t).group("base") not in pairs]
    if stray or unpaired or not pairs:
        what = (f"tensors that are not LoRA halves: {stray[:3]}" if stray else
                f"halves without their pair: {unpaired[:3]}" if unpaired else "no tensors")
        raise LLMError(f"{path.name} is not a usable LoRA adapter: {what}", hint=HINT)
    ranks = {a[1] for a, _ in pairs.values()} | {b[0] for _, b in pairs.values()}
    if len(ranks) != 1:
        raise LLMError(f"{path.name}: its lora_a and lora_b tensors disagree on the rank ({sorted(ranks)})", hint=HINT)
    return ranks.pop()


def _targets(shapes: dict[str, list[int]]) -> tuple[str, ...]:
    kinds = {BLOCK.match(base).group(2) if BLOCK.match(base) else base for base in _pairs(shapes)}
    return tuple(sorted(kinds))


def _value(field: Any) -> Any:
    try:
        value = field.contents()
    except (ValueError, IndexError, TypeError):
        return None
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _int(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None
