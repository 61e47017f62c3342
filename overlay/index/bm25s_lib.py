"""bm25s, imported without JAX: the one place overlay imports it.

bm25s picks a top-k backend when imported: if `jax` is importable it imports it and runs one `jax.lax.top_k` to
initialise it — on a machine with a CUDA JAX that is a GPU client in every overlay process that searches (the
watcher, `serve`), and JAX takes 75 % of the GPU's memory for itself by default, the memory the answer model was
meant to have. Seen on an H200 machine with JAX installed (bench/gpu_check.sh): a process that had loaded
llama.cpp's CUDA libraries died with SIGSEGV importing bm25s (JAX starting CUDA beside them). overlay scores
with `get_scores` (numpy) and never asks bm25s for a JAX top-k, so JAX is hidden for the length of the import:
`import jax` raises ImportError, which bm25s catches. Anything else that imports jax later gets it as usual.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType


def _import_without_jax() -> ModuleType:
    if "bm25s" in sys.modules or "jax" in sys.modules:  # already decided (or JAX is this process's choice)
        return importlib.import_module("bm25s")
    sys.modules["jax"] = None  # type: ignore[assignment]  (None here makes `import jax` raise ImportError)
    try:
        return importlib.import_module("bm25s")
    finally:
        if sys.modules.get("jax", ...) is None:
            del sys.modules["jax"]


bm25s = _import_without_jax()

from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_RUSSIAN  # noqa: E402  (after the guarded import, on purpose)

__all__ = ["STOPWORDS_EN", "STOPWORDS_RUSSIAN", "bm25s"]
