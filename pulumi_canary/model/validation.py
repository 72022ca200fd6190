"""Turn a Pulumi props dict into a spec, or into EVERY problem it has, each named by its property path.

``parse_policy`` / ``parse_split`` return a spec or raise ``InvalidInputError``; nothing else escapes,
whatever the input (None, wrong types, nested garbage, huge strings). ``check_policy`` / ``check_split``
return the failures instead, and accept an ``is_unknown`` predicate so that ``check()`` during
``pulumi preview`` can skip values that are not known yet (the adapter passes
``lambda v: isinstance(v, pulumi.output.Unknown)``; this package never imports pulumi).

Keys starting with ``__`` (``__provider``) belong to Pulumi and are ignored; any other unknown key is an
error naming the key.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from ..errors import Failure, InvalidInputError
from . import rules
from ._text import Path, Problem, got, kind_of, one_of, property_path, show
from .fields import SpecModel
from .gateways import GATEWAYS, gateway_model
from .specs import (
    CanaryDeploymentSpec,
    CanaryPolicySpec,
    RouteMatchSpec,
    ServiceRefSpec,
    SpecError,
    TrafficSplitSpec,
)

__all__ = ["IsUnknown", "check_policy", "check_split", "has_unknown", "parse_policy", "parse_split"]

IsUnknown = Callable[[object], bool]
"""Tells whether a props value is a preview-time unknown (the adapter supplies it)."""

SpecT = TypeVar("SpecT", CanaryPolicySpec, TrafficSplitSpec)

_BUG = "could not be validated: this is a bug in pulumi-canary, please report it"
_MAX_UNKNOWN_DEPTH = 32  # props are at most four levels deep; deeper values are garbage anyway


@dataclass(frozen=True)
class _Resource(Generic[SpecT]):
    model: type[SpecT]
    display: str
    rules: Callable[[rules.Props], list[Problem]]


_POLICY = _Resource(CanaryPolicySpec, "CanaryPolicy", rules.policy_problems)
_SPLIT = _Resource(TrafficSplitSpec, "TrafficSplit", rules.split_problems)


def _gateway_classes() -> str:
    """``canary.MseGateway, canary.GatewayApi or canary.Istio``: every registered argument class."""
    names = [f"canary.{gateway.display}" for gateway in GATEWAYS]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


_GATEWAY_CLASSES = _gateway_classes()
_NESTED: dict[str, type[SpecModel]] = {
    "service": ServiceRefSpec,
    "route": RouteMatchSpec,
    "canary_deployment": CanaryDeploymentSpec,
}
_DISPLAY: dict[type[SpecModel], str] = {
    **{gateway.spec: gateway.display for gateway in GATEWAYS},
    ServiceRefSpec: "ServiceRef",
    RouteMatchSpec: "RouteMatch",
    CanaryDeploymentSpec: "CanaryDeployment",
    CanaryPolicySpec: "CanaryPolicy",
    TrafficSplitSpec: "TrafficSplit",
}
_REQUIRED_HINTS = {
    "gateway": f"which gateway carries the route: {_GATEWAY_CLASSES}",
    "service": "the Kubernetes Service whose pods carry the versions, e.g. ServiceRef(name='demo', port=80)",
    "route": "which requests to split, e.g. canary.RouteMatch(path='/demo')",
    "label_key": "the pod label that carries the version, e.g. 'version'",
    "stable_version": "the label value of the pods serving today, e.g. 'v1'",
    "canary_version": "the label value of the new pods, e.g. 'v2'",
    "policy": "the CanaryPolicy whose traffic this split sets",
    "service.name": "the Service name, e.g. 'demo-service'",
    "service.port": "the Service port the route sends traffic to, e.g. 80",
    **{f"gateway.{name}": hint for gateway in GATEWAYS for name, hint in gateway.hints.items()},
    "canary_deployment.image": "the canary's container image, e.g. 'demo:2.0'",
}
_SHAPES = {
    "(inputs)": "a mapping of property names to values",
    "gateway": f"a gateway: {_GATEWAY_CLASSES} (a mapping with a 'kind')",
    "service": "a ServiceRef: a mapping with name, namespace and port",
    "route": "a RouteMatch: a mapping with path, path_type, name and canary_headers",
    "canary_deployment": "a CanaryDeployment: a mapping with image and replicas",
    "weights": "a mapping of version to percentage, e.g. {'v1': 90, 'v2': 10}",
    "route.canary_headers": "a mapping of header name to value, e.g. {'x-canary': 'always'}",
    "steps": "a list of Step(weight, pause_seconds), e.g. [{'weight': 10, 'pause_seconds': 60}]",
}
_SIMPLE_TYPES = {
    "string_type": "must be a string",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "int_parsing": "must be a whole number",
    "bool_type": "must be true or false",
    "tuple_type": "must be a list of strings",
    "list_type": "must be a list of strings",
}


class _Unknown:
    """Stands in for a preview-time unknown so that no check mistakes it for a real value."""

    def __repr__(self) -> str:
        return "<unknown>"


_UNKNOWN = _Unknown()


def parse_policy(props: Mapping[str, Any]) -> CanaryPolicySpec:
    """Parse a CanaryPolicy's props; raise ``InvalidInputError`` listing every problem."""
    return _parse(_POLICY, props)


