"""Checks on what the model wrote: every `[^n]` must name a source it was given, every `[[link]]` must resolve in
the vault. What fails after the revision pass is taken out (`strip_failures`) and reported, never written."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from vault_sync.markdown import WIKILINK

CITATION = re.compile(r"\[\^(\d+)\]")
# Small models write [1] or [1, 2] for [^1] [^2]; a bracketed number list not part of a [[link]], a markdown link
# `[x](…)` or a footnote definition `[x]:` is read as citations.
_LOOSE_CITATION = re.compile(r"(?<!\[)\[\s*\^?(\d{1,3}(?:\s*[,;]\s*\^?\d{1,3})*)\s*\](?![\](:])")


@dataclass
class Verdict:
    citations_total: int = 0
    citations_valid: int = 0
    links_total: int = 0
    links_resolved: int = 0
    bad_citations: list[int] = field(default_factory=list)
    bad_links: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.bad_citations and not self.bad_links

    def add(self, other: Verdict) -> None:
        self.citations_total += other.citations_total
        self.citations_valid += other.citations_valid
        self.links_total += other.links_total
        self.links_resolved += other.links_resolved
        self.bad_citations += other.bad_citations
        self.bad_links += other.bad_links


def normalise_citations(text: str) -> str:
    """`[1]`, `[1, 2]`, `[^1,^2]` → `[^1] [^2]`."""
    def expand(match: re.Match[str]) -> str:
        return " ".join(f"[^{n}]" for n in re.findall(r"\d+", match.group(1)))

    return _LOOSE_CITATION.sub(expand, text)


def link_target(inner: str) -> str:
    """`Note#Heading|shown` → `Note#Heading`."""
    return inner.split("|", 1)[0].strip()


def verify(text: str, n_sources: int, resolves: Callable[[str], bool]) -> Verdict:
    verdict = Verdict()
    for match in CITATION.finditer(text):
        n = int(match.group(1))
        verdict.citations_total += 1
        if 1 <= n <= n_sources:
            verdict.citations_valid += 1
        elif n not in verdict.bad_citations:
            verdict.bad_citations.append(n)
    for match in WIKILINK.finditer(text):
        target = link_target(match.group(2))
        verdict.links_total += 1
        if resolves(target):
            verdict.links_resolved += 1
        elif target not in verdict.bad_links:
            verdict.bad_links.append(target)
    return verdict


def strip_failures(text: str, verdict: Verdict) -> str:
    """Invalid citations removed; an unresolved [[link]] becomes its plain text, so the sentence still reads."""
    bad_numbers = set(verdict.bad_citations)
    bad_targets = set(verdict.bad_links)

    def citation(match: re.Match[str]) -> str:
        return "" if int(match.group(1)) in bad_numbers else match.group(0)

    def link(match: re.Match[str]) -> str:
        inner = match.group(2)
        if link_target(inner) not in bad_targets:
            return match.group(0)
        shown = inner.split("|", 1)[1] if "|" in inner else link_target(inner).split("#", 1)[0]
        return shown.strip()

    text = WIKILINK.sub(link, CITATION.sub(citation, text))
    return re.sub(r"[ \t]+([.,;:!?])", r"\1", re.sub(r"[ \t]{2,}", " ", text))


def cited_sources(text: str) -> list[int]:
    """Source numbers in order of first citation."""
    return list(dict.fromkeys(int(m.group(1)) for m in CITATION.finditer(text)))


def renumber(text: str, mapping: dict[int, int]) -> str:
    return CITATION.sub(lambda m: f"[^{mapping.get(int(m.group(1)), int(m.group(1)))}]", text)
