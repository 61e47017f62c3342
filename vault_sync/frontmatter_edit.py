"""Set keys in a note's frontmatter by editing its text: one line per key inserted or replaced, every other byte
(comments, key order, quoting, flow style, line endings, BOM, the body) left as it was.

Hand-written on purpose: python-frontmatter and Obsidian's own `processFrontMatter` load the YAML and dump it again,
which turns `time: 12:30` into `750`, `zip: 0123` into `83`, `yes` into `true` and drops comments. Here the result is
proven before it is returned: its block must load to exactly the old mapping plus the new keys, else nothing is
changed and `FrontmatterEditError` says why.

`new_note_text` is the other side of the rule: serialised frontmatter, only for a note the overlay itself creates
(an answer note, the audit note). It is the one place that dumps YAML (tests/test_layout.py keeps it so).
"""

from __future__ import annotations

import re

import frontmatter
import yaml

from vault_sync import yaml_safe

_FENCE = re.compile(r"-{3,}[ \t]*(?:\r?\n|\r)?\Z")  # python-frontmatter's boundary: a line of three or more dashes
_LINE = re.compile(r"[^\n]*\n|[^\n]+\Z")


def new_note_text(meta: dict, body: str) -> str:
    """The text of a note the overlay creates: `meta` as a YAML block, then `body`. Never for a user's note — a
    user's note is edited with `set_keys`."""
    return frontmatter.dumps(frontmatter.Post(body, **meta), sort_keys=False) + "\n"


class FrontmatterEditError(ValueError):
    """The frontmatter cannot be edited safely (broken YAML, not a mapping, no closing fence); nothing changed."""


def set_keys(text: str, values: dict[str, str]) -> str:
    """`text` with each key of `values` set to its string value in the frontmatter (a block is added at the top
    when there is none)."""
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    lines = _LINE.findall(text[len(bom):])
    newline = _newline(lines[0] if lines else "")
    if not lines or not _FENCE.match(lines[0]):
        block = "".join(f"{key}: {_scalar(value)}{newline}" for key, value in values.items())
        return f"{bom}---{newline}{block}---{newline}" + text[len(bom):]
    close = next((i for i in range(1, len(lines)) if _FENCE.match(lines[i])), None)
    if close is None:
        raise FrontmatterEditError("its frontmatter has no closing '---'")
    old = _mapping("".join(lines[1:close]))
    inner = lines[1:close]
    for key, value in values.items():
        inner = _set(inner, key, f"{key}: {_scalar(value)}{_newline(inner[-1] if inner else lines[0])}")
    new = _mapping("".join(inner))
    if new != {**old, **values}:
        raise FrontmatterEditError("its frontmatter would not keep every other key as it was (duplicate keys?)")
    return bom + "".join([lines[0], *inner, *lines[close:]])


def _set(lines: list[str], key: str, line: str) -> list[str]:
    """Replace the top-level `key:` line (and its continuation lines), else append `line`."""
    own = re.compile(rf"""(["']?){re.escape(key)}\1[ \t]*:(?:[ \t]|\r?\n|\Z)""")
    start = next((i for i, text in enumerate(lines) if own.match(text)), None)
    if start is None:
        return [*lines, line]
    end = start + 1
    while end < len(lines) and _continues(lines, end):
        end += 1
    return [*lines[:start], line, *lines[end:]]


def _continues(lines: list[str], i: int) -> bool:
    """Line i still belongs to the value above: indented, a `- ` item at the margin, or blank lines before one."""
    text = lines[i]
    if text[:1] in (" ", "\t") or re.match(r"-(?:[ \t]|\r?\n|\Z)", text):
        return True
    if text.strip():
        return False
    rest = next((t for t in lines[i:] if t.strip()), "")
    return rest[:1] in (" ", "\t")


def _mapping(block: str) -> dict:
    try:
        data = yaml_safe.load(block) if block.strip() else {}
    except yaml.YAMLError as exc:
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise FrontmatterEditError(f"its frontmatter is not valid YAML ({reason})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise FrontmatterEditError(f"its frontmatter is a YAML {type(data).__name__}, not key: value pairs")
    return data


def _scalar(value: str) -> str:
    """The value as YAML that loads back to the same string: plain when it can be, else double-quoted."""
    plain = value.strip() == value and "\n" not in value
    if plain:
        try:
            # the strict loader: a value any YAML reader might take for a date or number is quoted
            plain = yaml.load(f"k: {value}", Loader=yaml_safe.STRICT) == {"k": value}
        except (yaml.YAMLError, ValueError, AttributeError):
            plain = False
    if plain:
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'


def _newline(line: str) -> str:
    return "\r\n" if line.endswith("\r\n") else "\n"
