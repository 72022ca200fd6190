"""Property-based: the providers' ``check()`` never raises, and every failure names a property and a reason.

The model's own fuzz (test_model_fuzz.py) throws inputs at ``check_*`` / ``parse_*``; this one goes
through the adapter, as the engine calls it: ``CanaryPolicyProvider().check({}, props)`` and
``TrafficSplitProvider().check({}, props)`` with arbitrary values, mutated valid props (with and without
the owner input), preview-time unknowns (``pulumi.output.Unknown`` and the wire sentinel) and valid props
for every gateway kind. No network is allowed (a connect raises and is recorded) and no credentials are
available, so valid inputs reach the live checks, which must say nothing; invalid or unknown inputs must
not even open a session. ``INPUTS`` counts what was tried; the unreachable-API case is tested apart.
"""

from __future__ import annotations

import copy
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pulumi.dynamic import CheckResult
from pulumi.output import Unknown
from pulumi.runtime import rpc

from pulumi_canary.adapter import stack_config
from pulumi_canary.adapter.providers import CanaryPolicyProvider, TrafficSplitProvider
from pulumi_canary.model import CanaryPolicySpec, TrafficSplitSpec, check_policy, check_split
from pulumi_canary.state_keys import OWNER_KEY
from pulumi_canary.usecases import checks

from .factories import GATEWAY_API, ISTIO, MSE_GATEWAY, policy_props, split_props
from .test_model_fuzz import json_like, keys, mutated

EXAMPLES = 750
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
OWNER = "canarytest/test/demo"
CREDENTIAL_VARIABLES = (
    "KUBECONFIG", "ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
    "ALIBABA_CLOUD_SECURITY_TOKEN", "ALICLOUD_ACCESS_KEY", "ALICLOUD_SECRET_KEY", "ALICLOUD_SECURITY_TOKEN",
)

INPUTS = {"tried": 0, "sessions": 0}
CONNECTS: list[Any] = []


@pytest.fixture(scope="module", autouse=True)
def offline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No credentials anywhere, no default kubeconfig, and no network: any connect is recorded."""

    def refuse(_sock: socket.socket, address: Any) -> None:
        CONNECTS.append(address)
        raise OSError(f"network is disabled in this test (connect to {address})")

    real_live_checks = checks.live_failures

    def counting_live_checks(*args: Any, **kwargs: Any) -> Any:
        INPUTS["sessions"] += 1
        return real_live_checks(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        for name in CREDENTIAL_VARIABLES:
            patch.delenv(name, raising=False)
        patch.setenv("HOME", str(tmp_path_factory.mktemp("home")))
        patch.setattr(socket.socket, "connect", refuse)
        patch.setattr(socket.socket, "connect_ex", refuse)
        patch.setattr(checks, "live_failures", counting_live_checks)
        stack_config.remember({})
        yield
    print(f"\nprovider check() inputs tried: {INPUTS['tried']}, live-check sessions: {INPUTS['sessions']}")


def is_unknown(value: object) -> bool:
    return isinstance(value, Unknown) or value == rpc.UNKNOWN


def assert_checks_cleanly(provider: Any, props: Any, check: Any, fields: Any) -> None:
    INPUTS["tried"] += 1
    sessions = INPUTS["sessions"]
    result = provider.check({}, props)
    assert isinstance(result, CheckResult)
    for failure in result.failures or []:
        # A top-level property is named for the engine to print its value; a nested path, in the reason.
        assert failure.property.isidentifier() or failure.reason.startswith("property "), failure
        assert isinstance(failure.reason, str) and failure.reason, failure
    assert not CONNECTS, f"check() tried to reach the network: {CONNECTS}"
    if INPUTS["sessions"] > sessions:
        declared = {k: v for k, v in props.items() if k in fields and v is not None}
        assert not check(declared, is_unknown=is_unknown), "a session was opened for invalid inputs"


def check_both(props: Any) -> None:
    assert_checks_cleanly(CanaryPolicyProvider(), props, check_policy, CanaryPolicySpec.model_fields)
    assert_checks_cleanly(TrafficSplitProvider(), props, check_split, TrafficSplitSpec.model_fields)


def sprinkle_unknowns(value: Any, draw: Any) -> Any:
    choice = draw(st.integers(0, 7))
    if choice == 0:
        return Unknown()
    if choice == 1:
        return rpc.UNKNOWN
    if isinstance(value, dict):
        return {key: sprinkle_unknowns(item, draw) for key, item in value.items()}
    if isinstance(value, list):
        return [sprinkle_unknowns(item, draw) for item in value]
    return value


def with_owner(props: dict[str, Any], owner: Any) -> dict[str, Any]:
    return {**props, OWNER_KEY: owner} if owner is not None else props


owners = st.none() | st.just(OWNER) | st.just(OWNER) | json_like


@FUZZ
@given(st.dictionaries(keys | st.just(OWNER_KEY), json_like, max_size=12))
def test_arbitrary_props_never_crash_check(props: dict[str, Any]) -> None:
    check_both(props)


@FUZZ
@given(mutated(policy_props()) | mutated(split_props()), owners)
def test_mutated_props_never_crash_check(props: dict[str, Any], owner: Any) -> None:
    check_both(with_owner(props, owner))


@FUZZ
@given(st.data(), mutated(policy_props()) | mutated(split_props(weights=None, canary_weight=10)), owners)
def test_preview_unknowns_never_crash_check(data: st.DataObject, props: dict[str, Any], owner: Any) -> None:
    # The engine always sends a mapping; any value inside it may be unknown during preview.
    sprinkled = {key: sprinkle_unknowns(value, data.draw) for key, value in props.items()}
    check_both(with_owner(sprinkled, owner))


@FUZZ
@given(
    st.sampled_from([MSE_GATEWAY, GATEWAY_API, ISTIO]),
    st.sampled_from([{"path": "/demo"}, {"name": "legacy"}, {"path": "/x", "canary_headers": {"x-c": "1"}}]),
    st.sampled_from([None, {"image": "demo:2.0", "replicas": 1}]),
)
def test_valid_props_reach_the_live_checks_without_io(
    gateway: dict[str, Any], route: dict[str, Any], deployment: dict[str, Any] | None
) -> None:
    props = policy_props(gateway=copy.deepcopy(gateway), route=route, canary_deployment=deployment)
    check_both(with_owner(props, OWNER))
    check_both(with_owner(split_props(gateway=copy.deepcopy(gateway), route=route), OWNER))


def test_enough_inputs_were_tried() -> None:
    """Runs after the fuzz tests above (file order): thousands of inputs, some reaching the live checks."""
    if INPUTS["tried"] < 4 * EXAMPLES:
        pytest.skip("run with the fuzz tests of this module to count their inputs")
    assert INPUTS["tried"] >= 2_000
    assert INPUTS["sessions"] > 0, "no valid input reached the live checks"
