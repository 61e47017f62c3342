"""`parse_note(text, path) -> Note`: pure, no disk access. Bad frontmatter never fails a note: it is read as text."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import unicodedata
from typing import Any

import yaml
from frontmatter.default_handlers import YAMLHandler

from vault_sync import inline_answers, yaml_safe
from vault_sync import markdown as md
from vault_sync.blobs import describe as describe_blobs
from vault_sync.blobs import strip_blobs
from vault_sync.note import Link, Note

_YAML = YAMLHandler()
_RESERVED_KEYS = {"title", "aliases", "alias", "tags", "tag", "cssclasses", "cssclass"}


class CanvasError(ValueError):
    """A `.canvas` file that is not the JSON Canvas format."""


def text_checksum(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


# Bumped whenever parsing changes what a note yields (links, tags, text): an index made by an older parser re-reads
# every note once (vectors are reused by chunk id, so nothing is embedded again unless a chunk's text changed).
# 2: markdown links without an extension, `[x](Folder/Note)`, are note links, as in Obsidian.
# 3: inline data URIs, long base64/hex runs and minified lines are blanked from the body (vault_sync.blobs).
# 4: overlay's inline answers are blanked from the body and listed (vault_sync.inline_answers).
# 5: a property that only looks like a date (`2025-13-45`) is text, no longer a failed note (vault_sync.yaml_safe).
# 6: <script>/<style> elements and long lines of numbers and symbols are blanked too (vault_sync.blobs).
# 7: pasted hex dumps (xxd, hexdump -C, C byte arrays) are blanked too (vault_sync.blobs).
# 8: URL-safe base64 runs and `;BASE64,` data URIs are blanked too (vault_sync.blobs).
# 9: KOI8-R and CP866 notes are read in their encoding, no longer as cp1251 (vault_sync.decode).
# 10: inline math (`$x$`) is masked like code: no link or tag inside it (vault_sync.markdown.INLINE_MATH); an
#     unquoted wiki-link as a YAML list item (`- [[X]]`) is a relation, like `parent: [[X]]`.
# 11: the text is read composed (NFC): decomposed letters ("й" as "и" + U+0306) no longer split words.
PARSER_VERSION = 11

def parse_note(text: str, path: str, *, checksum: str | None = None, warnings: tuple[str, ...] = ()) -> Note:
    """Parse one Markdown note. `path` is vault-relative with POSIX separators."""
    checksum = checksum or text_checksum(text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")  # Windows/old-Mac line ends: the scanners expect \n
    # Composed, as typed: text copied from macOS file names or some PDFs arrives decomposed ("й" as "и" + U+0306,
    # "ё" as "е" + U+0308), and a combining mark is not a word character, so "йогурт" would be indexed as "огурт".
    text = unicodedata.normalize("NFC", text)
    meta, body, body_line, fm_warning = split_frontmatter(text)
    notes = [*warnings, *([fm_warning] if fm_warning else [])]
    answers = tuple((a.run_id, body_line + a.anchor, a.intact) for a in inline_answers.find(body))
    if answers:
        body = inline_answers.blank(body)
    body, blobs = strip_blobs(md.strip_comments(body))
    if blobs:
        notes.append(describe_blobs([dataclasses.replace(b, line=b.line + body_line - 1) for b in blobs]))
    masked = md.mask_code(body)
    fm_links = list(_frontmatter_links(meta))
    field_links, field_starts = _inline_field_links(masked)
    links = [*fm_links, *field_links, *md.scan_wikilinks(masked, skip=field_starts), *md.scan_markdown_links(masked)]
    shift = body_line - 1
    links = [_shift(link, shift) for link in links]
    return Note(
        path=path,
        title=_title(meta, path),
        body=body,
        checksum=checksum,
        aliases=_string_list(meta.get("aliases", meta.get("alias"))),
        tags=tuple(dict.fromkeys([*_tag_list(meta.get("tags", meta.get("tag"))), *md.scan_tags(masked)])),
        frontmatter=meta,
        headings=tuple(h.__class__(h.level, h.text, h.line + shift) for h in md.scan_headings(masked)),
        blocks=tuple(md.scan_blocks(masked)),
        links=tuple(links),
        callouts=tuple(c.__class__(c.type, c.title, c.line + shift, c.folded) for c in md.scan_callouts(masked)),
        warnings=tuple(notes),
        body_line=body_line,
        inline_answers=answers,
    )


def split_frontmatter(text: str) -> tuple[dict[str, Any], str, int, str | None]:
    """-> (metadata, body, first line number of body, warning). Broken or non-mapping YAML: the whole file is the
    body and the reason is returned, so nothing the user wrote is lost from the index."""
    if not _YAML.detect(text):
        return {}, text, 1, None
    try:
        raw_fm, body = _YAML.split(text)
    except ValueError:
        return {}, text, 1, "frontmatter: opening '---' has no closing '---'; read as plain text"
    try:
        meta = yaml_safe.load(raw_fm)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" (line {where.line + 1})" if where else ""
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return {}, text, 1, f"frontmatter: invalid YAML{at}: {reason}; read as plain text"
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        return {}, text, 1, f"frontmatter: YAML is a {type(meta).__name__}, not key: value pairs; read as plain text"
    body_start = len(text) - len(body)
    return _jsonable(meta), body, text.count("\n", 0, body_start) + 1, None


def _jsonable(value: Any) -> Any:
    """YAML gives dates and odd keys; keep the metadata JSON- and Chroma-friendly."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _title(meta: dict[str, Any], path: str) -> str:
    title = meta.get("title")
    if isinstance(title, str) and title.strip():
        return title.strip()
    return unicodedata.normalize("NFC", path.rsplit("/", 1)[-1].rsplit(".", 1)[0])  # macOS names are decomposed


