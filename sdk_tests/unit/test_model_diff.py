"""Diff decisions: only identity properties replace; a release is a series of in-place updates."""

from __future__ import annotations

from typing import Any

import pytest

from pulumi_canary.model import DiffDecision, diff_policy, diff_split

from .factories import GATEWAY_API, ISTIO, MSE_GATEWAY, policy, policy_props, split_props

NO_CHANGE = DiffDecision(changes=False)


def outputs_of(props: dict[str, Any]) -> dict[str, Any]:
    """What the engine passes as olds: the previous outputs (inputs plus output-only keys)."""
    return {**props, "route_id": "rt-1", "live_weights": {"v1": 100, "v2": 0}, "__provider": "old-pickle"}


def test_nothing_changed() -> None:
    assert diff_policy(outputs_of(policy_props()), policy_props()) == NO_CHANGE


def test_the_provider_key_is_never_diffed() -> None:
    assert diff_policy(policy_props(__provider="a"), policy_props(__provider="b")) == NO_CHANGE


def test_defaults_and_doubles_compare_equal() -> None:
    sparse = policy_props(service={"name": "demo-service", "port": 80})
    full = policy_props(
        service={"name": "demo-service", "namespace": "default", "port": 80.0},
        route={"path": "/demo", "path_type": "prefix", "canary_headers": {}, "name": None},
        readiness_timeout_seconds=300.0,
        allow_unready=False,
        canary_deployment=None,
    )
    assert diff_policy(sparse, full) == NO_CHANGE


def test_normalised_outputs_compare_equal_to_raw_inputs() -> None:
    assert diff_policy(policy().to_props(), policy_props()) == NO_CHANGE


@pytest.mark.parametrize(
    ("change", "replaced"),
    [
        ({"gateway": {**MSE_GATEWAY, "gateway_id": "gw-other"}}, "gateway"),
        ({"gateway": {**MSE_GATEWAY, "region": "cn-shanghai"}}, "gateway"),
        ({"gateway": GATEWAY_API}, "gateway"),
        ({"service": {"name": "other", "port": 80}}, "service"),
        ({"service": {"name": "demo-service", "namespace": "prod", "port": 80}}, "service"),
        ({"service": {"name": "demo-service", "port": 8080}}, "service"),
        ({"label_key": "app.kubernetes.io/version"}, "label_key"),
        ({"route": {"path": "/demo", "name": "legacy"}}, "route"),
    ],
)
def test_identity_changes_replace_deleting_first(change: dict[str, Any], replaced: str) -> None:
    decision = diff_policy(outputs_of(policy_props()), policy_props(**change))
    assert decision == DiffDecision(True, (replaced,), True, (replaced,))


@pytest.mark.parametrize(
    "change",
    [
        {"stable_version": "v2", "canary_version": "v1"},
        {"canary_version": "v3"},
        {"route": {"path": "/demo/v2"}},
        {"route": {"path": "/demo", "path_type": "exact"}},
        {"route": {"path": "/demo", "canary_headers": {"x-canary": "1"}}},
        {"canary_deployment": {"image": "demo:2.0"}},
        {"readiness_timeout_seconds": 60},
        {"allow_unready": True},
        {"gateway": {**MSE_GATEWAY, "endpoint": "http://127.0.0.1:9000"}},
    ],
)
def test_release_changes_update_in_place(change: dict[str, Any]) -> None:
    decision = diff_policy(outputs_of(policy_props()), policy_props(**change))
    assert decision.changes and decision.replaces == () and not decision.delete_before_replace
    assert set(decision.changed) == set(change)


def test_canary_image_change_is_an_update() -> None:
    old = policy_props(canary_deployment={"image": "demo:2.0"})
    new = policy_props(canary_deployment={"image": "demo:2.1", "replicas": 1.0})
    assert diff_policy(old, new) == DiffDecision(True, (), False, ("canary_deployment",))


def test_kubernetes_gateway_route_fields_update_in_place() -> None:
    old = policy_props(gateway={**GATEWAY_API, "hostnames": ["a.example.com"]})
    new = policy_props(gateway={**GATEWAY_API, "hostnames": ["b.example.com"]})
    assert diff_policy(old, new).replaces == ()
    old_istio, new_istio = (
        policy_props(gateway=ISTIO),
        policy_props(gateway={**ISTIO, "hosts": ["x.example.com"]}),
    )
    assert diff_policy(old_istio, new_istio).replaces == ()
    moved = policy_props(gateway={**GATEWAY_API, "section_name": "https"})
    assert diff_policy(policy_props(gateway=GATEWAY_API), moved).replaces == ("gateway",)


def test_several_changes_at_once() -> None:
    decision = diff_policy(policy_props(), policy_props(label_key="app", canary_version="v3"))
    assert decision.replaces == ("label_key",)
    assert set(decision.changed) == {"label_key", "canary_version"}


def test_split_weights_and_versions_update() -> None:
    for change in (
        {"weights": {"v1": 50, "v2": 50}},
        {"weights": None, "canary_weight": 10},
        {"route_id": "rt-2"},
    ):
        decision = diff_split(outputs_of(split_props()), split_props(**change))
        assert decision.changes and decision.replaces == ()
    promoted = split_props(stable_version="v2", canary_version="v1", weights={"v2": 100, "v1": 0})
    assert diff_split(split_props(), promoted).replaces == ()


def test_split_identity_changes_replace() -> None:
    for change, replaced in (
        ({"policy": "other"}, "policy"),
        ({"service": {"name": "x", "port": 80}}, "service"),
    ):
        decision = diff_split(split_props(), split_props(**change))
        assert decision.replaces == (replaced,) and decision.delete_before_replace


class Unknown:
    """Stands in for pulumi.output.Unknown."""


def test_unknown_values_during_preview() -> None:
    assert diff_split(split_props(), split_props(policy=Unknown())).replaces == ("policy",)
    assert diff_split(split_props(), split_props(weights={"v1": Unknown(), "v2": 10})).replaces == ()
    assert (
        diff_policy(policy_props(), policy_props(gateway={**MSE_GATEWAY, "endpoint": Unknown()})).replaces
        == ()
    )
    assert diff_policy(policy_props(), policy_props(gateway=Unknown())).replaces == ("gateway",)


def test_garbage_never_raises() -> None:
    class Hostile:
        def __eq__(self, other: object) -> bool:
            raise RuntimeError("no")

        __hash__ = None  # type: ignore[assignment]

    garbage: dict[Any, Any] = {"gateway": Hostile(), 3: 4}
    decision = diff_policy({"gateway": {"kind": Hostile()}, "route": [Hostile()]}, garbage)
    assert decision.changes
