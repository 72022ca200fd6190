"""Rules that relate several top-level properties to each other.

They work on the RAW props mapping, not on a parsed spec, so that ``check()`` can report them even
when an unrelated property failed to parse (every problem at once, not one per ``pulumi preview``).
Each rule looks only at values that are individually valid and skips the rest: a broken value is
already reported by its own field check. The spec models run the same rules on their own data, so a
spec built directly in Python obeys them too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import syntax
from ._text import Problem, Props, show
from .analysis import analysis_problems
from .gateways import gateway_model
from .numbers import whole_number

__all__ = [
    "MAX_CANARY_HEADERS",
    "Problem",
    "Props",
    "policy_problems",
    "route_problems",
    "split_problems",
    "valid_percent",
]

MAX_CANARY_HEADERS = 16
"""The HTTPRoute limit on header matches, the strictest of the three gateways."""


def policy_problems(data: Props) -> list[Problem]:
    """Cross-property problems of a CanaryPolicy's props."""
    return [*_version_pair_problems(data), *_nested_route_problems(data), *_gateway_route_problems(data)]


def split_problems(data: Props) -> list[Problem]:
    """Cross-property problems of a TrafficSplit's props."""
    return [
        *policy_problems(data),
        *_weight_problems(data),
        *_step_problems(data.get("steps")),
        *analysis_problems(data.get("analysis")),
    ]


def route_problems(route: Props) -> list[Problem]:
    """Problems of a route match that every gateway rejects (paths relative to the route)."""
    path, name = route.get("path"), route.get("name")
    path_type = route.get("path_type") or "prefix"
    problems: list[Problem] = []
    if path is None and name is None:
        problems.append(((), "give route.path to create or find a route, route.name to adopt one, or both"))
    if isinstance(path, str) and path_type in ("prefix", "exact", "regex"):
        reason = syntax.path_problem(path, path_type)
        if reason is not None:
            problems.append((("path",), reason))
    headers = route.get("canary_headers")
    if isinstance(headers, Mapping):
        problems.extend(_header_problems(headers))
    return problems


def _header_problems(headers: Props) -> list[Problem]:
    problems: list[Problem] = []
    if len(headers) > MAX_CANARY_HEADERS:
        reason = f"at most {MAX_CANARY_HEADERS} headers are allowed, got {len(headers)}"
        problems.append((("canary_headers",), reason))
    seen: dict[str, str] = {}
    for header in headers:
        if not isinstance(header, str):
            continue
        earlier = seen.setdefault(header.lower(), header)
        if earlier != header:
            reason = f"header names ignore case: {show(header)} repeats {show(earlier)}"
            problems.append((("canary_headers", header), reason))
    return problems


def _nested_route_problems(data: Props) -> list[Problem]:
    route = data.get("route")
    if not isinstance(route, Mapping):
        return []
    return [(("route", *path), reason) for path, reason in route_problems(route)]


def valid_percent(value: object) -> int | None:
    """The value as a percentage 0..100, or None. Integral floats count: Pulumi sends numbers as doubles."""
    if isinstance(value, bool):
        return None
    value = whole_number(value)
    if isinstance(value, int) and 0 <= value <= 100:
        return value
    return None


def _valid_version(value: object) -> str | None:
    if isinstance(value, str) and syntax.version_problem(value) is None:
        return value
    return None


def _version_pair_problems(data: Props) -> list[Problem]:
    stable = _valid_version(data.get("stable_version"))
    canary = _valid_version(data.get("canary_version"))
    if stable is not None and stable == canary:
        return [(("canary_version",), f"stable_version and canary_version must differ (both are {stable!r})")]
    return []


def _gateway_route_problems(data: Props) -> list[Problem]:
    """What a route asks for that the chosen gateway cannot express (each gateway's module says)."""
    gateway, route = data.get("gateway"), data.get("route")
    if not isinstance(gateway, Mapping) or not isinstance(route, Mapping):
        return []
    model = gateway_model(gateway.get("kind"))
    if model is None:
        return []
    return [(("route", *path), reason) for path, reason in model.route_problems(route)]


def _weight_problems(data: Props) -> list[Problem]:
    weights, canary_weight = data.get("weights"), data.get("canary_weight")
    if weights is None and canary_weight is None:
        return [
            (
                ("weights",),
                "give exactly one of weights (e.g. {'v1': 90, 'v2': 10}) or canary_weight (e.g. 10); "
                "neither was given",
            )
        ]
    if weights is not None and canary_weight is not None:
        return [(("canary_weight",), "give exactly one of weights or canary_weight, not both")]
    if not isinstance(weights, Mapping):
        return []
    return [*_weight_key_problems(data, weights), *_weight_sum_problems(data, weights)]


def _weight_key_problems(data: Props, weights: Props) -> list[Problem]:
    stable = _valid_version(data.get("stable_version"))
    canary = _valid_version(data.get("canary_version"))
    if stable is None or canary is None:
        return []
    problems: list[Problem] = [
        (
            ("weights", key),
            f"{show(key)} is not a version of this policy: weights must name exactly "
            f"stable_version {stable!r} and canary_version {canary!r}",
        )
        for key, _ in _stable_first(data, weights)
        if isinstance(key, str) and key not in (stable, canary)
    ]
    missing = [version for version in (stable, canary) if version not in weights]
    if missing:
        problems.append(
            (
                ("weights",),
                f"missing {' and '.join(repr(v) for v in missing)}: weights must name both versions, "
                f"{stable!r} and {canary!r}; give 0 to send a version no traffic",
            )
        )
    return problems


def _weight_sum_problems(data: Props, weights: Props) -> list[Problem]:
    percents = {key: valid_percent(value) for key, value in _stable_first(data, weights)}
    if any(percent is None for percent in percents.values()):
        return []  # the bad values are reported on their own; a sum of them means nothing
    total = sum(percent or 0 for percent in percents.values())
    if total == 100:
        return []
    listed = ", ".join(f"{key}={percent}" for key, percent in percents.items())
    detail = f" ({listed})" if listed else ""
    return [(("weights",), f"weights must sum to exactly 100, got {total}{detail}")]


def _stable_first(data: Props, weights: Props) -> list[tuple[Any, Any]]:
    """The weights with stable first, then canary, then any other key: the engine hands maps over in
    no fixed order, and a message should read the same on every run."""
    order = [_valid_version(data.get("stable_version")), _valid_version(data.get("canary_version"))]

    def rank(item: tuple[Any, Any]) -> tuple[int, str]:
        key = item[0] if isinstance(item[0], str) else None  # other keys may not even compare safely
        return (order.index(key) if key is not None and key in order else len(order), key or "")

    return sorted(weights.items(), key=rank)


def _step_problems(steps: object) -> list[Problem]:
    """Rollout steps rise strictly, each between 1 and 99 percent: a repeated or falling step would walk
    the canary back and forth, and 0 and 100 are where a rollout starts and ends."""
    if not isinstance(steps, list | tuple):
        return []
    problems: list[Problem] = []
    previous: int | None = None
    for index, step in enumerate(steps):
        weight = valid_percent(step.get("weight")) if isinstance(step, Mapping) else None
        if weight is None:
            continue  # a missing or bad weight is reported on its own
        where = ("steps", index, "weight")
        if weight in (0, 100):
            problems.append((where, f"a step gives the canary 1 to 99 percent, got {weight}"))
        if previous is not None and weight <= previous:
            problems.append((where, f"steps must rise strictly: {weight} comes after {previous}"))
        previous = weight
    return problems