def _string_list(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else str(value).split(",")
    return tuple(dict.fromkeys(s for s in (str(v).strip() for v in items if v is not None) if s))


def _tag_list(value: Any) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else str(value).replace(",", " ").split()
    return [t for t in (str(v).strip().lstrip("#") for v in items if v is not None) if t]


def _frontmatter_links(meta: dict[str, Any]):
    """Properties whose values are wiki-links become typed relations (`parent: "[[X]]"`)."""
    for key, value in meta.items():
        if key.lower() in _RESERVED_KEYS:
            continue
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str):
                for m in md.WIKILINK.finditer(item):
                    yield md.parse_wikilink(m.group(2), prop=key)
            elif (target := _unquoted_link(item)) is not None:
                yield md.parse_wikilink(target, prop=key)


def _unquoted_link(item: Any) -> str | None:
    """An unquoted wiki-link as YAML reads it: `parent: [[X]]` is [["X"]] (the item ["X"]), and a list item
    `- [[X]]` is [[["X"]]] (the item [["X"]])."""
    for _ in range(2):
        if not (isinstance(item, list) and len(item) == 1):
            return None
        item = item[0]
        if isinstance(item, str):
            return item
    return None


def _inline_field_links(masked: str) -> tuple[list[Link], set[int]]:
    links: list[Link] = []
    starts: set[int] = set()
    for key, value, offset in md.scan_inline_fields(masked):
        for m in md.WIKILINK.finditer(value):
            starts.add(offset + m.start())
            links.append(md.parse_wikilink(m.group(2), prop=key, line=md.line_of(masked, offset)))
    return links, starts


def _shift(link: Link, lines: int) -> Link:
    if not link.line or not lines:
        return link
    return Link(link.target, link.kind, link.heading, link.block, link.alias, link.property, link.line + lines)


def parse_canvas(text: str, path: str, *, checksum: str | None = None) -> Note:
    """JSON Canvas: text nodes are indexed (their wiki-links count), file nodes and edges become links."""
    try:
        data = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as exc:
        raise CanvasError(f"canvas: invalid JSON at line {exc.lineno}: {exc.msg}") from None
    if not isinstance(data, dict):
        raise CanvasError("canvas: top level is not a JSON object")
    nodes = {n.get("id"): n for n in _list(data.get("nodes")) if isinstance(n, dict)}
    texts = [str(n.get("text") or n.get("label") or "") for n in nodes.values() if n.get("type") in ("text", "group")]
    body = "\n\n".join(t for t in texts if t.strip())
    inner = parse_note(body, path) if body else None
    links = list(inner.links) if inner else []
    for node in nodes.values():
        if node.get("type") == "file" and node.get("file"):
            links.append(_canvas_file_link(node))
    for edge in _list(data.get("edges")):
        label = str(edge.get("label") or "").strip() if isinstance(edge, dict) else ""
        if not label:  # an unlabelled edge adds nothing to the file nodes' own links
            continue
        for end in (edge.get("fromNode"), edge.get("toNode")):
            node = nodes.get(end)
            if node and node.get("type") == "file" and node.get("file"):
                link = _canvas_file_link(node)
                links.append(Link(link.target, "canvas", link.heading, link.block, None, f"edge:{label}", 0))
    return Note(path=path, title=_title({}, path), body=body, checksum=checksum or text_checksum(text),
                tags=inner.tags if inner else (), headings=inner.headings if inner else (),
                links=tuple(dict.fromkeys(links)), kind="canvas")


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _canvas_file_link(node: dict[str, Any]) -> Link:
    sub = str(node.get("subpath") or "").lstrip("#")
    return Link(target=str(node["file"]), kind="canvas", heading=None if sub.startswith("^") else (sub or None),
                block=sub[1:] if sub.startswith("^") else None)