def parse_split(props: Mapping[str, Any]) -> TrafficSplitSpec:
    """Parse a TrafficSplit's props; raise ``InvalidInputError`` listing every problem."""
    return _parse(_SPLIT, props)


def check_policy(props: Mapping[str, Any], *, is_unknown: IsUnknown | None = None) -> tuple[Failure, ...]:
    """Every problem of a CanaryPolicy's props; problems that involve an unknown value are left out."""
    return _check(_POLICY, props, is_unknown)[1]


def check_split(props: Mapping[str, Any], *, is_unknown: IsUnknown | None = None) -> tuple[Failure, ...]:
    """Every problem of a TrafficSplit's props; problems that involve an unknown value are left out."""
    return _check(_SPLIT, props, is_unknown)[1]


def has_unknown(props: Mapping[str, Any], is_unknown: IsUnknown) -> bool:
    """Whether any value in ``props``, at any depth, is a preview-time unknown."""
    found: list[Path] = []
    for key, item in props.items():
        _mask(item, (_path_part(key),), is_unknown, found)
    return bool(found)


def _parse(resource: _Resource[SpecT], props: object) -> SpecT:
    spec, failures = _check(resource, props, None)
    if spec is None:
        raise InvalidInputError(failures)
    return spec


def _check(
    resource: _Resource[SpecT], props: object, is_unknown: IsUnknown | None
) -> tuple[SpecT | None, tuple[Failure, ...]]:
    try:
        spec, problems = _validate(resource, props, is_unknown)
    except Exception as exc:  # the promise is "only InvalidInputError", even if we have a bug
        return None, (Failure("(inputs)", f"{_BUG} ({type(exc).__name__})"),)
    failures = tuple(Failure(property_path(path), reason) for path, reason in dict.fromkeys(problems))
    if spec is None and not failures and is_unknown is None:
        failures = (Failure("(inputs)", _BUG),)
    return spec, failures


def _validate(
    resource: _Resource[SpecT], props: object, is_unknown: IsUnknown | None
) -> tuple[SpecT | None, list[Problem]]:
    if not isinstance(props, Mapping):
        return None, [((), f"the inputs must be {_SHAPES['(inputs)']}, {got(props)}")]
    data = {key: value for key, value in props.items() if not _is_internal(key)}
    unknown_paths: list[Path] = []
    if is_unknown is not None:
        data = {key: _mask(item, (_path_part(key),), is_unknown, unknown_paths) for key, item in data.items()}
    try:
        return resource.model.model_validate(data), []
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
    problems = [problem for error in errors for problem in _translate(resource, error)]
    problems.extend(resource.rules(data))
    # A model validator's own problems come last: they repeat the rules above (dropped as duplicates)
    # unless a validator has no matching rule, which must still be reported, not lost.
    problems.extend(problem for error in errors for problem in _model_rule_problems(error))
    return None, [problem for problem in problems if not _involves_unknown(problem[0], unknown_paths)]


def _is_internal(key: object) -> bool:
    return isinstance(key, str) and key.startswith("__")


def _path_part(key: object) -> str | int:
    if isinstance(key, str) or (isinstance(key, int) and not isinstance(key, bool)):
        return key
    return show(key)


def _mask(value: object, path: Path, is_unknown: IsUnknown, found: list[Path]) -> object:
    """Replace unknowns by a sentinel, recording where they were."""
    if _safely(is_unknown, value):
        found.append(path)
        return _UNKNOWN
    if len(path) >= _MAX_UNKNOWN_DEPTH:
        return value
    if isinstance(value, dict):
        return {key: _mask(item, (*path, _path_part(key)), is_unknown, found) for key, item in value.items()}
    if isinstance(value, list):
        return [_mask(item, (*path, index), is_unknown, found) for index, item in enumerate(value)]
    return value


def _safely(is_unknown: IsUnknown, value: object) -> bool:
    try:
        return bool(is_unknown(value))
    except Exception:
        return False


def _involves_unknown(path: Path, unknown_paths: list[Path]) -> bool:
    """A problem at or above or below an unknown value may vanish once the value is known."""
    return any(path[: len(unknown)] == unknown or unknown[: len(path)] == path for unknown in unknown_paths)


