"""llama-cpp-python: the only module that imports llama_cpp.

It runs inside the model worker (`overlay.engine.worker`), where a native crash costs a process we can restart, not
the watcher or the server. GPU offload is automatic: all layers when the installed build has it compiled in, else
CPU; `n_gpu_layers` overrides. Header reads (`read_metadata`, a vocab-only load that runs no compute) and the
benchmarks also use it directly.
"""

from __future__ import annotations

import contextlib
import ctypes
import inspect
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from overlay.engine import lora
from overlay.errors import LLMError
from overlay.settings import Settings

# With the CPU shared (CI, a busy desktop), OpenMP's busy-wait made generation collapse from ~54 to 4-19 tok/s
# (STACK-NOTES); passive waiting keeps it steady. Must be set before the library loads; a user's value wins.
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

import llama_cpp
import llama_cpp.llama_cpp as llama_capi

AMX_FLAGS = frozenset({"amx_int8", "amx_bf16", "amx_tile"})


def gpu_offload_supported() -> bool:
    return bool(llama_cpp.llama_supports_gpu_offload())


def library_version() -> str:
    return str(getattr(llama_cpp, "__version__", "unknown"))


def system_info() -> str:
    """llama.cpp's own line of the CPU features it was built with ("AVX2 = 1 | AMX_INT8 = 1 | ...")."""
    return llama_cpp.llama_print_system_info().decode("utf-8", "replace").strip()


