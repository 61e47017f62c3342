"""Loading a note's YAML the way Obsidian reads it: a value that only looks like a date stays text.

PyYAML's safe loader turns `date: 2025-02-30` or `date: 2025-13-45` (a typo) into a ValueError, and `!!timestamp
foo` into an AttributeError, which would fail the whole note; Obsidian shows such a value as text. A value that is
a real date still loads as one. A recursive alias (`a: &a [*a]`) or aliases that expand past `MAX_NODES` values
(a "billion laughs" block) are a `yaml.YAMLError` here, not a RecursionError or memory spent later by whoever walks
the result.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_NODES = 100_000  # values in one frontmatter once aliases are expanded; real ones hold tens

STRICT = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when PyYAML has it: ~5x faster


class Loader(STRICT):  # type: ignore[misc, valid-type]
    """The safe loader, with dates that cannot be dates kept as their text."""


def _timestamp(loader: Loader, node: yaml.ScalarNode) -> Any:
    try:
        return yaml.constructor.SafeConstructor.construct_yaml_timestamp(loader, node)
    except (ValueError, AttributeError):
        return loader.construct_scalar(node)


Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)


class YAMLShapeError(yaml.YAMLError):
    """YAML that loads but cannot be used as a note's properties (recursive, or expanding too far)."""


def load(text: str) -> Any:
    """`yaml.load` with `Loader`; raises `yaml.YAMLError` for anything a note's frontmatter cannot be."""
    data = yaml.load(text, Loader=Loader)
    _check_shape(data)
    return data


def _check_shape(data: Any) -> None:
    count, stack, open_ids = 0, [(data, False)], set()
    while stack:
        value, leaving = stack.pop()
        if leaving:
            open_ids.discard(id(value))
            continue
        count += 1
        if count > MAX_NODES:
            raise YAMLShapeError(f"its aliases expand to more than {MAX_NODES:,} values")
        if isinstance(value, dict | list):
            if id(value) in open_ids:
                raise YAMLShapeError("an alias refers to itself (a recursive value)")
            open_ids.add(id(value))
            stack.append((value, True))
            items = value.values() if isinstance(value, dict) else value
            stack.extend((item, False) for item in items)
