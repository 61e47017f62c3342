"""Notes -> chunks: one per heading section, the heading path as context, long sections split by llama-index's
SentenceSplitter. Chunk ids hash the path and the text, so an edit re-embeds only the sections it touched and
a replayed batch finds its chunks already stored."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache

from overlay.index import chats
from overlay.index.stems import tokenize, unmark
from vault_sync import Note
from vault_sync.markdown import BLOCK_ID, CALLOUT, HEADING, WIKILINK, mask_code

_QUOTE = re.compile(r"^(?:>[ \t]?)+", re.MULTILINE)
_BLANKS = re.compile(r"\n{3,}")
_ATTACHMENT = re.compile(r"\.(png|jpe?g|gif|svg|webp|bmp|pdf|mp3|mp4|webm|wav|ogg|m4a|mov|excalidraw)$", re.I)
CHARS_PER_TOKEN = 2.5  # cheap pre-check; the splitter counts real tokens
PROPERTY_CHARS, PROPERTIES_CHARS = 200, 500
HUB_MIN_LINES = 3
NAME_WEIGHT = 2  # see Chunk.terms
_NOT_FACTS = {"title", "aliases", "alias", "tags", "tag", "cssclasses", "cssclass", "publish", "permalink",
              "type", "fingerprint", "built_from", "run_id", "sources", "question", "asked_from", "superseded_by"}
# Bookkeeping a plugin or template writes, not facts a user keeps: when the file was created or touched (Templater,
# Linter, Digital Garden's `modified_at`), where a publisher puts it (`dg-path`). On a short note (a quote card) such
# a line was a third of the text that was embedded and stemmed.
_BOOKKEEPING_KEY = re.compile(r"^(?:dg[-_].*|(?:date[ _-]?)?(?:created|modified|updated|edited|changed)"
                              r"(?:[ _-]?(?:at|on|date|time))?|last[ _-]?(?:modified|updated|edited)|mtime|ctime)$",
                              re.I)
_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d")
_PATH = re.compile(r"^\.{0,2}/\S*$")


@dataclass(frozen=True, slots=True)
class Chunk:
    id: str
    path: str
    title: str
    heading: str  # the nearest heading, as `[[path#heading]]` wants it; "" before the first heading
    heading_path: tuple[str, ...]
    text: str  # what is embedded and stored: "Title > H1 > H2" then the section text
    text_hash: str
    ordinal: int
    line: int  # file line where the section starts
    link_share: float = 0.0  # share of the section's lines that carry a link (hubs, lists of links)
    date: str = ""  # YYYY-MM-DD: the chat exchange's, else the note's date; "" when unknown
    names: str = ""  # the note's title and aliases, as the breadcrumb shows them: a BM25 field of their own

    def terms(self) -> list[str]:
        """BM25 stems: the text's, and the note's names once more (a title field weighted ×2, as a search engine
        weighs titles). Measured on the dev sets (hit@1): example 0.812 → 0.833, ru-vault 0.820 → 0.832, npm docs and
        openbox unchanged; ×3 and ×5 the same, ×10 moved npm +1.8 and example back to 0.812."""
        return tokenize(self.text) + tokenize(self.names) * (NAME_WEIGHT - 1)


EXCHANGE = "💬 "  # marks a chat exchange's label where a heading would be: it names a place, not a heading


def is_exchange(heading: str) -> bool:
    return heading.startswith(EXCHANGE)


def clean_for_index(text: str) -> str:
    """Text as a reader sees it: callout markers, block ids and link brackets removed; embeds of attachments
    dropped, embeds of notes kept as their name (embedded content is linked, not copied)."""
    lines = []
    for line in text.split("\n"):
        head = CALLOUT.match(line)
        lines.extend(["", head.group(4)] if head else [line])
    text = _QUOTE.sub("", "\n".join(lines))
    text = WIKILINK.sub(_link_label, text)
    text = BLOCK_ID.sub("", text)
    return _BLANKS.sub("\n\n", unmark(text)).strip()


def _link_label(m: re.Match[str]) -> str:
    inner = m.group(2).replace("\\|", "|")
    target, _, alias = inner.partition("|")
    if m.group(1) and _ATTACHMENT.search(target.split("#")[0].strip()):
        return ""
    if alias.strip():
        return alias.strip()
    name, _, sub = target.partition("#")
    return f"{name.strip()} > {sub.lstrip('^').strip()}" if sub else name.strip()


def sections(note: Note) -> list[tuple[tuple[str, ...], int, str]]:
    """-> [(heading path, file line, raw section text)] in document order; headings inside code are ignored."""
    raw_lines = note.body.split("\n")
    masked_lines = mask_code(note.body).split("\n")
    out: list[tuple[tuple[str, ...], int, str]] = []
    stack: list[tuple[int, str]] = []
    start, current = 0, []
    for i, (raw, masked) in enumerate(zip(raw_lines, masked_lines, strict=True)):
        m = HEADING.match(masked)
        if m:
            out.append((tuple(t for _, t in stack), note.body_line + start, "\n".join(current)))
            level = len(m.group(1))
            stack = [(lv, t) for lv, t in stack if lv < level] + [(level, _heading_text(m.group(2)))]
            start, current = i, []
        else:
            current.append(raw)
    out.append((tuple(t for _, t in stack), note.body_line + start, "\n".join(current)))
    if out and not out[0][0]:  # the preamble starts at its first non-blank line, not at the frontmatter fence
        lead = len(out[0][2]) - len(out[0][2].lstrip("\n"))
        out[0] = ((), out[0][1] + out[0][2].count("\n", 0, lead), out[0][2])
    return out


def _heading_text(text: str) -> str:
    return WIKILINK.sub(_link_label, text).strip()


def chunk_note(note: Note, *, max_tokens: int = 384, overlap: int = 48) -> list[Chunk]:
    """Sections (or, for an exported chat, exchanges) → chunks; each knows its date and how much of it is links."""
    day = chats.note_date(note)
    turns = chats.exchanges(note, day)
    if turns:
        parts = [((_exchange_label(x),), note.body_line + x.line, x.raw, x.date) for x in turns]
    else:
        parts = [(path, line, raw, day) for path, line, raw in sections(note)]
    parts = [(path, line, clean_for_index(raw), _link_share(raw), date) for path, line, raw, date in parts]
    if any(body for _, _, body, _, _ in parts):
        parts = [p for p in parts if p[2]]
    else:  # a note of headings only is still findable by its first heading
        parts = [p for p in parts if p[0]][:1]
    chunks: list[Chunk] = []
    seen: dict[str, int] = {}
    facts = properties_line(note)
    for heading_path, line, body, share, date in parts:
        trail = _breadcrumb(note, heading_path)
        crumb = " > ".join(trail)
        if facts and not chunks:  # the note's own properties travel with its first chunk, searchable like text
            crumb += "\n" + facts
        for piece in _split(body, max_tokens, overlap) if body else [""]:
            text = f"{unmark(crumb)}\n\n{piece}".strip()
            text_hash = hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()
            n = seen.get(text_hash, 0)
            seen[text_hash] = n + 1
            key = f"{note.path}\x00{text_hash}\x00{n}".encode("utf-8", "surrogatepass")
            chunks.append(Chunk(hashlib.sha1(key).hexdigest()[:24], note.path, note.title,
                                heading_path[-1] if heading_path else "", heading_path, text, text_hash,
                                len(chunks), line, share, date, trail[0]))
    return chunks


def _exchange_label(exchange: chats.Exchange) -> str:
    when = " ".join(x for x in (exchange.date, exchange.time) if x)
    return f"{EXCHANGE}{exchange.number}" + (f" · {when}" if when else "") + (
        f" · {exchange.question}" if exchange.question else "")


def _link_share(raw: str) -> float:
    """The share of a section's lines that carry a link: a hub (a map of content, a list of links) is mostly such
    lines; a note that answers something is mostly not."""
    lines = [line for line in mask_code(raw).split("\n") if line.strip()]
    if len(lines) < HUB_MIN_LINES:  # one or two lines say too little about what a section is
        return 0.0
    linked = sum(1 for line in lines if any(not m.group(1) for m in WIKILINK.finditer(line)))
    return round(linked / len(lines), 3)


def properties_line(note: Note) -> str:
    """The note's frontmatter properties as one line ("author: Даниэль Канеман; year: 2011; price: 8500 USD"):
    facts users keep there are found by search and quoted in answers. Names, aliases, tags and CSS classes are
    elsewhere already; a value that is a [[link]] is a typed relation in the graph; overlay's own keys are noise."""
    parts = []
    for key, value in note.frontmatter.items():
        if key.lower() in _NOT_FACTS or key.lower().startswith("overlay") or _BOOKKEEPING_KEY.match(key):
            continue
        values = value if isinstance(value, list) else [value]
        shown = [str(v) for v in values if isinstance(v, str | int | float) and not isinstance(v, bool)
                 and str(v).strip() and not WIKILINK.search(str(v)) and not _machine_value(str(v))]
        if shown:
            parts.append(f"{key}: {', '.join(shown)}"[:PROPERTY_CHARS])
    return "; ".join(parts)[:PROPERTIES_CHARS]


