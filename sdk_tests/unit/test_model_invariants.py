"""The invariant checker that every later test suite reuses."""

from __future__ import annotations

from pulumi_canary.model import LiveDeployment, LiveRoute, check_invariants, safety_violations

from .factories import policy, split

GOOD = LiveRoute(
    route_id="rt-1",
    owner="self",
    versions={"v1": {"version": "v1"}, "v2": {"version": "v2"}},
    weights={"v1": 90, "v2": 10},
    ready_endpoints={"v1": 2, "v2": 1},
)


def with_(**changes: object) -> LiveRoute:
    values = {name: getattr(GOOD, name) for name in GOOD.__dataclass_fields__}
    values.update(changes)
    return LiveRoute(**values)


def test_a_correct_route_has_no_problems() -> None:
    assert check_invariants(GOOD, policy()) == []
    assert check_invariants(GOOD, split()) == []
    assert safety_violations(GOOD) == []


def test_missing_route() -> None:
    assert check_invariants(LiveRoute(), policy()) == ["the route does not exist"]


def test_weights_must_sum_to_100() -> None:
    assert check_invariants(with_(weights={"v1": 90, "v2": 5}), policy()) == [
        "weights sum to 95, not 100 (v1=90, v2=5)"
    ]


def test_weight_on_an_undefined_version() -> None:
    problems = check_invariants(with_(versions={"v1": {"version": "v1"}}), policy())
    assert "version 'v2' has weight 10 but is not defined" in problems
    assert "version 'v2' is not defined" in problems


def test_weight_on_a_version_without_ready_endpoints() -> None:
    problems = check_invariants(with_(ready_endpoints={"v1": 2}), policy())
    assert problems == ["version 'v2' has weight 10 but 0 ready endpoints"]
    assert check_invariants(with_(ready_endpoints={"v1": 2}), policy(allow_unready=True)) == []


def test_versions_outside_the_policy() -> None:
    extra = with_(versions={**GOOD.versions, "v0": {"version": "v0"}}, weights={"v1": 90, "v2": 5, "v0": 5})
    problems = check_invariants(extra, policy())
    assert any("not exactly the versions" in problem for problem in problems)
    assert "version 'v0' is defined but is neither stable nor canary (orphaned)" in problems
    assert "version 'v0' is defined but is neither stable nor canary (orphaned)" not in check_invariants(
        extra, policy(), foreign_versions={"v0"}
    )


def test_wrong_labels() -> None:
    problems = check_invariants(with_(versions={"v1": {"version": "v1"}, "v2": {"app": "v2"}}), policy())
    assert problems == ["version 'v2' selects {'app': 'v2'}, not {'version': 'v2'}"]


def test_deployments() -> None:
    assert check_invariants(GOOD, policy(canary_deployment={"image": "demo:2"})) == [
        "the canary Deployment of version 'v2' does not exist"
    ]
    stale = with_(deployments={"v2": LiveDeployment("demo:1", 1), "v0": LiveDeployment("x", 1)})
    problems = check_invariants(stale, policy(canary_deployment={"image": "demo:2"}))
    assert "a canary Deployment owned by the policy still exists for version 'v0' (orphaned)" in problems
    assert "the canary Deployment runs demo:1 x1, declared demo:2 x1" in problems


def test_split_weights_must_be_the_declared_ones() -> None:
    assert check_invariants(GOOD, split(weights={"v1": 50, "v2": 50})) == [
        "weights are v1=90, v2=10, declared v1=50, v2=50"
    ]


def test_safety_allows_a_route_without_version_weights() -> None:
    assert safety_violations(with_(weights={})) == []
    assert safety_violations(with_(weights={"v1": -10, "v2": 110})) == [
        "version 'v1' has a negative weight -10"
    ]
