"""Small helpers that turn user values and property paths into text for error messages.

Every function here must work on ANY object (including objects whose ``repr`` raises and deeply
nested structures), because validation promises to raise nothing but ``InvalidInputError``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_MAX_SHOWN = 60
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

PathPart = str | int
Path = tuple[PathPart, ...]

Props = Mapping[Any, object]
"""A raw props mapping (or a part of one): keys and values not checked yet."""

Problem = tuple[Path, str]
"""A property path (relative to the props mapping) and the reason it is wrong."""


def show(value: object) -> str:
    """Quote a user value for a message, shortened so a huge input cannot flood the output."""
    if isinstance(value, str):
        return _show_string(value)
    try:
        text = repr(value)
    except Exception:  # a hostile __repr__ must not break validation
        return f"a {type(value).__name__} value"
    if len(text) > _MAX_SHOWN:
        return text[:_MAX_SHOWN] + "..."
    return text


def _show_string(value: str) -> str:
    if len(value) <= _MAX_SHOWN:
        return repr(value)
    return f"{value[:_MAX_SHOWN]!r}... ({len(value)} characters)"


def kind_of(value: object) -> str:
    """Name the JSON-ish kind of a value the way a Pulumi user thinks of it."""
    if value is None:
        return "nothing (None)"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number with a fraction" if value == value and not value.is_integer() else "a number"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"


def got(value: object) -> str:
    """``got 'x' (a string)``: the tail of most type messages."""
    if value is None:
        return "got nothing (None)"
    return f"got {show(value)} ({kind_of(value)})"


def property_path(path: Path) -> str:
    """Render a path as Pulumi writes property paths: ``weights.v2``, ``weights["v1.2"]``, ``hosts[0]``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _IDENTIFIER.fullmatch(part):
            text += f".{part}" if text else part
        else:
            text += f'["{_escape(part)}"]'
    return text or "(inputs)"


def _escape(key: str) -> str:
    shortened = key if len(key) <= _MAX_SHOWN else key[:_MAX_SHOWN] + "..."
    return shortened.replace("\\", "\\\\").replace('"', '\\"')


def one_of(options: list[str]) -> str:
    """``'a', 'b' or 'c'``."""
    quoted = [repr(option) for option in options]
    if len(quoted) <= 1:
        return "".join(quoted)
    return ", ".join(quoted[:-1]) + " or " + quoted[-1]
