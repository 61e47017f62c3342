"""Resolve link targets the way Obsidian does.

Order: exact vault path (with or without extension, relative to the linking note for markdown links and for
wiki-links that start with `./` or `../`), then the file name (case-insensitive; a `folder/Name` target must match
the path's tail), then frontmatter aliases. Several candidates: the one nearest the linking note's folder wins and
the ambiguity is recorded.
"""

from __future__ import annotations

import posixpath
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from vault_sync import Link


@dataclass(frozen=True, slots=True)
class Resolution:
    path: str | None  # the resolved vault path, None when unresolved
    via: str  # "path" | "name" | "alias" | "self" | "unresolved"
    candidates: tuple[str, ...] = ()  # more than one when ambiguous


@lru_cache(maxsize=1 << 18)  # the same targets and paths fold again and again (graph load, relinks, audits)
def fold(text: str) -> str:
    """Case- and normalisation-insensitive form: macOS stores file names decomposed (NFD: `й` = `и` + U+0306),
    while links typed in Obsidian are composed (NFC)."""
    return unicodedata.normalize("NFC", text).lower()


@lru_cache(maxsize=1 << 18)
def link_key(target: str) -> str:
    """The lookup key of a target: its last path part, folded, without a note extension."""
    name = fold(target.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1])
    for ext in (".md", ".canvas"):
        if name.endswith(ext):
            return name[: -len(ext)]
    return name


class LinkResolver:
    def __init__(self) -> None:
        self._paths: dict[str, str] = {}  # lower-cased path -> path
        self._by_name: dict[str, set[str]] = {}
        self._by_alias: dict[str, set[str]] = {}
        self._aliases_of: dict[str, tuple[str, ...]] = {}

    def add(self, path: str, aliases: tuple[str, ...] = ()) -> None:
        self.remove(path)
        self._paths[fold(path)] = path
        self._by_name.setdefault(link_key(path), set()).add(path)
        self._aliases_of[path] = aliases
        for alias in aliases:
            self._by_alias.setdefault(fold(alias), set()).add(path)

    def remove(self, path: str) -> None:
        if self._paths.pop(fold(path), None) is None:
            return
        self._by_name.get(link_key(path), set()).discard(path)
        for alias in self._aliases_of.pop(path, ()):
            self._by_alias.get(fold(alias), set()).discard(path)

    def keys_of(self, path: str) -> set[str]:
        """Every key under which links may point at `path` (name and aliases)."""
        return {link_key(path), *(fold(a) for a in self._aliases_of.get(path, ()))}

    def link_text(self, path: str) -> str:
        """What to write inside [[…]] to reach `path` from anywhere: the bare name when no other note shares it,
        else the vault path (Obsidian's "shortest path when possible"). A .md extension is dropped."""
        name = path.rsplit("/", 1)[-1]
        unique = self._by_name.get(link_key(path), set()) == {path}
        text = name if unique else path
        return text[:-3] if text.lower().endswith(".md") else text

    def resolve(self, link: Link | str, source: str) -> Resolution:
        target = link if isinstance(link, str) else link.target
        target = target.strip().replace("\\", "/")
        if not target:
            return Resolution(source, "self")
        markdown = not isinstance(link, str) and link.kind == "markdown"
        # Obsidian's "relative path" link format writes wiki-links as `[[../Folder/Note]]` too
        exact = self._exact(target, source, relative=markdown or target.startswith(("./", "../")))
        if exact:
            return Resolution(exact, "path")
        named = self._pick(self._by_name.get(link_key(target), set()), target, source)
        if named.path:
            return named
        aliased = self._pick(self._by_alias.get(fold(target), set()), target, source, via="alias")
        return aliased if aliased.path else Resolution(None, "unresolved")

    def _exact(self, target: str, source: str, *, relative: bool) -> str | None:
        bases = [posixpath.dirname(source), ""] if relative else [""]
        for base in bases:
            joined = posixpath.normpath(posixpath.join(base, target)).lstrip("/")
            for candidate in (joined, joined + ".md"):
                hit = self._paths.get(fold(candidate))
                if hit:
                    return hit
        return None

    def _pick(self, candidates: set[str], target: str, source: str, via: str = "name") -> Resolution:
        if "/" in target and via == "name":
            tail = "/" + fold(target).removesuffix(".md")
            candidates = {c for c in candidates if ("/" + fold(c)).removesuffix(".md").endswith(tail)}
        if not candidates:
            return Resolution(None, "unresolved")
        ranked = sorted(candidates, key=lambda c: _distance(posixpath.dirname(source), c))
        return Resolution(ranked[0], via, tuple(ranked) if len(ranked) > 1 else ())


def _distance(folder: str, candidate: str) -> tuple[int, int, str]:
    """Folders apart (up + down from the linking note), then path depth, then path: deterministic."""
    a = [p for p in folder.split("/") if p]
    b = [p for p in posixpath.dirname(candidate).split("/") if p]
    common = 0
    while common < min(len(a), len(b)) and a[common] == b[common]:
        common += 1
    return (len(a) - common) + (len(b) - common), len(b), candidate

