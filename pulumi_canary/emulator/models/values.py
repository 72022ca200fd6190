"""Value checks on decoded JSON parameters, shared by every resource family.

Each ``as_*`` returns the value with its type narrowed, or raises :class:`InvalidParameterError` naming
the parameter (``what``) the way the real API words it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_canary.emulator.exceptions import InvalidParameterError

__all__ = ["as_bool", "as_int", "as_list", "as_mapping", "as_str"]


def as_int(value: Any, what: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    # JSON booleans are ints in Python; the real API rejects them where a number is expected.
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidParameterError(f"{what} must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise InvalidParameterError(f"{what} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise InvalidParameterError(f"{what} must be <= {maximum}, got {value}")
    return value


def as_str(value: Any, what: str, *, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise InvalidParameterError(f"{what} must be a non-empty string, got {value!r}")
    return value


def as_bool(value: Any, what: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise InvalidParameterError(f"{what} must be a boolean, got {value!r}")


def as_mapping(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidParameterError(f"{what} must be a JSON object, got {value!r}")
    return value


def as_list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidParameterError(f"{what} must be a JSON array, got {value!r}")
    return value
