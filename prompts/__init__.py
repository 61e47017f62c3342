"""Prompt templates as data files, shipped inside the installed package (read with importlib.resources, so a plain
`pip install .` finds them as well as an editable install)."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib.resources import files
from string import Template
from typing import Any


def names() -> list[str]:
    return sorted(p.name for p in files(__name__).iterdir() if p.name.endswith((".md", ".toml")))


@cache
def text(name: str) -> str:
    """The raw template file `name` (e.g. "system.ru.md")."""
    resource = files(__name__) / name
    if not resource.is_file():
        raise FileNotFoundError(f"no prompt template {name!r}; have: {', '.join(names())}")
    return resource.read_text(encoding="utf-8")


def render(name: str, **values: Any) -> str:
    """`$placeholders` filled from values; a missing value is an error, not an empty hole in the prompt."""
    return Template(text(name)).substitute(**values)


def fill(template: str, **values: Any) -> str:
    """A `$placeholder` string from a table (e.g. sections.toml) filled in."""
    return Template(template).substitute(**values)


def table(name: str) -> dict[str, Any]:
    return tomllib.loads(text(name))
