"""In-process llama-cpp-python: the only module that imports llama_cpp.

The model is loaded once per process (`shared`) and kept: a watcher answering many questions, or `ask` with a
revision pass, must not reload gigabytes. GPU offload is automatic: all layers when the installed build has it
compiled in, else CPU; `n_gpu_layers` overrides.
"""

from __future__ import annotations

import contextlib
import ctypes
import inspect
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from overlay.answer import lora
from overlay.answer.llm import Message, Usage, model_file
from overlay.errors import LLMError
from overlay.settings import Settings

# With the CPU shared (CI, a busy desktop), OpenMP's busy-wait made generation collapse from ~54 to 4-19 tok/s
# (STACK-NOTES); passive waiting keeps it steady. Must be set before the library loads; a user's value wins.
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

import llama_cpp


def gpu_offload_supported() -> bool:
    return bool(llama_cpp.llama_supports_gpu_offload())


def library_version() -> str:
    return str(getattr(llama_cpp, "__version__", "unknown"))


def load_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for `llama_cpp.Llama`, resolved from settings and what this build supports."""
    offload = gpu_offload_supported()
    layers = settings.n_gpu_layers if settings.n_gpu_layers >= 0 else (-1 if offload else 0)
    options: dict[str, Any] = {"n_ctx": settings.n_ctx, "n_gpu_layers": layers if offload else 0, "verbose": False}
    if settings.n_threads > 0:
        options["n_threads"] = options["n_threads_batch"] = settings.n_threads
    if settings.lora_path:
        lora = Path(settings.lora_path).expanduser()
        if not lora.is_file():
            raise LLMError(f"LoRA adapter not found: {lora}", hint="fix lora_path or remove it")
        options["lora_path"], options["lora_scale"] = str(lora), settings.lora_scale
        options["lora_stamp"] = lora.stat().st_mtime_ns  # a rebuilt adapter is loaded again, not served from memory
    if settings.chat_format:
        options["chat_format"] = settings.chat_format
    flash = settings.flash_attn == "on" or (settings.flash_attn == "auto" and offload and layers != 0)
    if "flash_attn" in inspect.signature(llama_cpp.Llama.__init__).parameters:
        options["flash_attn"] = flash
    return options


class LlamaCppLLM:
    _loaded: ClassVar[dict[tuple, LlamaCppLLM]] = {}

    def __init__(self, path: Path, options: dict[str, Any]) -> None:
        adapter = {k: options[k] for k in ("lora_path", "lora_scale") if k in options}
        loading = {k: v for k, v in options.items() if k not in ("lora_path", "lora_scale", "lora_stamp")}
        try:
            self.llama = llama_cpp.Llama(model_path=str(path), **loading)
        except (ValueError, RuntimeError, OSError) as exc:
            raise LLMError(f"could not load {path.name}: {exc}",
                           hint="is it a GGUF file this llama-cpp-python can read? `overlay doctor` checks") from None
        self.adapter: lora.Adapter | None = None
        if adapter:
            try:
                self.adapter = apply_adapter(self.llama, Path(adapter["lora_path"]), adapter["lora_scale"])
            except LLMError:
                self.llama.close()
                raise
        self.path, self.options = path, options
        self.name = path.name
        self.n_ctx = self.llama.n_ctx()
        self.usage = Usage()
        self.repeat_penalty = 1.0

    @classmethod
    def shared(cls, settings: Settings) -> LlamaCppLLM:
        path = model_file(settings)
        options = load_options(settings)
        key = (str(path.resolve()), tuple(sorted(options.items())))
        if key not in cls._loaded:
            cls._loaded[key] = cls(path, options)
        llm = cls._loaded[key]
        llm.repeat_penalty = settings.repeat_penalty  # sampling, not loading: may change between calls
        return llm

    def count_tokens(self, text: str) -> int:
        return len(self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def stream(self, messages: list[Message], *, max_tokens: int, temperature: float) -> Iterator[str]:
        self.usage = Usage()
        chunks = self.llama.create_chat_completion(messages=messages, max_tokens=max_tokens, temperature=temperature,
                                                   repeat_penalty=self.repeat_penalty, stream=True)
        pieces: list[str] = []
        try:
            for chunk in chunks:
                delta = chunk["choices"][0].get("delta", {}).get("content")
                if delta:
                    pieces.append(delta)
                    yield delta
        except ValueError as exc:  # llama.cpp's "Requested tokens (N) exceed context window of M", raised lazily
            if "context window" not in str(exc):
                raise
            raise LLMError(f"the prompt does not fit the model's window: {exc}",
                           hint="raise n_ctx, or lower ask_k / max_answer_tokens") from None
        finally:  # also when the caller stops early (a looping model): the counts still hold
            completion = len(self.llama.tokenize("".join(pieces).encode("utf-8"), add_bos=False, special=True))
            self.usage = Usage(max(self.llama.n_tokens - completion, 0), completion)


def apply_adapter(llama: llama_cpp.Llama, path: Path, scale: float) -> lora.Adapter:
    """Load a LoRA adapter into a loaded model, checked first (overlay.answer.lora) and checked after.

    Not through `Llama(lora_path=...)`: llama-cpp-python 0.3.36 misses llama.cpp's refusal there (a NULL pointer
    tested against None) and the process dies of a segmentation fault; it also turns off mmap, which llama.cpp no
    longer needs (adapters are applied in the compute graph, the base weights stay untouched). These are the same
    calls it makes, with the result tested."""
    adapter = lora.inspect(path)
    lora.check_fits(adapter, {str(k): str(v) for k, v in (llama.metadata or {}).items()})
    handle = llama_cpp.llama_adapter_lora_init(llama._model.model, str(path).encode("utf-8"))
    if not handle:  # a NULL pointer: llama.cpp refused it (its log, with verbose, says why)
        raise LLMError(f"llama.cpp refused the LoRA adapter {path.name}: it does not fit {llama.model_path}",
                       hint=lora.HINT)
    llama._stack.callback(llama_cpp.llama_adapter_lora_free, handle)  # freed before the context and the model
    handles = (llama_cpp.llama_adapter_lora_p_ctypes * 1)(handle)
    if llama_cpp.llama_set_adapters_lora(llama._ctx.ctx, handles, 1, (ctypes.c_float * 1)(scale)):
        raise LLMError(f"llama.cpp could not apply the LoRA adapter {path.name}", hint=lora.HINT)
    return adapter


def read_metadata(path: Path) -> dict[str, str]:
    """The GGUF header (architecture, trained context, chat template) without loading the weights."""
    try:
        with contextlib.redirect_stderr(io.StringIO()):  # a vocab-only load warns about a context it never uses
            vocab = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False, n_ctx=512)
    except (ValueError, RuntimeError, OSError) as exc:
        raise LLMError(f"{path} is not a GGUF file llama.cpp can read: {exc}") from None
    try:
        return {str(k): str(v) for k, v in (vocab.metadata or {}).items()}
    finally:
        vocab.close()
