"""Numbers as Pulumi's wire protocol carries them: every number is a double (``80`` arrives as ``80.0``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["whole_number", "whole_numbers"]


def whole_number(value: object) -> object:
    """``value`` as an ``int`` when it is an integral float; anything else unchanged (bools included)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def whole_numbers(value: Any) -> Any:
    """``value`` with every integral float inside it made an ``int``: a snapshot kept in Pulumi outputs
    comes back with ``port: 80.0``, which the gateways' integer fields refuse."""
    if isinstance(value, Mapping):
        return {key: whole_numbers(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [whole_numbers(item) for item in value]
    return whole_number(value)