# ---- pydantic errors -> problems ----------------------------------------------------------------------


def _translate(resource: _Resource[SpecT], error: ErrorDetails) -> list[Problem]:
    loc = tuple(_path_part(part) for part in error["loc"])
    path = _user_path(loc)
    kind, value, ctx = error["type"], error.get("input"), error.get("ctx") or {}
    is_key = bool(path) and path[-1] == "[key]"
    path = path[:-1] if is_key else path
    if kind == "value_error":
        return _value_error(path, ctx.get("error"), error["msg"])
    if is_key:
        return [_key_problem(path, kind, error["msg"])]
    return [_type_problem(resource, loc, path, kind, value, ctx, error["msg"])]


def _user_path(loc: Path) -> Path:
    """Drop the tag pydantic puts after ``gateway``: ``gateway.mse.region`` -> ``gateway.region``."""
    if len(loc) >= 2 and loc[0] == "gateway" and gateway_model(loc[1]) is not None:
        return (loc[0], *loc[2:])
    return loc


def _value_error(path: Path, cause: object, message: str) -> list[Problem]:
    if isinstance(cause, SpecError):
        return []  # reported by _model_rule_problems, after the rules that run on the raw props
    return [(path, str(cause) if cause is not None else message)]


def _model_rule_problems(error: ErrorDetails) -> list[Problem]:
    """The problems a model validator raised (``SpecError``), at their paths from the top."""
    cause = (error.get("ctx") or {}).get("error")
    if error["type"] != "value_error" or not isinstance(cause, SpecError):
        return []
    path = _user_path(tuple(_path_part(part) for part in error["loc"]))
    return [((*path, *relative), reason) for relative, reason in cause.problems]


def _key_problem(path: Path, kind: str, message: str) -> Problem:
    key = path[-1] if path else ""
    if not isinstance(key, str) or kind == "string_type":
        return (path[:-1], f"keys must be strings, got {show(key)} ({kind_of(key)})")
    return (path, f"is not a valid key: {message}")


def _type_problem(
    resource: _Resource[SpecT],
    loc: Path,
    path: Path,
    kind: str,
    value: object,
    ctx: dict[str, Any],
    message: str,
) -> Problem:
    where = property_path(path)
    if kind == "missing":
        hint = _REQUIRED_HINTS.get(where)
        return (path, f"is required: {hint}" if hint else "is required")
    if kind == "extra_forbidden":
        return (path, _unknown_property(resource, loc))
    if kind == "invalid_key":
        return (path[:-1], f"property names must be strings, got {show(value)} ({kind_of(value)})")
    if kind in ("union_tag_not_found", "union_tag_invalid"):
        tag = value.get("kind") if isinstance(value, Mapping) else None
        expected = one_of([gateway.kind for gateway in GATEWAYS])
        if tag is None:
            hint = f"use {_GATEWAY_CLASSES}"
            return ((*path, "kind"), f"is required: one of {expected} ({hint})")
        return ((*path, "kind"), f"must be one of {expected}, {got(tag)}")
    if kind in ("tuple_type", "list_type") and where in _SHAPES:
        return (path, f"must be {_SHAPES[where]}, {got(value)}")
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return (path, f"must be {_SHAPES.get(where, 'a mapping')}, {got(value)}")
    if kind in _SIMPLE_TYPES:
        return (path, f"{_SIMPLE_TYPES[kind]}, {got(value)}")
    if kind == "literal_error":
        return (path, f"must be {ctx.get('expected', 'one of the allowed values')}, {got(value)}")
    return (path, f"is not valid ({message}), {got(value)}")


def _unknown_property(resource: _Resource[SpecT], loc: Path) -> str:
    name, parent = loc[-1], loc[:-1]
    model = _model_at(resource, parent)
    if model is None:
        return f"{show(name)} is not a known property"
    fields = list(model.model_fields)
    where = _DISPLAY.get(model, model.__name__)
    close = difflib.get_close_matches(str(name), fields, n=1) if isinstance(name, str) else []
    if close:
        return f"{show(name)} is not a property of {where}; did you mean {close[0]!r}?"
    return f"{show(name)} is not a property of {where}; its properties are {one_of(fields)}"


def _model_at(resource: _Resource[SpecT], parent: Path) -> type[SpecModel] | None:
    """The model that owns the properties at ``parent`` (a pydantic loc, discriminator included)."""
    if parent == ():
        return resource.model
    if len(parent) == 1 and isinstance(parent[0], str):
        return _NESTED.get(parent[0])
    if len(parent) == 2 and parent[0] == "gateway":
        model = gateway_model(parent[1])
        return None if model is None else model.spec
    return None
