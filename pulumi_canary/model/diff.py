"""Decide what a change of inputs means: nothing, an in-place update, or a replacement.

Only identity properties replace: where the route lives (gateway identity, Service, label key, the
adopted route's name, and for a split its policy). Everything else, versions and weights included, is
an in-place update, because a canary release IS a sequence of such updates. Replacement is always
delete-before-replace: two copies would fight over the same route's weights.

``old_props`` are what the engine passes as olds: the previous OUTPUTS, so they may hold output-only
keys; only input properties are compared. Keys starting with ``__`` are never compared. Missing values
compare equal to their defaults and ``80.0`` equals ``80``, so normalising the same inputs twice never
shows a change. A value that is unknown during preview compares unequal to everything, so an unknown
identity property previews as a replacement (the engine diffs again once it is known).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .fields import SpecModel
from .gateways import gateway_model
from .numbers import whole_number
from .specs import CanaryDeploymentSpec, CanaryPolicySpec, RouteMatchSpec, ServiceRefSpec, TrafficSplitSpec

__all__ = ["DiffDecision", "diff_policy", "diff_split"]

_MAX_DEPTH = 32

_NESTED: dict[str, type[SpecModel]] = {
    "service": ServiceRefSpec,
    "route": RouteMatchSpec,
    "canary_deployment": CanaryDeploymentSpec,
}


@dataclass(frozen=True)
class DiffDecision:
    """The answer for the engine's ``diff``: ``changes``, ``replaces`` (top-level input names) and
    ``delete_before_replace``; ``changed`` lists every top-level input that differs (for logs/details)."""

    changes: bool
    replaces: tuple[str, ...] = ()
    delete_before_replace: bool = False
    changed: tuple[str, ...] = ()


def _whole(value: object) -> object:
    return value


def _gateway_identity(value: object) -> object:
    if not isinstance(value, Mapping):
        return value
    # Where the route lives, as the gateway's module says (``GatewayModel.identity``).
    model = gateway_model(value.get("kind"))
    return value if model is None else {key: value.get(key) for key in model.identity}


def _route_identity(value: object) -> object:
    # Adopting a different route by name is a different route; path and headers are updated in place.
    return value.get("name") if isinstance(value, Mapping) else value


_Identity = dict[str, Callable[[object], object]]
_POLICY_IDENTITY: _Identity = {
    "gateway": _gateway_identity,
    "service": _whole,
    "label_key": _whole,
    "route": _route_identity,
}
_SPLIT_IDENTITY: _Identity = {**_POLICY_IDENTITY, "policy": _whole}


def diff_policy(old_props: Mapping[str, Any], new_props: Mapping[str, Any]) -> DiffDecision:
    """Diff two CanaryPolicy input sets: gateway/service/label_key/route.name replace; the rest updates."""
    return _diff(CanaryPolicySpec, _POLICY_IDENTITY, old_props, new_props)


def diff_split(old_props: Mapping[str, Any], new_props: Mapping[str, Any]) -> DiffDecision:
    """Diff two TrafficSplit input sets: policy/gateway/service/label_key/route.name replace; weights,
    versions and the rest update."""
    return _diff(TrafficSplitSpec, _SPLIT_IDENTITY, old_props, new_props)


def _diff(
    model: type[SpecModel], identity: _Identity, old_props: Mapping[str, Any], new_props: Mapping[str, Any]
) -> DiffDecision:
    old, new = _canonical_props(model, old_props), _canonical_props(model, new_props)
    changed = tuple(name for name in model.model_fields if not _same(old.get(name), new.get(name)))
    replaces = tuple(
        name
        for name in changed
        if name in identity and not _same(identity[name](old.get(name)), identity[name](new.get(name)))
    )
    return DiffDecision(
        changes=bool(changed), replaces=replaces, delete_before_replace=bool(replaces), changed=changed
    )


def _canonical_props(model: type[SpecModel], props: Mapping[str, Any]) -> dict[str, object]:
    inputs = {
        key: value
        for key, value in props.items()
        if isinstance(key, str) and key in model.model_fields and not key.startswith("__")
    }
    canonical = _canonical(inputs, model, 0)
    return canonical if isinstance(canonical, dict) else {}


def _canonical(value: object, model: type[SpecModel] | None, depth: int) -> object:
    """Drop Nones, fill defaults, make whole floats ints and tuples lists, so equal inputs compare equal."""
    value = whole_number(value)
    if depth >= _MAX_DEPTH:
        return value
    if isinstance(value, list | tuple):
        return [_canonical(item, None, depth + 1) for item in value]
    if not isinstance(value, Mapping):
        return value
    result = {
        key: _canonical(item, _nested(model, key, item), depth + 1)
        for key, item in value.items()
        if item is not None
    }
    for name, field in (model.model_fields if model is not None else {}).items():
        default = None if field.is_required() else field.get_default(call_default_factory=True)
        if name not in result and default is not None:
            result[name] = _canonical(default, None, depth + 1)
    return result


def _nested(model: type[SpecModel] | None, key: object, value: object) -> type[SpecModel] | None:
    if model not in (CanaryPolicySpec, TrafficSplitSpec) or not isinstance(key, str):
        return None
    if key == "gateway" and isinstance(value, Mapping):
        gateway = gateway_model(value.get("kind"))
        return None if gateway is None else gateway.spec
    return _NESTED.get(key)


def _same(left: object, right: object) -> bool:
    try:
        return bool(left == right)
    except Exception:  # an exotic value (an unknown placeholder) that cannot compare is a change
        return False
