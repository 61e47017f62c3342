"""An answer as a note in the user's own format (DESIGN.md; seed 004): frontmatter, the question, one part per
section with its "Список релевантных заметок" of `[[Note]] — why [^n]`, a `#### Sources` footnote block, and the
reasoning trace in a folded `> [!thinking]-` callout. Every link in it is built from a vault path or checked."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import datetime

import prompts
from graph import LinkResolver
from overlay.answer.checks import cited_sources, inert, link_target, renumber, strip_failures, verify
from overlay.answer.loop import Draft
from overlay.answer.sources import Source
from overlay.index.chunking import is_exchange
from overlay.search.retrieval import snippet
from vault_sync.frontmatter_edit import new_note_text
from vault_sync.markdown import LINK_UNSAFE, WIKILINK

HASH_CHARS = 12  # of a source chunk's sha1 kept in `built_from`
_FINGERPRINT = re.compile(r"^fingerprint: ('[^'\n]*'|\S*)[ \t]*$", re.MULTILINE)
_HEADING_UNSAFE = re.compile(r"[#|^\[\]:%\\]")  # Obsidian rewrites these in heading links: link the note instead


class Links:
    """Wiki-links to vault paths, in the shortest form that still resolves (`[[Name]]`, else `[[Folder/Name]]`)."""

    def __init__(self, resolver: LinkResolver, note_path: str) -> None:
        self.resolver, self.note_path = resolver, note_path

    def to(self, path: str, heading: str = "") -> str:
        target = self.resolver.link_text(path)
        if LINK_UNSAFE.search(target):
            return f"[{target}](<{path}>)"  # a name Obsidian cannot link to: a markdown link by path instead
        if heading and not _HEADING_UNSAFE.search(heading) and not is_exchange(heading):
            target += f"#{heading}"
        return f"[[{target}]]"

    def resolves(self, target: str) -> bool:
        return self.resolver.resolve(target.split("#", 1)[0], self.note_path).path is not None


def render(draft: Draft, links: Links, *, created: datetime, run_id: str) -> str:
    body, meta = compose(draft, links)
    meta |= {"created": created.isoformat(timespec="seconds"), "model": draft.model, "language": draft.lang,
             "sources": meta.pop("sources"), "built_from": meta.pop("built_from"), "run_id": run_id,
             "fingerprint": ""}
    return stamp(new_note_text(meta, body + "\n"))


def compose(draft: Draft, links: Links) -> tuple[str, dict]:
    """The answer's body in the user's layout, and what the note records about it (question, where it was asked
    from, the period of its sources, its sources and what they were built from)."""
    words = prompts.table("sections.toml")[draft.lang]
    question = f"**{words['question_label']}:** {_inline(draft.question, links)}"
    dates = sorted(s.date for s in draft.sources if s.date)
    if dates:  # when the notes it rests on were written (chats and daily notes carry their dates)
        span = dates[0] if dates[0] == dates[-1] else f"{dates[0]} — {dates[-1]}"
        question += f"  \n**{words['period_label']}:** {span}"
    parts: list[str] = [] if draft.sources else [words["no_sources"]]
    by_n = {s.n: s for s in draft.sources}
    cited_anywhere: set[int] = set()
    for section in draft.sections:
        cited = [n for n in cited_sources(section.text) if n in by_n]  # this part's own sources, none repeated
        cited_anywhere.update(cited)
        part = f"### {section.title}\n\n{_prose(section.text)}"
        if cited:
            part += f"\n\n{words['related_label']}\n\n{_related(cited, by_n, words, links)}"
        parts.append(part)
    uncited = [s.n for s in draft.sources if s.n not in cited_anywhere]
    if uncited and draft.sections:
        parts.append(f"{words['other_sources_label']}\n\n{_related(uncited, by_n, words, links)}")
    body = question + "\n\n" + "\n\n---\n\n".join(parts)
    used = cited_sources(body)
    order = {n: i for i, n in enumerate(used, start=1)}
    body = renumber(body, order)
    if used:
        # two trailing spaces: a hard line break, as in the user's own notes (seed 004)
        body += f"\n\n#### {words['sources_label']}  \n" + "\n".join(
            f"[^{order[n]}]: {links.to(by_n[n].path, by_n[n].heading)}  " for n in used)
    thinking = "\n\n".join(f"**{s.title}**\n{s.thinking}" for s in draft.sections if s.thinking)
    if thinking:
        body += "\n\n> [!thinking]- " + words["thinking_label"] + "\n" + _quoted(_inline(thinking, links, cite=False))
    meta = {"type": "overlay-answer", "question": draft.question}
    if draft.asked_from:
        meta["asked_from"] = links.to(draft.asked_from)
    if dates:
        meta["sources_period"] = [dates[0], dates[-1]]
    meta |= {"sources": [links.to(by_n[n].path, by_n[n].heading) for n in used],
             "built_from": [by_n[n].text_hash[:HASH_CHARS] for n in used]}
    return body, meta


def stamp(text: str) -> str:
    """Put the note's own fingerprint in its `fingerprint:` line: the sha256 of the note with that value empty. A
    note whose fingerprint still matches was not edited since overlay wrote it (`ask --refresh` may replace it)."""
    return _FINGERPRINT.sub(f"fingerprint: {_digest(text)}", text, count=1)


def untouched(text: str) -> bool:
    match = _FINGERPRINT.search(text)
    return bool(match) and match.group(1) == _digest(text)


def _digest(text: str) -> str:
    blank = _FINGERPRINT.sub("fingerprint: ''", text, count=1)
    return hashlib.sha256(blank.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _related(numbers: list[int], by_n: dict[int, Source], words: dict[str, str], links: Links) -> str:
    return "\n".join(f"- {links.to(by_n[n].path)} — {_why(by_n[n], words, links)} [^{n}]." for n in numbers)


def _why(source: Source, words: dict[str, str], links: Links) -> str:
    reasons = []
    for why in source.why:
        if why == "dense":
            reasons.append(words["why_dense"])
        elif why == "bm25" and source.words:
            reasons.append(prompts.fill(words["why_words"], words=", ".join(source.words)))
        elif why == "title":
            reasons.append(words["why_named"])
        elif why.startswith(("link from ", "links to ")):
            key = "why_link_from" if why.startswith("link from ") else "why_links_to"
            other = why.split(" ", 2)[2]
            reasons.append(prompts.fill(words[key], link=links.to(other)))
    where = prompts.fill(words["why_section"], heading=source.heading) + ": " if source.heading else ""
    quote = inert(snippet(source.text, 160))
    return f"{where}«{quote}»" + (f" ({'; '.join(reasons)})" if reasons else "")


def _prose(text: str) -> str:
    """The model's section text kept inside the note's structure: no headings of its own (they would break the
    section layout), no footnote definitions (the Sources block owns them)."""
    lines = []
    for line in text.strip().splitlines():
        if re.match(r"\s*\[\^\d+\]:", line):
            continue
        heading = re.match(r"\s*#{1,6}\s+(.*)", line)
        lines.append(f"**{heading.group(1).strip()}**" if heading else line)
    return "\n".join(lines).strip() or "…"


def _inline(text: str, links: Links, *, cite: bool = True) -> str:
    """Text from outside the skeleton (the question, the trace): links that do not resolve become plain text, and
    in the trace `[^n]` becomes `[n]` so it cannot collide with the note's footnotes."""
    verdict = verify(text, 0, links.resolves)
    verdict.bad_citations = []
    text = strip_failures(text, verdict) if verdict.bad_links else text
    return text if cite else re.sub(r"\[\^(\d+)\]", r"[\1]", text)


def _quoted(text: str) -> str:
    return "\n".join(f"> {line}".rstrip() for line in text.strip().splitlines())


def on_every_link(text: str, check: Callable[[str], bool]) -> list[str]:
    """Targets of the [[links]] in `text` that fail `check` (the final guard before a note is written)."""
    return [link_target(m.group(2)) for m in WIKILINK.finditer(text) if not check(link_target(m.group(2)))]
