"""Answers that know when they are stale. Each answer note records what it was built from (`built_from`: the
first 12 hex digits of each source chunk's sha1, aligned with `sources`). A source whose section no longer has that
text has changed; one whose note is gone has vanished. `overlay reindex` lists such answers; `ask --refresh`
answers their question again."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from graph import LinkResolver
from overlay.answer.note_format import HASH_CHARS
from overlay.index.chunk_store import ChunkStore
from overlay.settings import Settings
from vault_sync import SkipFile, inline_answers, read_note
from vault_sync.markdown import WIKILINK

ANSWER_TYPE = "overlay-answer"
_MD_LINK = re.compile(r"^\[[^\]]*\]\(<(.+)>\)$")


@dataclass
class StaleAnswer:
    path: str
    question: str
    changed: list[str] = field(default_factory=list)  # the sources, as the note links them
    vanished: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "question": self.question, "changed": self.changed, "vanished": self.vanished}


def stale_answers(settings: Settings, answer_paths: list[str], resolver: LinkResolver,
                  texts: ChunkStore, inline_paths: list[str] = ()) -> list[StaleAnswer]:
    """Answer notes, and inline answers inside `inline_paths` (listed as `path#run id`), whose sources changed."""
    found = []
    for path in inline_paths:
        try:
            text = (settings.vault / path).read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        for answer in inline_answers.find(text):
            meta = answer.meta
            if not isinstance(meta.get("built_from"), list):
                continue
            stale = _check(f"{path}#{answer.run_id}", str(meta.get("q", "")), meta.get("sources") or [],
                           meta["built_from"], resolver, texts)
            if stale.changed or stale.vanished:
                found.append(stale)
    for path in answer_paths:
        try:
            note, _ = read_note(settings.vault, path, max_bytes=settings.max_file_bytes)
        except (SkipFile, FileNotFoundError):
            continue
        meta = note.frontmatter
        if meta.get("type") != ANSWER_TYPE or not isinstance(meta.get("built_from"), list):
            continue  # not ours, or written before answers recorded their sources
        stale = _check(path, str(meta.get("question", "")), meta.get("sources") or [], meta["built_from"],
                       resolver, texts)
        if stale.changed or stale.vanished:
            found.append(stale)
    return found


def _check(path: str, question: str, sources: list, hashes: list, resolver: LinkResolver,
           texts: ChunkStore) -> StaleAnswer:
    stale = StaleAnswer(path, question)
    for link, digest in zip(sources, hashes, strict=False):
        target, heading = _target(str(link), resolver, path)
        if target is None:
            stale.vanished.append(str(link))
        elif str(digest) not in _hashes(texts, target, heading):
            stale.changed.append(str(link))
    return stale


def _target(link: str, resolver: LinkResolver, from_path: str) -> tuple[str | None, str]:
    markdown = _MD_LINK.match(link.strip())
    if markdown:
        return (markdown.group(1) if resolver.resolve(markdown.group(1), from_path).path else None), ""
    match = WIKILINK.search(link)
    if not match:
        return None, ""
    name, _, heading = match.group(2).split("|", 1)[0].partition("#")
    return resolver.resolve(name.strip(), from_path).path, heading.strip()


def _hashes(texts: ChunkStore, path: str, heading: str) -> set[str]:
    """Text hashes of the note's chunks (of that section, when the link names one that still exists)."""
    rows = texts.get(texts.ids_for_paths([path]).get(path, []))
    under = [r for r in rows.values() if r.heading == heading] or list(rows.values())
    return {hashlib.sha1(r.text.encode("utf-8", "surrogatepass")).hexdigest()[:HASH_CHARS] for r in under}
