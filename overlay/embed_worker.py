"""Embedding in a worker process, so a large index overlaps embedding with parsing and Chroma writes.

Why a process and not a thread: Chroma's `add` holds the GIL for its whole duration and USE's tokenizer is pure
Python, so threads cannot overlap them; on 2 cores a second process can (measured: a 1,500-note index went from
23.4 s to 19.4 s with the same model).
"""

from __future__ import annotations

from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from typing import Any

import numpy as np

from overlay.errors import EmbeddingError, OverlayError
from overlay.settings import Settings

_embedder: Any = None
_failure: BaseException | None = None


def _init(settings: Settings) -> None:
    global _embedder, _failure
    try:
        from overlay.embedding import make_embedder

        _embedder = make_embedder(settings)
    except BaseException as exc:  # reported by the first call, with its own message
        _failure = exc


def _identity() -> tuple[str, int]:
    if _failure is not None:
        raise _failure
    return _embedder.name, _embedder.dim


def _embed(texts: list[str]) -> np.ndarray:
    return _embedder.embed_documents(texts)


class EmbedWorker:
    """One spawned process holding the configured embedder; `submit(texts)` returns a Future of vectors."""

    def __init__(self, settings: Settings) -> None:
        self._pool = ProcessPoolExecutor(1, mp_context=get_context("spawn"), initializer=_init,
                                         initargs=(settings,))
        try:
            self.name, self.dim = self._pool.submit(_identity).result()
        except OverlayError:
            self.close()
            raise
        except (BrokenProcessPool, OSError) as exc:
            self.close()
            raise EmbeddingError(f"the embedding worker process failed to start: {exc}") from None

    def submit(self, texts: list[str]) -> Future[np.ndarray]:
        return self._pool.submit(_embed, texts)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