def cpu_has_amx(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """The CPU has AMX tiles (Sapphire Rapids and later Xeons), or llama.cpp was built to use them."""
    try:
        flags = {f for line in cpuinfo.read_text(errors="replace").splitlines() if line.startswith("flags")
                 for f in line.split(":", 1)[1].split()}
    except OSError:  # not Linux: llama.cpp's build line is all we have
        flags = set()
    return bool(flags & AMX_FLAGS) or "AMX_INT8 = 1" in system_info()


def use_extra_bufts(setting: str) -> bool:
    """llama.cpp's extra weight buffers (repacked CPU weights, AMX tiles): on unless AMX is there under `auto`.

    On AMX CPUs llama.cpp 0.3.36's AMX buffer crashes the first decode (SIGSEGV in ggml_backend_amx_mul_mat,
    llama.cpp #20824); without the extra buffers the same model runs. `bench/repack_bench.py` measures both."""
    if setting in ("on", "off"):
        return setting == "on"
    return not cpu_has_amx()


def load_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for `llama_cpp.Llama`, resolved from settings and what this build supports."""
    offload = gpu_offload_supported()
    layers = settings.n_gpu_layers if settings.n_gpu_layers >= 0 else (-1 if offload else 0)
    options: dict[str, Any] = {"n_ctx": settings.n_ctx, "n_gpu_layers": layers if offload else 0, "verbose": False,
                               "use_extra_bufts": use_extra_bufts(settings.cpu_repack)}
    if settings.n_threads > 0:
        options["n_threads"] = options["n_threads_batch"] = settings.n_threads
    if settings.lora_path:
        adapter = Path(settings.lora_path).expanduser()
        if not adapter.is_file():
            raise LLMError(f"LoRA adapter not found: {adapter}", hint="fix lora_path or remove it")
        options["lora_path"], options["lora_scale"] = str(adapter), settings.lora_scale
    if settings.chat_format:
        options["chat_format"] = settings.chat_format
    flash = settings.flash_attn == "on" or (settings.flash_attn == "auto" and offload and layers != 0)
    if "flash_attn" in inspect.signature(llama_cpp.Llama.__init__).parameters:
        options["flash_attn"] = flash
    return options


@contextlib.contextmanager
def _model_params(**fields: Any) -> Iterator[None]:
    """`Llama.__init__` takes no argument for some `llama_model_params` fields (use_extra_bufts among them); it
    starts from `llama_model_default_params()`, so that call is wrapped for the duration of one load. The worker
    loads one model at a time, on one thread."""
    original = llama_capi.llama_model_default_params

    def defaults() -> Any:
        params = original()
        for name, value in fields.items():
            setattr(params, name, value)
        return params

    llama_capi.llama_model_default_params = defaults
    try:
        yield
    finally:
        llama_capi.llama_model_default_params = original


def open_llama(path: Path, options: dict[str, Any]) -> llama_cpp.Llama:
    """A loaded `Llama` for these options (those of `load_options`, less the adapter)."""
    loading = {k: v for k, v in options.items() if k not in ("lora_path", "lora_scale", "use_extra_bufts")}
    try:
        with _model_params(use_extra_bufts=options.get("use_extra_bufts", True)):
            return llama_cpp.Llama(model_path=str(path), **loading)
    except (ValueError, RuntimeError, OSError) as exc:
        raise LLMError(f"could not load {path.name}: {exc}",
                       hint="is it a GGUF file this llama-cpp-python can read? `overlay doctor` checks") from None


class LlamaChat:
    """One loaded chat model: chat messages in, text deltas out, token counts after."""

    def __init__(self, path: Path, options: dict[str, Any]) -> None:
        self.llama = open_llama(path, options)
        self.adapter: lora.Adapter | None = None
        if "lora_path" in options:
            try:
                self.adapter = apply_adapter(self.llama, Path(options["lora_path"]), options["lora_scale"])
            except LLMError:
                self.llama.close()
                raise
        self.path, self.options = path, options
        self.usage = (0, 0)  # (prompt, completion) tokens of the last stream

    def describe(self) -> dict[str, Any]:
        return {"name": self.path.name, "n_ctx": self.llama.n_ctx(),
                "options": {k: v for k, v in self.options.items() if k != "verbose"},
                "adapter": self.adapter.as_dict() if self.adapter else None}

    def count_tokens(self, text: str) -> int:
        return len(self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def stream(self, messages: list[dict[str, str]], *, max_tokens: int, temperature: float,
               repeat_penalty: float) -> Iterator[str]:
        self.usage = (0, 0)
        chunks = self.llama.create_chat_completion(messages=messages, max_tokens=max_tokens, temperature=temperature,
                                                   repeat_penalty=repeat_penalty, stream=True)
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
            self.usage = (max(self.llama.n_tokens - completion, 0), completion)

    def close(self) -> None:
        self.llama.close()


def pooled_options(settings: Settings) -> dict[str, Any]:
    """Load options for an embedding or reranking model: GPU offload and CPU buffers as for the answer model."""
    offload = gpu_offload_supported()
    layers = settings.n_gpu_layers if settings.n_gpu_layers >= 0 else (-1 if offload else 0)
    options: dict[str, Any] = {"n_gpu_layers": layers if offload else 0, "verbose": False,
                               "use_extra_bufts": use_extra_bufts(settings.cpu_repack)}
    if settings.n_threads > 0:
        options["n_threads"] = options["n_threads_batch"] = settings.n_threads
    return options


def _open_pooled(path: Path, options: dict[str, Any], pooling: int | None) -> llama_cpp.Llama:
    """An embedding-mode model whose window is `window` tokens if given, else its trained context (capped at
    8,192): a non-causal model reads a whole text in one micro-batch, so the batch sizes equal the window; longer
    texts are cut at it (as sentence-transformers cuts at a model's max_seq_length)."""
    options = dict(options)
    window = int(options.pop("window", 0) or 0)
    if not window:
        meta = read_metadata(path)
        window = int(meta.get(f"{meta.get('general.architecture', '')}.context_length") or 512)
    window = max(64, min(window, 8192))
    extra = {"pooling_type": pooling} if pooling is not None else {}
    return open_llama(path, {**options, "embedding": True, "n_ctx": window, "n_batch": window, "n_ubatch": window,
                             **extra})


class LlamaEmbed:
    """An embedding GGUF (bge-m3, multilingual-e5, Qwen3-Embedding, a converted sentence-transformers model) with
    the pooling its header names: texts in, L2-normalised vectors out."""

    def __init__(self, path: Path, options: dict[str, Any]) -> None:
        self.llama = _open_pooled(path, options, None)
        self.path = path
        if self.llama.pooling_type() == llama_cpp.LLAMA_POOLING_TYPE_NONE:
            self.llama.close()
            raise LLMError(f"{path.name} pools no sentence vector (its pooling type is none)",
                           hint="use an embedding model GGUF (bge-m3, multilingual-e5, Qwen3-Embedding)")

    def describe(self) -> dict[str, Any]:
        return {"name": self.path.name, "dim": self.llama.n_embd(), "n_ctx": self.llama.n_ctx(),
                "pooling": int(self.llama.pooling_type())}

    def embed(self, texts: list[str]) -> list[list[float]]:
        return [list(map(float, v)) for v in self.llama.embed(texts, normalize=True, truncate=True)]

    def close(self) -> None:
        self.llama.close()


class LlamaRank:
    """A reranking GGUF (bge-reranker-v2-m3, Qwen3-Reranker) run with llama.cpp's rank pooling: a (query, passage)
    pair in, one relevance score out. The pair is written as llama.cpp's server writes it, so scores here and from
    `llama-server --reranking` agree: the model's own rerank template when its header has one (Qwen3-Reranker),
    else [BOS] query [EOS] [SEP] passage [EOS]."""

    def __init__(self, path: Path, options: dict[str, Any]) -> None:
        self.llama = _open_pooled(path, options, llama_cpp.LLAMA_POOLING_TYPE_RANK)
        self.path = path
        self.template = (self.llama.metadata or {}).get("tokenizer.chat_template.rerank")

    def describe(self) -> dict[str, Any]:
        return {"name": self.path.name, "n_ctx": self.llama.n_ctx(), "template": bool(self.template)}

    def rank(self, query: str, passages: list[str]) -> list[float]:
        return [self._score(self._pair(query, passage)) for passage in passages]

    def _pair(self, query: str, passage: str) -> list[int]:
        llama = self.llama
        if self.template:
            text = self.template.replace("{query}", query).replace("{document}", passage)
            tokens = llama.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        else:
            def words(text: str) -> list[int]:
                return llama.tokenize(text.encode("utf-8"), add_bos=False, special=False)

            ends = [t for t in (llama.token_eos(), llama._model.token_sep()) if t >= 0]
            tokens = [*([llama.token_bos()] if llama.token_bos() >= 0 else []), *words(query), *ends, *words(passage),
                      *([llama.token_eos()] if llama.token_eos() >= 0 else [])]
        return tokens[: llama.n_ctx()]

    def _score(self, tokens: list[int]) -> float:
        """One pair through the model; its score is the first value of the pooled output (llama.cpp's rank head).
        llama-cpp-python's own `embed` reads n_embd values there, past the one a rank head writes."""
        llama = self.llama
        llama._batch.reset()
        llama._batch.add_sequence(tokens, 0, True)
        llama._ctx.kv_cache_clear()
        llama._ctx.decode(llama._batch)
        value = float(llama_cpp.llama_get_embeddings_seq(llama._ctx.ctx, 0)[0])
        llama._ctx.kv_cache_clear()
        return value

    def close(self) -> None:
        self.llama.close()


def apply_adapter(llama: llama_cpp.Llama, path: Path, scale: float) -> lora.Adapter:
    """Load a LoRA adapter into a loaded model, checked first (overlay.engine.lora) and checked after.

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


def quantize(source: Path, target: Path, ftype: str) -> None:
    """Re-quantise a GGUF (e.g. to "Q4_0" or "Q4_K_M") with llama.cpp's own quantiser: the benchmarks use it to get
    the weight types that llama.cpp repacks from the bundled Q4_1 model, with no download."""
    kind = getattr(llama_capi, f"LLAMA_FTYPE_MOSTLY_{ftype.upper()}", None)
    if kind is None:
        raise LLMError(f"unknown quantisation {ftype!r}", hint="e.g. Q4_0, Q4_K_M, Q8_0")
    params = llama_capi.llama_model_quantize_default_params()
    params.ftype, params.allow_requantize = kind, True
    if llama_capi.llama_model_quantize(str(source).encode(), str(target).encode(), ctypes.byref(params)):
        raise LLMError(f"llama.cpp could not quantise {source.name} to {ftype}")


def run_server(argv: list[str], cpu_repack: str = "auto") -> None:
    """llama-cpp-python's OpenAI-compatible server (`python -m llama_cpp.server ARGS`) with llama.cpp's extra
    weight buffers set as overlay sets them: the plain server dies of the same AMX SIGSEGV on its first request.
    Its model loads when the app is created, inside the wrapped call."""
    import sys

    from llama_cpp.server.__main__ import main as server_main

    sys.argv = ["llama_cpp.server", *argv]
    with _model_params(use_extra_bufts=use_extra_bufts(cpu_repack)):
        server_main()


class Vocab:
    """A GGUF's tokenizer alone (a vocab-only load: no weights, no compute): counts tokens the way that model will
    see them. It runs in the model process like every other load (overlay.engine.pooled, slot "vocab"): a CLI
    process has numpy loaded before llama.cpp, the order that crashed a CUDA build's model load."""

    def __init__(self, path: Path) -> None:
        try:
            with contextlib.redirect_stderr(io.StringIO()):
                self.llama = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False, n_ctx=512)
        except (ValueError, RuntimeError, OSError) as exc:
            raise LLMError(f"{path} is not a GGUF file llama.cpp can read: {exc}") from None
        self.name = path.name

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "n_vocab": self.llama.n_vocab()}

    def count_tokens(self, text: str) -> int:
        return len(self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def close(self) -> None:
        self.llama.close()
