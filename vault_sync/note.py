"""Value objects for one parsed vault file. Everything downstream takes a `Note`, never a dict."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

LinkKind = Literal["link", "embed", "markdown", "property", "canvas"]


@dataclass(frozen=True, slots=True)
class Link:
    """One outgoing reference, exactly as written (resolution is the graph's job)."""

    target: str  # the file part: "Note", "folder/Note", "Note.md", "img.png"; "" for a same-note link
    kind: LinkKind = "link"
    heading: str | None = None  # "Heading" of [[T#Heading]]
    block: str | None = None  # "id" of [[T#^id]]
    alias: str | None = None  # "shown" of [[T|shown]]
    property: str | None = None  # frontmatter key or inline field name for typed relations
    line: int = 0  # 1-based line in the file (0 when not from the body)


@dataclass(frozen=True, slots=True)
class Heading:
    level: int
    text: str
    line: int


@dataclass(frozen=True, slots=True)
class Callout:
    """An Obsidian callout, `> [!type]± title`, kept as structure (chat exports use custom types)."""

    type: str
    title: str
    line: int
    folded: bool = False


@dataclass(frozen=True, slots=True)
class Note:
    path: str  # vault-relative, POSIX separators, with extension
    title: str
    body: str  # the indexed text: frontmatter and HTML comments removed
    checksum: str
    aliases: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()  # without '#', nested kept as "a/b"
    frontmatter: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    headings: tuple[Heading, ...] = ()
    blocks: tuple[str, ...] = ()
    links: tuple[Link, ...] = ()
    callouts: tuple[Callout, ...] = ()
    warnings: tuple[str, ...] = ()  # recoverable problems (broken YAML, encoding guess, ...)
    kind: Literal["markdown", "canvas"] = "markdown"
    body_line: int = 1  # file line number of the body's first line (after frontmatter)
    # overlay's answers inside the note (vault_sync.inline_answers): (run id, 1-based file line of the line they sit
    # under, intact). Their text is not in `body`: they are overlay's, not the note's own words.
    inline_answers: tuple[tuple[str, int, bool], ...] = ()

    @property
    def name(self) -> str:
        """The file name without extension: what `[[name]]` matches."""
        return self.path.rsplit("/", 1)[-1].rsplit(".", 1)[0]

    @property
    def folder(self) -> str:
        return self.path.rsplit("/", 1)[0] if "/" in self.path else ""
