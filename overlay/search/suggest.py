"""Links worth adding: notes related to this one that it does not link to yet, each with the sentence of this note
that would carry the link (the sentence closest in meaning to the other note)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from overlay.index.chunking import chunk_body
from overlay.index.sentences import split
from overlay.search.related import related
from overlay.search.retrieval import Retriever


@dataclass(frozen=True)
class Suggestion:
    path: str
    title: str
    score: float
    sentence: str  # in the note being edited: where a link to `path` would fit
    why: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "title": self.title, "score": self.score, "sentence": self.sentence,
                "why": list(self.why)}


def suggest_links(retriever: Retriever, path: str, k: int = 5) -> list[Suggestion]:
    candidates = [r for r in related(retriever, path, 4 * k) if not r.linked][:k]
    if not candidates:
        return []
    ids = retriever.texts.ids_for_paths([path, *(c.path for c in candidates)])
    rows = retriever.texts.get([cid for cids in ids.values() for cid in cids])
    own = [s.flat for cid in ids.get(path, []) for s in split(chunk_body(rows[cid].text)) if len(s.flat.split()) >= 3]
    if not own:
        return []
    sentences = np.asarray(retriever.embedder.embed_documents(own), dtype=np.float32)
    firsts = {p: rows[cids[0]].text for p, cids in ids.items() if cids and p != path}
    out = []
    for candidate in candidates:
        if candidate.path not in firsts:
            continue
        vector = np.asarray(retriever.embedder.embed_query(firsts[candidate.path][:600]), dtype=np.float32)
        best = int(np.argmax(sentences @ vector))
        title = firsts[candidate.path].split("\n", 1)[0].split(" > ", 1)[0]
        out.append(Suggestion(candidate.path, title, candidate.score, own[best], candidate.why))
    return out

