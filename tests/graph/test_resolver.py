from __future__ import annotations

import pytest

from graph import LinkResolver
from vault_sync import Link

PATHS = {
    "Qwen3.md": ("Квен", "Qwen 3"),
    "LLM/Обзор.md": (),
    "Спорт/Обзор.md": (),
    "Спорт/Сон.md": ("sleep",),
    "deep/a/b/Note.md": (),
    "other/Note.md": (),
    "Inbox/Idea.md": (),
    "attachments/pic.png": (),
}


@pytest.fixture
def resolver() -> LinkResolver:
    r = LinkResolver()
    for path, aliases in PATHS.items():
        r.add(path, aliases)
    return r


@pytest.mark.parametrize(("target", "source", "path", "via"), [
    ("Qwen3", "x.md", "Qwen3.md", "path"),
    ("qwen3", "x.md", "Qwen3.md", "path"),  # case-insensitive
    ("Qwen3.md", "x.md", "Qwen3.md", "path"),
    ("Спорт/Сон", "x.md", "Спорт/Сон.md", "path"),
    ("сон", "x.md", "Спорт/Сон.md", "name"),
    ("СОН.md", "x.md", "Спорт/Сон.md", "name"),
    ("Квен", "x.md", "Qwen3.md", "alias"),
    ("qwen 3", "x.md", "Qwen3.md", "alias"),
    ("SLEEP", "x.md", "Спорт/Сон.md", "alias"),
    ("pic.png", "x.md", "attachments/pic.png", "name"),
    ("b/Note", "x.md", "deep/a/b/Note.md", "name"),  # folder-qualified tail
    ("", "Inbox/Idea.md", "Inbox/Idea.md", "self"),
    ("Missing", "x.md", None, "unresolved"),
    ("LLM/Missing", "x.md", None, "unresolved"),
])
def test_resolution_order(resolver: LinkResolver, target: str, source: str, path: str | None, via: str) -> None:
    res = resolver.resolve(target, source)
    assert (res.path, res.via) == (path, via)


@pytest.mark.parametrize(("source", "expected"), [
    ("Спорт/Велосипед.md", "Спорт/Обзор.md"),
    ("LLM/sub/Q.md", "LLM/Обзор.md"),
    ("LLM/Q.md", "LLM/Обзор.md"),
])
def test_ambiguous_name_prefers_linking_notes_folder_and_is_recorded(resolver: LinkResolver, source: str,
                                                                      expected: str) -> None:
    res = resolver.resolve("Обзор", source)
    assert res.path == expected
    assert set(res.candidates) == {"LLM/Обзор.md", "Спорт/Обзор.md"}


def test_ambiguity_from_elsewhere_is_deterministic(resolver: LinkResolver) -> None:
    first = resolver.resolve("Note", "Inbox/x.md")
    assert first.path == "other/Note.md"  # fewer folders away than deep/a/b
    assert first.candidates == ("other/Note.md", "deep/a/b/Note.md")


def test_markdown_links_resolve_relative_to_the_linking_note(resolver: LinkResolver) -> None:
    link = Link("../Спорт/Сон.md", kind="markdown")
    assert resolver.resolve(link, "LLM/x.md").path == "Спорт/Сон.md"
    assert resolver.resolve(Link("Qwen3.md", kind="markdown"), "LLM/x.md").path == "Qwen3.md"


def test_wiki_links_in_obsidians_relative_format_resolve_relative_to_the_linking_note(resolver: LinkResolver) -> None:
    assert resolver.resolve(Link("../Спорт/Сон"), "LLM/x.md").path == "Спорт/Сон.md"
    assert resolver.resolve(Link("../LLM/Обзор"), "Спорт/x.md").path == "LLM/Обзор.md"  # not the nearer namesake
    assert resolver.resolve(Link("./Обзор"), "Спорт/x.md").path == "Спорт/Обзор.md"
    assert resolver.resolve("../../Qwen3", "deep/a/x.md").via == "path"


def test_remove_and_readd(resolver: LinkResolver) -> None:
    resolver.remove("Qwen3.md")
    assert resolver.resolve("Квен", "x.md").path is None
    resolver.add("models/Qwen3.md", ("Квен",))
    assert resolver.resolve("Qwen3", "x.md").path == "models/Qwen3.md"


def test_decomposed_file_names_from_macos_resolve() -> None:
    import unicodedata

    r = LinkResolver()
    r.add(unicodedata.normalize("NFD", "Заметки/Йога и ёлка.md"), (unicodedata.normalize("NFD", "Йога"),))
    for target in ("Йога и ёлка", "заметки/йога и ёлка", "йога"):
        assert r.resolve(unicodedata.normalize("NFC", target), "x.md").path is not None, target
