"""Property-based: no input makes validation raise anything but InvalidInputError.

Four tests x 600 examples = 2,400 generated inputs per run: arbitrary JSON-like values, and valid props
with random mutations (wrong types, deletions, unknown keys, extreme numbers, huge and unicode strings),
each thrown at parse_policy and parse_split, plus preview-time checks with unknown values sprinkled in.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pulumi_canary.errors import InvalidInputError
from pulumi_canary.model import (
    CanaryPolicySpec,
    TrafficSplitSpec,
    check_policy,
    check_split,
    parse_policy,
    parse_split,
)

from .factories import GATEWAY_API, ISTIO, MSE_GATEWAY, policy_props, split_props

EXAMPLES = 600
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

FIELD_NAMES = [
    "gateway",
    "service",
    "route",
    "label_key",
    "stable_version",
    "canary_version",
    "canary_deployment",
    "readiness_timeout_seconds",
    "allow_unready",
    "policy",
    "route_id",
    "weights",
    "canary_weight",
    "kind",
    "gateway_id",
    "region",
    "endpoint",
    "name",
    "namespace",
    "port",
    "path",
    "path_type",
    "canary_headers",
    "image",
    "replicas",
    "hosts",
    "gateways",
    "hostnames",
    "section_name",
    "v1",
    "v2",
    "__provider",
]

weird_numbers = st.sampled_from(
    [0, -1, 100, 101, 2**31, 2**63, -(2**63), 10.0, 10.5, 1e300, float("nan"), float("inf"), True, False]
)
weird_strings = st.sampled_from(
    [
        "",
        " ",
        "v1",
        "v2",
        "V1!",
        "a" * 64,
        "x" * 100_000,
        "/demo",
        "(?=x)",
        "(" * 600,
        "é",
        "\x00",
        "🐤",
        "\n",
    ]
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=30)
    | weird_numbers
    | weird_strings
)
keys = st.sampled_from(FIELD_NAMES) | st.text(max_size=12)
json_like = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=5),
    max_leaves=25,
)


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    """Valid props with one to four random edits somewhere in the tree."""
    props = copy.deepcopy(base)
    props["gateway"] = copy.deepcopy(draw(st.sampled_from([MSE_GATEWAY, GATEWAY_API, ISTIO])))
    for _ in range(draw(st.integers(1, 4))):
        container = props
        while True:  # walk down into a random nested mapping
            nested = [key for key, value in container.items() if isinstance(value, dict)]
            if not nested or draw(st.booleans()):
                break
            container = container[draw(st.sampled_from(sorted(nested)))]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        existing = sorted(container, key=str)
        if action == "replace" and existing:
            container[draw(st.sampled_from(existing))] = draw(json_like)
        elif action == "delete" and existing:
            del container[draw(st.sampled_from(existing))]
        else:
            container[draw(keys)] = draw(json_like)
    return props


def assert_only_invalid_input(parse: Any, props: object) -> None:
    try:
        spec = parse(props)
    except InvalidInputError as error:
        assert error.failures, "an InvalidInputError must carry at least one failure"
        for failure in error.failures:
            assert isinstance(failure.property, str) and failure.property
            assert isinstance(failure.reason, str) and failure.reason
        return
    assert isinstance(spec, CanaryPolicySpec | TrafficSplitSpec)
    assert parse(spec.to_props()) == spec, "a parsed spec must parse back from its own props"


@FUZZ
@given(json_like | st.dictionaries(keys, json_like, max_size=12))
def test_arbitrary_values_never_crash_validation(props: object) -> None:
    assert_only_invalid_input(parse_policy, props)
    assert_only_invalid_input(parse_split, props)


@FUZZ
@given(mutated(policy_props()))
def test_mutated_policies_never_crash_validation(props: dict[str, Any]) -> None:
    assert_only_invalid_input(parse_policy, props)


@FUZZ
@given(mutated(split_props()) | mutated(split_props(weights=None, canary_weight=10)))
def test_mutated_splits_never_crash_validation(props: dict[str, Any]) -> None:
    assert_only_invalid_input(parse_split, props)


class Unknown:
    """Stands in for pulumi.output.Unknown."""


def sprinkle_unknowns(value: Any, draw: Any) -> Any:
    if draw(st.integers(0, 5)) == 0:
        return Unknown()
    if isinstance(value, dict):
        return {key: sprinkle_unknowns(item, draw) for key, item in value.items()}
    if isinstance(value, list):
        return [sprinkle_unknowns(item, draw) for item in value]
    return value


@FUZZ
@given(st.data(), mutated(split_props()) | mutated(policy_props()))
def test_preview_checks_with_unknowns_never_crash(data: st.DataObject, props: dict[str, Any]) -> None:
    with_unknowns = sprinkle_unknowns(props, data.draw)
    for check in (check_policy, check_split):
        failures = check(with_unknowns, is_unknown=lambda value: isinstance(value, Unknown))
        assert all(failure.property and failure.reason for failure in failures)