def _machine_value(value: str) -> bool:
    """A timestamp (a date with a time of day) or a bare path: written by a tool, read by none."""
    value = value.strip()
    return bool(_TIMESTAMP.match(value) or _PATH.match(value))


def chunk_body(text: str) -> str:
    """A chunk's text without its head — the breadcrumb line ("Title > Heading", plus the note's properties on the
    first chunk) — which names the note and states nothing of its own."""
    return text.split("\n\n", 1)[-1]


def _breadcrumb(note: Note, heading_path: tuple[str, ...]) -> tuple[str, ...]:
    """"Title (alias, …) > H1 > H2": the aliases are the author's own names for the note (measured on the example
    dev set: hit@1 0.67 -> 0.73 hybrid); an H1 that only restates the title is not repeated."""
    if heading_path and heading_path[0].casefold() == note.title.casefold():
        heading_path = heading_path[1:]
    label = f"{note.title} ({', '.join(note.aliases)})" if note.aliases else note.title
    return (label, *heading_path)


def _split(text: str, max_tokens: int, overlap: int) -> list[str]:
    if len(text) <= max_tokens * CHARS_PER_TOKEN:
        return [text]
    return [t for t in _splitter(max_tokens, overlap).split_text(text) if t.strip()]


@lru_cache(maxsize=4)
def _splitter(max_tokens: int, overlap: int):
    from llama_index.core.node_parser import (
        SentenceSplitter,  # lazy: ~1 s import, needed for long sections only
    )

    return SentenceSplitter(chunk_size=max_tokens, chunk_overlap=overlap, paragraph_separator="\n\n")
