"""Deterministic stand-ins for the engines: a hash embedder and an in-memory vector store with Chroma's contract."""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from overlay.index.vectors import Hit, StoredChunk

if TYPE_CHECKING:
    from overlay.engine.client import ModelWorker


class HashEmbedder:
    """Bag of hashed word stems: texts sharing words get similar vectors; same text, same vector, every run."""

    name = "fake-hash"
    dim = 64

    def __init__(self) -> None:
        self.calls: list[int] = []  # how many texts each call embedded

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dim, dtype=np.float32)
        for word in re.findall(r"\w+", text.lower()):
            digest = hashlib.md5(word[:5].encode()).digest()
            vec[digest[0] % self.dim] += 1.0
        norm = np.linalg.norm(vec)
        return vec / norm if norm else vec

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(len(texts))
        return np.vstack([self._vector(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self._vector(text)

    @property
    def embedded(self) -> int:
        return sum(self.calls)


class MemoryStore:
    """The VectorStore contract in a dict. `add` of an existing id raises, as a duplicate would be a bug."""

    def __init__(self, *_args: Any) -> None:
        self.rows: dict[str, tuple[np.ndarray, dict[str, Any]]] = {}
        self.notes: dict[str, np.ndarray] = {}

    def count(self) -> int:
        return len(self.rows)

    def chunks_for_paths(self, paths: Iterable[str]) -> list[StoredChunk]:
        wanted = set(paths)
        return [StoredChunk(cid, m["path"], m["text_hash"], bool(m.get("own"))) for cid, (_, m) in self.rows.items()
                if m["path"] in wanted]

    def embeddings(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        return {cid: self.rows[cid][0] for cid in ids if cid in self.rows}

    def add(self, ids, vectors, metadatas) -> None:
        for cid, vec, meta in zip(ids, vectors, metadatas, strict=True):
            assert cid not in self.rows, f"duplicate chunk id {cid}"
            self.rows[cid] = (np.asarray(vec), dict(meta))

    def all_ids(self) -> set[str]:
        return set(self.rows)

    def drop_other_models(self, keep: Iterable[str] = ()) -> list[str]:
        return []

    def delete(self, ids: Sequence[str]) -> None:
        for cid in ids:
            self.rows.pop(cid, None)

    def query(self, vector, k: int, *, include_own: bool = False) -> list[Hit]:
        scored = [Hit(cid, float(np.dot(vec, vector)), {k: v for k, v in meta.items() if k != "own"})
                  for cid, (vec, meta) in self.rows.items() if include_own or not meta.get("own")]
        return sorted(scored, key=lambda h: -h.score)[:k]

    def put_notes(self, paths, vectors, *, new: bool = False) -> None:
        self.notes.update({p: np.asarray(v) for p, v in zip(paths, vectors, strict=True)})

    def delete_notes(self, paths) -> None:
        for p in paths:
            self.notes.pop(p, None)

    def note_paths(self) -> set[str]:
        return set(self.notes)

    def note_embeddings(self, paths) -> dict[str, np.ndarray]:
        return {p: self.notes[p] for p in paths if p in self.notes}

    def query_notes(self, vector, k: int) -> list[tuple[str, float]]:
        scored = [(p, float(np.dot(v, vector))) for p, v in self.notes.items()]
        return sorted(scored, key=lambda item: -item[1])[:k]

    def paths(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for _, meta in self.rows.values():
            out[meta["path"]] = out.get(meta["path"], 0) + 1
        return out


class FakeLLM:
    """Replies from a queue, streamed word by word: `enqueue("text", ...)`; `calls` keeps every message list."""

    name = "fake-llm"

    def __init__(self, *replies: str, n_ctx: int = 4096) -> None:
        from overlay.answer.llm import Usage

        self.n_ctx = n_ctx
        self.usage = Usage()
        self.replies: list[str] = list(replies)
        self.calls: list[list[dict[str, str]]] = []
        self.default: str | None = None  # served when the queue is empty; None makes an empty queue an error

    def enqueue(self, *replies: str) -> FakeLLM:
        self.replies.extend(replies)
        return self

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def stream(self, messages, *, max_tokens: int, temperature: float):
        from overlay.answer.llm import Usage

        self.calls.append([dict(m) for m in messages])
        if not self.replies and self.default is None:
            raise AssertionError("FakeLLM: no reply queued")
        reply = self.replies.pop(0) if self.replies else self.default
        words = re.findall(r"\S+\s*", reply)
        self.usage = Usage(sum(self.count_tokens(m["content"]) for m in messages), 0)
        yield from words[:max_tokens]
        self.usage = Usage(self.usage.prompt_tokens, min(len(words), max_tokens))


def fake_worker(*args: str) -> ModelWorker:
    """A real model worker process (tests/fake_worker.py: the real protocol loop, a scripted engine) that can be
    made to die mid-answer; see that file for its arguments."""
    from overlay.engine.client import ModelWorker

    return ModelWorker([sys.executable, str(Path(__file__).with_name("fake_worker.py")), *args])
