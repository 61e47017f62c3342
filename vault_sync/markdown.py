"""Regex scanners for the Obsidian dialect of Markdown.

Hand-written: markdown-it and mistune do not know wiki-links, embeds, block ids, callouts, nested/Cyrillic tags or
Dataview inline fields, and they would cost a full AST per note. The trick that keeps these regexes honest is
`mask_code`: code and comments are blanked out (same length, newlines kept) before any scanner runs, so offsets and
line numbers stay valid and nothing inside code is ever taken for a link or a tag.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import PurePosixPath
from urllib.parse import unquote

from vault_sync.note import Callout, Heading, Link

FENCE = re.compile(r"^[ \t]{0,3}(?:>[ \t]?)*(`{3,}|~{3,})[^\n]*\n.*?(?:^[ \t]{0,3}(?:>[ \t]?)*\1[ \t]*$|\Z)",
                   re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"(`+)(?!`)[^\n]*?(?<!`)\1(?!`)")
HTML_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
OBSIDIAN_COMMENT = re.compile(r"%%.*?(?:%%|\Z)", re.DOTALL)
MATH_BLOCK = re.compile(r"\$\$.*?\$\$", re.DOTALL)
# Inline math, by Pandoc's rule (which Obsidian's renderer follows): `$` opens when a non-space follows it, and
# closes when a non-space precedes it and no digit follows — so "$5 and $10", "$5/$10" and "$HOME and $PATH" stay
# text, while `$x^2$` and `$[[x]]$` are math (no link, no tag inside).
INLINE_MATH = re.compile(r"(?<![\\$])\$(?=[^\s$])[^\n$]*?(?<=[^\s\\])\$(?![\d$])")

HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$", re.MULTILINE)
BLOCK_ID = re.compile(r"(?:^|[ \t]+)\^([A-Za-z0-9][A-Za-z0-9-]*)[ \t]*$", re.MULTILINE)
WIKILINK = re.compile(r"(!?)\[\[([^\[\]\n]+?)\]\]")
LINK_UNSAFE = re.compile(r"[#|^\[\]]")  # characters that end or split a wiki-link target: such names cannot be linked
MD_LINK = re.compile(r"(!?)\[(?:[^\[\]\n]|\[[^\[\]\n]*\])*\]\(\s*(<[^>\n]+>|[^)\s]+)(?:\s+\"[^\"\n]*\")?\s*\)")
URL_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
# Obsidian tags: '#' at a word start, then letters/digits/_/-// (any script), at least one non-digit.
TAG = re.compile(r"(?:^|(?<=[\s(\[,;]))#([^\W][\w/-]*|_[\w/-]*)", re.MULTILINE)
CALLOUT = re.compile(r"^((?:>[ \t]*)+)\[!([^\]\s]+)\]([+-]?)[ \t]*(.*)$", re.MULTILINE)
INLINE_FIELD_LINE = re.compile(r"^[ \t>*-]*([\w][\w \t.-]{0,60}?)::[ \t]*(.+)$", re.MULTILINE)
INLINE_FIELD_BRACKET = re.compile(r"[\[(]([\w][\w .-]{0,60}?)::[ \t]*((?:\[\[[^\]\n]*\]\]|[^\[\]()\n])+)[\])]")
EMPHASIS = re.compile(r"(\*\*|__|\*|_|~~|==)(.+?)\1")


def _blank(match: re.Match[str]) -> str:
    return re.sub(r"[^\n]", " ", match.group(0))


def strip_comments(text: str) -> str:
    """Remove HTML and %% comments, keeping their newlines so line numbers do not move."""
    text = HTML_COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    return OBSIDIAN_COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), text)


def mask_code(text: str) -> str:
    """Blank fenced code, inline code and math so scanners skip them; same length as `text`."""
    for pattern in (FENCE, MATH_BLOCK, INLINE_CODE, INLINE_MATH):
        text = pattern.sub(_blank, text)
    return text


def line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def clean_inline(text: str) -> str:
    """Heading/callout title text as a reader sees it: emphasis markers and wiki-link brackets dropped."""
    text = WIKILINK.sub(lambda m: _wikilink_label(m.group(2)), text)
    for _ in range(2):
        text = EMPHASIS.sub(r"\2", text)
    return text.strip()


def _wikilink_label(inner: str) -> str:
    inner = inner.replace("\\|", "|")
    return inner.split("|", 1)[1] if "|" in inner else inner.split("#", 1)[0] or inner


def scan_headings(masked: str) -> list[Heading]:
    return [Heading(len(m.group(1)), clean_inline(m.group(2)), line_of(masked, m.start()))
            for m in HEADING.finditer(masked)]


def scan_blocks(masked: str) -> list[str]:
    return list(dict.fromkeys(m.group(1) for m in BLOCK_ID.finditer(masked)))


def parse_wikilink(inner: str, *, embed: bool = False, line: int = 0, prop: str | None = None) -> Link:
    """`T#Heading|alias` -> Link. `\\|` (escaped pipe inside tables) counts as the alias separator."""
    inner = inner.replace("\\|", "|")
    target, _, alias = inner.partition("|")
    target, _, sub = target.partition("#")
    heading = block = None
    if sub.startswith("^"):
        block = sub[1:].strip() or None
    elif sub:
        heading = sub.split("#")[-1].strip() or None  # [[T#H1#H2]] points at the nested H2
    kind = "property" if prop else ("embed" if embed else "link")
    return Link(target=target.strip(), kind=kind, heading=heading, block=block,
                alias=alias.strip() or None, property=prop, line=line)


def scan_wikilinks(masked: str, *, skip: set[int] | None = None) -> Iterator[Link]:
    for m in WIKILINK.finditer(masked):
        if skip and m.start() in skip:
            continue
        yield parse_wikilink(m.group(2), embed=bool(m.group(1)), line=line_of(masked, m.start()))


def scan_markdown_links(masked: str) -> Iterator[Link]:
    """Markdown links to local files; web URLs and pure anchors are not vault links."""
    for m in MD_LINK.finditer(masked):
        url = m.group(2).strip("<>").strip()
        if not url or url.startswith("#") or URL_SCHEME.match(url):
            continue
        path, _, sub = unquote(url).partition("#")
        is_embed = bool(m.group(1))
        suffix = PurePosixPath(path).suffix.lower()
        if not is_embed and suffix and suffix not in (".md", ".canvas"):
            continue  # a link to a file that is not a note; `[x](Note)` without extension is a note, as in Obsidian
        heading = sub if sub and not sub.startswith("^") else None
        block = sub[1:] if sub.startswith("^") else None
        yield Link(target=path, kind="embed" if is_embed else "markdown", heading=heading, block=block,
                   line=line_of(masked, m.start()))


def scan_tags(masked: str) -> list[str]:
    """Tags outside code and outside links (`[[#Heading]]`, `[x](#anchor)` are not tags)."""
    tags = []
    for m in TAG.finditer(MD_LINK.sub(_blank, WIKILINK.sub(_blank, masked))):
        tag = m.group(1).rstrip("/-")
        if tag and not tag.replace("/", "").isdigit():
            tags.append(tag)
    return tags


def scan_callouts(masked: str) -> list[Callout]:
    return [Callout(type=m.group(2).lower(), title=clean_inline(m.group(4)), line=line_of(masked, m.start()),
                    folded=m.group(3) == "-")
            for m in CALLOUT.finditer(masked)]


def scan_inline_fields(masked: str) -> Iterator[tuple[str, str, int]]:
    """Dataview inline fields `key:: value` (own line) and `[key:: value]` / `(key:: value)` (in text)."""
    seen: set[int] = set()
    for pattern in (INLINE_FIELD_LINE, INLINE_FIELD_BRACKET):
        for m in pattern.finditer(masked):
            if m.start(2) in seen:
                continue
            seen.add(m.start(2))
            yield m.group(1).strip(), m.group(2), m.start(2)
