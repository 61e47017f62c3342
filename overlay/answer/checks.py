"""Checks on what the model wrote: every `[^n]` must name a source it was given, every `[[link]]` must resolve in
the vault, no sentence may copy the prompt, and every citation must be supported by its source (`support.py`).
What fails after the revision pass is taken out (`strip_failures`) and reported, never written."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from overlay.index.sentences import split
from overlay.index.stems import words
from vault_sync.markdown import WIKILINK

ECHO_SHARE = 0.6  # of a sentence's word triples found in the prompt: it copies the prompt

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
    echoes: list[str] = field(default_factory=list)  # sentences that copy the prompt
    cited_sentences: int = 0
    supported: int = 0  # cited sentences with at least one citation their source supports
    unsupported: list[tuple[str, int]] = field(default_factory=list)  # (sentence, source number)

    @property
    def ok(self) -> bool:
        return not (self.bad_citations or self.bad_links or self.echoes or self.unsupported)

    def add(self, other: Verdict) -> None:
        for name in ("citations_total", "citations_valid", "links_total", "links_resolved", "cited_sentences",
                     "supported"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.bad_citations += other.bad_citations
        self.bad_links += other.bad_links
        self.echoes += other.echoes
        self.unsupported += other.unsupported


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


def echoes(text: str, prompt: str, *, share: float = ECHO_SHARE) -> list[str]:
    """Sentences of `text` that copy the prompt: a line of it word for word, or `share` of their word triples.
    Quoting a source is fine (sources are not part of `prompt`); repeating the instructions or the question is not."""
    lines = {" ".join(words(line)) for line in prompt.splitlines() if words(line)}
    triples = set(_triples(words(prompt)))
    found = []
    for sentence in split(text):
        mine = words(CITATION.sub("", sentence.text))
        own = _triples(mine)
        if " ".join(mine) in lines or (len(mine) >= 4 and own and sum(t in triples for t in own) >= share * len(own)):
            found.append(sentence.text)
    return list(dict.fromkeys(found))


def _triples(items: list[str]) -> list[tuple[str, str, str]]:
    return list(zip(items, items[1:], items[2:], strict=False))


def strip_failures(text: str, verdict: Verdict) -> str:
    """Echoes of the prompt removed; unsupported citations removed, and a sentence left with no citation goes too;
    invalid citations removed; an unresolved [[link]] becomes its plain text, so the sentence still reads."""
    for sentence in verdict.echoes:
        text = text.replace(sentence, "")
    text = _drop_unsupported(text, verdict.unsupported)
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
    text = re.sub(r"[ \t]+([.,;:!?])", r"\1", re.sub(r"[ \t]{2,}", " ", text))
    return re.sub(r"\n{3,}", "\n\n", re.sub(r"^[ \t]*(?:[-*][ \t]*)?$", "", text, flags=re.M)).strip()


def _drop_unsupported(text: str, unsupported: list[tuple[str, int]]) -> str:
    by_sentence: dict[str, set[int]] = {}
    for sentence, n in unsupported:
        by_sentence.setdefault(sentence, set()).add(n)
    for sentence, numbers in by_sentence.items():
        kept = CITATION.sub(lambda m, drop=numbers: "" if int(m.group(1)) in drop else m.group(0), sentence)
        text = text.replace(sentence, kept if CITATION.search(kept) else "")
    return text


def cited_sources(text: str) -> list[int]:
    """Source numbers in order of first citation."""
    return list(dict.fromkeys(int(m.group(1)) for m in CITATION.finditer(text)))


def renumber(text: str, mapping: dict[int, int]) -> str:
    return CITATION.sub(lambda m: f"[^{mapping.get(int(m.group(1)), int(m.group(1)))}]", text)


def inert(text: str) -> str:
    """A quote from a user's note, made inert: its links become text (they may dangle), embeds, footnote marks and
    tags go, so the answer note adds no links or tags of its own beyond those we check."""
    text = re.sub(r"!\[\[[^\]]*\]\]", "", text)
    text = WIKILINK.sub(lambda m: (m.group(2).split("|", 1)[-1] if "|" in m.group(2)
                                   else link_target(m.group(2)).split("#", 1)[0]), text)
    text = re.sub(r"\[\^[^\]]*\]", "", text).replace("**", "").replace("__", "")
    return re.sub(r"(?<![\w/])#(?=\w)", "", text).replace("«", "“").replace("»", "”").strip()
