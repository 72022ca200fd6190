"""The building blocks of every spec model: the base class and the field types with our own wording.

Every model forbids unknown keys, treats ``None`` as "not given" (so defaults apply, as Pulumi leaves
unset optional inputs empty) and accepts integral floats such as ``80.0`` for integer fields, because
Pulumi's wire protocol carries every number as a double.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, model_validator

from . import syntax
from ._text import got, show
from .numbers import whole_number

__all__ = [
    "MAX_READINESS_TIMEOUT_SECONDS",
    "WHOLE_NUMBER",
    "HeaderName",
    "HeaderValue",
    "LabelKey",
    "Namespace",
    "Percent",
    "Port",
    "Replicas",
    "ServiceName",
    "SpecModel",
    "TimeoutSeconds",
    "Version",
    "at_most",
    "between",
    "checked",
    "list_to_tuple",
    "non_empty_list",
    "subdomain_problem",
    "word_problem",
]

MAX_READINESS_TIMEOUT_SECONDS = 86_400


class SpecModel(BaseModel):
    """The base of every spec: frozen, strict, no unknown keys, ``None`` meaning "not given"."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _absent_when_none(cls, data: Any) -> Any:
        # Pulumi leaves unset optional inputs as None; treat them as absent so that defaults apply and a
        # required property reads "is required" rather than "got None".
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if value is not None}
        return data

    def to_props(self) -> dict[str, Any]:
        """The props dict this spec parses from (defaults filled in, lists not tuples): store it as inputs."""
        return self.model_dump(mode="json")


def checked(problem: Callable[[str], str | None]) -> AfterValidator:
    """Turn a ``syntax``-style check into a pydantic validator that keeps our wording."""

    def validate(value: str) -> str:
        reason = problem(value)
        if reason is not None:
            raise ValueError(reason)
        return value

    return AfterValidator(validate)


def _whole_number(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError(f"must be a whole number, {got(value)}")
    return whole_number(value)  # Pulumi sends 80 as 80.0


def _between(low: int, high: int) -> AfterValidator:
    def validate(value: int) -> int:
        if not low <= value <= high:
            raise ValueError(f"must be a whole number from {low} to {high}, got {value}")
        return value

    return AfterValidator(validate)


def list_to_tuple(value: object) -> object:
    return tuple(value) if isinstance(value, list) else value


def at_most(count: int, what: str) -> AfterValidator:
    def validate(value: tuple[str, ...]) -> tuple[str, ...]:
        if len(value) > count:
            raise ValueError(f"at most {count} {what} are allowed, got {len(value)}")
        return value

    return AfterValidator(validate)


def non_empty_list(what: str) -> AfterValidator:
    def validate(value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError(f"must list at least one {what}")
        return value

    return AfterValidator(validate)


_ONE_WORD = re.compile(r"[^\s\x00-\x1f\x7f]+")


def word_problem(what: str, limit: int, example: str) -> Callable[[str], str | None]:
    """Opaque identifiers (ids, images, route names): non-empty, bounded, no spaces or control characters."""

    def problem(value: str) -> str | None:
        if value == "":
            return f"must not be empty: give the {what}, e.g. {example!r}"
        if len(value) > limit or not _ONE_WORD.fullmatch(value):
            rule = f"1 to {limit} characters without spaces or control characters"
            return f"{show(value)} is not a valid {what}: {rule}"
        return None

    return problem


def subdomain_problem(what: str) -> Callable[[str], str | None]:
    def problem(value: str) -> str | None:
        return syntax.dns1123_subdomain_problem(value, what)

    return problem


def _service_name_problem(value: str) -> str | None:
    # The apiserver validates Service names as DNS-1035 labels (stricter than DNS-1123: a leading letter).
    return syntax.dns1035_label_problem(value, "Service name")


def _namespace_problem(value: str) -> str | None:
    return syntax.dns1123_label_problem(value, "namespace")


WHOLE_NUMBER = BeforeValidator(_whole_number)
"""Accepts ``80`` and ``80.0`` (Pulumi's wire carries numbers as doubles), nothing else."""


def between(low: int, high: int) -> AfterValidator:
    """An integer from ``low`` to ``high``, in our wording."""
    return _between(low, high)


Percent = Annotated[int, BeforeValidator(_whole_number), _between(0, 100)]
Port = Annotated[int, BeforeValidator(_whole_number), _between(1, 65535)]
Replicas = Annotated[int, BeforeValidator(_whole_number), _between(0, 2**31 - 1)]
TimeoutSeconds = Annotated[int, BeforeValidator(_whole_number), _between(0, MAX_READINESS_TIMEOUT_SECONDS)]
LabelKey = Annotated[str, checked(syntax.label_key_problem)]
Version = Annotated[str, checked(syntax.version_problem)]
ServiceName = Annotated[str, checked(_service_name_problem)]
Namespace = Annotated[str, checked(_namespace_problem)]
HeaderName = Annotated[str, checked(syntax.header_name_problem)]
HeaderValue = Annotated[str, checked(syntax.header_value_problem)]
