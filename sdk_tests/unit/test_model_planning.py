"""Plans for every step of the canary flow, asserted as values (no I/O)."""

from __future__ import annotations

from typing import Any

import pytest

from pulumi_canary.errors import OwnershipError, PreconditionError
from pulumi_canary.model import (
    AdoptRoute,
    ApplyCanaryDeployment,
    CanaryDeploymentSpec,
    CreateRoute,
    DeleteCanaryDeployment,
    DeleteRoute,
    Drain,
    EnsureVersion,
    LiveDeployment,
    LiveRoute,
    Plan,
    ReleaseCanaryDeployment,
    ReleaseRoute,
    RemoveVersion,
    RestoreRoute,
    RouteSnapshot,
    SetWeights,
    UpdateRoute,
    WaitReady,
    check_invariants,
    plan_create_policy,
    plan_delete_policy,
    plan_delete_split,
    plan_split,
    plan_update_policy,
)
from pulumi_canary.model.specs import DEFAULT_DRAIN_SECONDS

from .factories import policy, split
from .simulator import World

V1 = {"version": "v1"}
V2 = {"version": "v2"}
V3 = {"version": "v3"}
DEMO2 = {"image": "demo:2.0", "replicas": 1}


def live(**changes: Any) -> LiveRoute:
    """A managed route at 90/10 with both versions ready: the state after a TrafficSplit."""
    values: dict[str, Any] = {
        "route_id": "rt-1",
        "owner": "self",
        "versions": {"v1": V1, "v2": V2},
        "weights": {"v1": 90, "v2": 10},
        "ready_endpoints": {"v1": 2, "v2": 1},
    }
    values.update(changes)
    return LiveRoute(**values)


def wait(version: str, timeout: int = 300) -> WaitReady:
    return WaitReady(version, 1, timeout)


def drain(*versions: str) -> Drain:
    return Drain(versions, DEFAULT_DRAIN_SECONDS)


def types(plan: Plan) -> list[str]:
    return [type(step).__name__ for step in plan]


# ---- create -------------------------------------------------------------------------------------------


def test_create_makes_the_route_with_all_traffic_on_stable() -> None:
    spec = policy()
    plan = plan_create_policy(spec, LiveRoute(ready_endpoints={"v1": 2}))
    assert plan == (
        EnsureVersion("v1", V1),
        EnsureVersion("v2", V2),
        wait("v1"),
        CreateRoute(spec.route, {"v1": 100, "v2": 0}),
    )


def test_create_without_readiness_wait_when_allowed() -> None:
    plan = plan_create_policy(policy(allow_unready=True), LiveRoute())
    assert types(plan) == ["EnsureVersion", "EnsureVersion", "CreateRoute"]


def test_create_uses_the_declared_readiness_timeout() -> None:
    plan = plan_create_policy(policy(readiness_timeout_seconds=30), LiveRoute())
    assert wait("v1", 30) in plan


def test_create_applies_the_canary_deployment_last_without_traffic() -> None:
    spec = policy(canary_deployment=DEMO2)
    plan = plan_create_policy(spec, LiveRoute(ready_endpoints={"v1": 2}))
    assert plan[-1] == ApplyCanaryDeployment(
        CanaryDeploymentSpec(image="demo:2.0", replicas=1), "v2", "v1", V2
    )
    assert types(plan).count("SetWeights") == 0
    assert CreateRoute(spec.route, {"v1": 100, "v2": 0}) in plan


def test_create_adopts_an_unowned_route_and_keeps_it_restorable() -> None:
    spec = policy()
    found = LiveRoute(route_id="rt-9", owner="unowned", ready_endpoints={"v1": 3})
    plan = plan_create_policy(spec, found)
    assert plan == (
        AdoptRoute("rt-9", spec.route),
        EnsureVersion("v1", V1),
        EnsureVersion("v2", V2),
        wait("v1"),
        SetWeights({"v1": 100, "v2": 0}),
    )


def test_adopting_a_route_from_an_earlier_release_reuses_its_versions() -> None:
    earlier = LiveRoute(
        route_id="rt-9", owner="unowned", versions={"v1": V1, "v0": {"version": "v0"}}, weights={"v1": 100}
    )
    plan = plan_create_policy(policy(), earlier)
    assert plan == (
        AdoptRoute("rt-9", policy().route),
        EnsureVersion("v2", V2),
        SetWeights({"v1": 100, "v2": 0}),
    )
    assert not any(isinstance(step, RemoveVersion) for step in plan), "v0 is not the policy's to remove"


def test_create_refuses_a_route_owned_by_someone_else() -> None:
    with pytest.raises(OwnershipError, match="rt-9 is owned by another resource"):
        plan_create_policy(policy(), LiveRoute(route_id="rt-9", owner="other"))


def test_adopting_a_missing_named_route_is_a_precondition_error() -> None:
    with pytest.raises(PreconditionError, match="no route named 'legacy' was found"):
        plan_create_policy(policy(route={"name": "legacy"}), LiveRoute())


def test_a_named_route_with_a_path_is_created_when_missing() -> None:
    spec = policy(route={"name": "demo-route", "path": "/demo"})
    assert isinstance(plan_create_policy(spec, LiveRoute(ready_endpoints={"v1": 1}))[-1], CreateRoute)


def test_a_retried_create_finds_its_work_done() -> None:
    done = live(weights={"v1": 100, "v2": 0})
    assert plan_create_policy(policy(), done) == ()


def test_canary_deployment_over_pods_someone_else_runs_is_refused() -> None:
    with pytest.raises(PreconditionError, match="pods labelled version=v2 already serve version v2"):
        plan_create_policy(policy(canary_deployment=DEMO2), LiveRoute(ready_endpoints={"v1": 1, "v2": 1}))


# ---- promotion ----------------------------------------------------------------------------------------


def test_promotion_by_rotation() -> None:
    old, new = policy(), policy(stable_version="v2", canary_version="v1")
    plan = plan_update_policy(old, new, live())
    assert plan == (wait("v2"), SetWeights({"v2": 100, "v1": 0}))


def test_promotion_with_a_new_label_value() -> None:
    old, new = policy(), policy(stable_version="v2", canary_version="v3")
    plan = plan_update_policy(old, new, live())
    assert plan == (
        EnsureVersion("v3", V3),
        wait("v2"),
        SetWeights({"v2": 100, "v3": 0}),
        drain("v1"),
        RemoveVersion("v1"),
    )


def test_promotion_without_waiting_when_the_new_stable_already_has_all_traffic() -> None:
    old, new = policy(), policy(stable_version="v2", canary_version="v3")
    plan = plan_update_policy(old, new, live(weights={"v1": 0, "v2": 100}))
    assert not any(isinstance(step, WaitReady) for step in plan)


def test_promotion_with_allow_unready_does_not_wait() -> None:
    old, new = policy(), policy(stable_version="v2", canary_version="v1", allow_unready=True)
    assert plan_update_policy(old, new, live()) == (SetWeights({"v2": 100, "v1": 0}),)


def test_promotion_chains_policy_owned_deployments() -> None:
    # v2 ran from the policy's canary Deployment; after promotion it serves stable: it stays, released.
    old = policy(canary_deployment=DEMO2)
    new = policy(stable_version="v2", canary_version="v3", canary_deployment={"image": "demo:3.0"})
    state = live(deployments={"v2": LiveDeployment("demo:2.0", 1)})
    plan = plan_update_policy(old, new, state)
    assert plan == (
        EnsureVersion("v3", V3),
        wait("v2"),
        SetWeights({"v2": 100, "v3": 0}),
        drain("v1"),
        RemoveVersion("v1"),
        ReleaseCanaryDeployment("v2"),
        ApplyCanaryDeployment(CanaryDeploymentSpec(image="demo:3.0"), "v3", "v2", V3),
    )
    assert not any(isinstance(step, DeleteCanaryDeployment) for step in plan)


def test_the_next_promotion_deletes_a_retired_version_deployment_still_owned() -> None:
    # Before promotions released the new stable's Deployment, the policy kept owning it (v2 here).
    old = policy(stable_version="v2", canary_version="v3", canary_deployment={"image": "demo:3.0"})
    new = policy(stable_version="v3", canary_version="v4", canary_deployment={"image": "demo:4.0"})
    state = live(
        versions={"v2": V2, "v3": V3},
        weights={"v2": 50, "v3": 50},
        ready_endpoints={"v2": 1, "v3": 1},
        deployments={"v2": LiveDeployment("demo:2.0", 1), "v3": LiveDeployment("demo:3.0", 1)},
    )
    plan = plan_update_policy(old, new, state)
    assert types(plan) == [
        "EnsureVersion",
        "WaitReady",
        "SetWeights",
        "Drain",
        "RemoveVersion",
        "DeleteCanaryDeployment",
        "ReleaseCanaryDeployment",
        "ApplyCanaryDeployment",
    ]
    assert DeleteCanaryDeployment("v2") in plan and ReleaseCanaryDeployment("v3") in plan
    assert drain("v2") in plan


def test_after_an_unapplied_edit_every_removed_version_is_drained() -> None:
    # An MSE route edited but never published: the gateway serves an earlier state whose weights are
    # unknown, so v2 may still have traffic although the route reports none.
    old = policy(stable_version="v2", canary_version="v3", canary_deployment={"image": "demo:3.0"})
    new = policy(stable_version="v3", canary_version="v4", canary_deployment={"image": "demo:4.0"})
    state = live(
        versions={"v2": V2, "v3": V3},
        weights={},
        unapplied_edit=True,
        ready_endpoints={"v2": 1, "v3": 1},
        deployments={"v2": LiveDeployment("demo:2.0", 1), "v3": LiveDeployment("demo:3.0", 1)},
    )
    plan = plan_update_policy(old, new, state)
    order = [SetWeights({"v3": 100, "v4": 0}), drain("v2"), RemoveVersion("v2"), DeleteCanaryDeployment("v2")]
    assert [plan.index(step) for step in order] == sorted(plan.index(step) for step in order)


def test_rotation_with_a_canary_deployment_over_the_users_stable_pods_is_refused() -> None:
    old = policy(canary_deployment=DEMO2)
    new = policy(stable_version="v2", canary_version="v1", canary_deployment=DEMO2)
    state = live(deployments={"v2": LiveDeployment("demo:2.0", 1)})
    with pytest.raises(PreconditionError, match="remove canary_deployment"):
        plan_update_policy(old, new, state)


def test_rotation_after_dropping_canary_deployment_keeps_the_stable_deployment_and_releases_it() -> None:
    old = policy(canary_deployment=DEMO2)
    new = policy(stable_version="v2", canary_version="v1")  # v1's own pods are the next canary
    state = live(deployments={"v2": LiveDeployment("demo:2.0", 1)})
    plan = plan_update_policy(old, new, state)
    assert plan == (wait("v2"), SetWeights({"v2": 100, "v1": 0}), ReleaseCanaryDeployment("v2"))
    released = live(weights={"v2": 100, "v1": 0})
    assert plan_update_policy(new, new, released) == (), "a released Deployment is not released again"


def test_a_new_canary_without_promotion_resets_to_stable() -> None:
    old, new = policy(), policy(canary_version="v3")
    plan = plan_update_policy(old, new, live())
    assert plan == (
        EnsureVersion("v3", V3),
        wait("v1"),
        SetWeights({"v1": 100, "v3": 0}),
        drain("v2"),
        RemoveVersion("v2"),
    )


# ---- other updates ------------------------------------------------------------------------------------


def test_image_change_applies_the_deployment_and_keeps_the_weights() -> None:
    old = policy(canary_deployment=DEMO2)
    new = policy(canary_deployment={"image": "demo:2.1", "replicas": 1})
    plan = plan_update_policy(old, new, live(deployments={"v2": LiveDeployment("demo:2.0", 1)}))
    assert plan == (ApplyCanaryDeployment(CanaryDeploymentSpec(image="demo:2.1"), "v2", "v1", V2),)


def test_replica_change_applies_the_deployment() -> None:
    old = policy(canary_deployment=DEMO2)
    new = policy(canary_deployment={"image": "demo:2.0", "replicas": 3})
    plan = plan_update_policy(old, new, live(deployments={"v2": LiveDeployment("demo:2.0", 1)}))
    assert types(plan) == ["ApplyCanaryDeployment"]


def test_dropping_the_canary_deployment_moves_its_traffic_first() -> None:
    old, new = policy(canary_deployment=DEMO2), policy()
    plan = plan_update_policy(old, new, live(deployments={"v2": LiveDeployment("demo:2.0", 1)}))
    assert plan == (wait("v1"), SetWeights({"v1": 100, "v2": 0}), drain("v2"), DeleteCanaryDeployment("v2"))


def test_route_match_change_updates_the_route_and_nothing_else() -> None:
    old, new = policy(), policy(route={"path": "/demo/v2", "canary_headers": {"x-canary": "always"}})
    assert plan_update_policy(old, new, live()) == (UpdateRoute("rt-1", new.route),)


def test_readiness_settings_alone_change_nothing_live() -> None:
    assert plan_update_policy(policy(), policy(allow_unready=True, readiness_timeout_seconds=5), live()) == ()


def test_drifted_weights_are_repaired_on_update() -> None:
    drifted = live(weights={"v1": 50, "v9": 50}, versions={"v1": V1, "v2": V2, "v9": {"version": "v9"}})
    assert plan_update_policy(policy(), policy(), drifted) == (wait("v1"), SetWeights({"v1": 100, "v2": 0}))


def test_drifted_version_labels_are_corrected() -> None:
    plan = plan_update_policy(policy(), policy(), live(versions={"v1": V1, "v2": {"version": "v2-old"}}))
    assert plan == (EnsureVersion("v2", V2),)


def test_a_route_deleted_behind_our_back_is_recreated() -> None:
    plan = plan_update_policy(
        policy(), policy(), LiveRoute(versions={"v1": V1, "v2": V2}, ready_endpoints={"v1": 1})
    )
    assert plan == (wait("v1"), CreateRoute(policy().route, {"v1": 100, "v2": 0}))


def test_update_refuses_a_route_taken_over_by_someone_else() -> None:
    with pytest.raises(OwnershipError):
        plan_update_policy(policy(), policy(), live(owner="other"))


# ---- traffic split and rollback -----------------------------------------------------------------------


def test_split_waits_for_the_canary_then_sets_weights() -> None:
    plan = plan_split(split(), live(weights={"v1": 100, "v2": 0}))
    assert plan == (wait("v2"), SetWeights({"v1": 90, "v2": 10}))


def test_split_does_not_wait_for_a_falling_weight() -> None:
    plan = plan_split(split(weights={"v1": 95, "v2": 5}), live())
    assert plan == (wait("v1"), SetWeights({"v1": 95, "v2": 5}))


def test_split_is_a_no_op_when_weights_match() -> None:
    assert plan_split(split(), live()) == ()


def test_split_with_allow_unready_does_not_wait() -> None:
    assert plan_split(split(allow_unready=True, weights=None, canary_weight=50), live()) == (
        SetWeights({"v1": 50, "v2": 50}),
    )


def test_rollback_returns_all_traffic_to_stable_at_once() -> None:
    plan = plan_split(split(weights=None, canary_weight=0), live())
    assert plan == (wait("v1"), SetWeights({"v1": 100, "v2": 0}))


def test_deleting_the_split_is_a_rollback_that_drains_the_canary_for_the_policy_delete() -> None:
    assert plan_delete_split(split(), live()) == (wait("v1"), SetWeights({"v1": 100, "v2": 0}), drain("v2"))


def test_deleting_a_split_already_at_zero_has_nothing_to_drain() -> None:
    assert plan_delete_split(split(), live(weights={"v1": 100, "v2": 0})) == ()


def test_drain_seconds_zero_drains_nothing() -> None:
    plan = plan_delete_split(split(drain_seconds=0), live())
    assert plan == (wait("v1"), SetWeights({"v1": 100, "v2": 0}))


def test_deleting_the_split_after_the_policy_is_gone_does_nothing() -> None:
    assert plan_delete_split(split(), LiveRoute()) == ()


def test_split_needs_the_policy_route_and_versions() -> None:
    with pytest.raises(PreconditionError, match="create the policy before its TrafficSplit"):
        plan_split(split(), LiveRoute())
    with pytest.raises(PreconditionError, match="v2 of CanaryPolicy 'demo' are not defined"):
        plan_split(split(), live(versions={"v1": V1}))


# ---- delete -------------------------------------------------------------------------------------------


def test_delete_moves_traffic_then_removes_canary_then_the_route_then_stable_once_drained() -> None:
    spec = policy(canary_deployment=DEMO2)
    plan = plan_delete_policy(spec, live(deployments={"v2": LiveDeployment("demo:2.0", 1)}))
    assert plan == (
        wait("v1"),
        SetWeights({"v1": 100}),
        drain("v2"),
        RemoveVersion("v2"),
        DeleteCanaryDeployment("v2"),
        DeleteRoute("rt-1"),
        drain("v1"),  # the gateway may route through stable until it has applied the delete
        RemoveVersion("v1"),
    )


def test_delete_restores_an_adopted_route() -> None:
    original = RouteSnapshot("rt-1", (), {"destination": "whole service"})
    plan = plan_delete_policy(policy(), live(), original)
    assert plan == (
        wait("v1"),
        SetWeights({"v1": 100}),
        drain("v2"),
        RemoveVersion("v2"),
        RestoreRoute(original),
        drain("v1"),
        RemoveVersion("v1"),
    )


def test_delete_keeps_versions_the_restored_route_needs() -> None:
    original = RouteSnapshot("rt-1", ("v1",), {"weights": {"v1": 100}})
    plan = plan_delete_policy(policy(), live(), original)
    assert plan[-1] == RestoreRoute(original)
    assert RemoveVersion("v1") not in plan


def test_an_adopted_route_whose_original_target_is_gone_is_released_on_stable() -> None:
    original = RouteSnapshot("rt-1", ("v0",), {"weights": {"v0": 100}})
    plan = plan_delete_policy(policy(), live(), original)
    assert plan == (
        wait("v1"), SetWeights({"v1": 100}), drain("v2"), RemoveVersion("v2"), ReleaseRoute("rt-1")
    )


def test_delete_releases_a_policy_owned_deployment_that_serves_stable() -> None:
    spec = policy(stable_version="v2", canary_version="v3", canary_deployment={"image": "demo:3.0"})
    state = live(
        versions={"v2": V2, "v3": V3},
        weights={"v2": 100, "v3": 0},
        ready_endpoints={"v2": 1},
        deployments={"v2": LiveDeployment("demo:2.0", 1), "v3": LiveDeployment("demo:3.0", 0)},
    )
    plan = plan_delete_policy(spec, state)
    assert ReleaseCanaryDeployment("v2") in plan
    assert DeleteCanaryDeployment("v3") in plan
    assert DeleteCanaryDeployment("v2") not in plan


def test_delete_waits_for_an_unready_stable_unless_allowed() -> None:
    unready = live(ready_endpoints={"v2": 1})
    assert plan_delete_policy(policy(), unready)[0] == wait("v1")
    assert not any(
        isinstance(step, WaitReady) for step in plan_delete_policy(policy(allow_unready=True), unready)
    )
    world = World.from_live(unready)
    assert world.run(plan_delete_policy(policy(), unready)) is False, "the plan stops at WaitReady"
    assert world.weights == {"v1": 90, "v2": 10} and "v2" in world.versions, "the canary keeps serving"


def test_delete_when_the_route_is_already_gone_cleans_up_versions() -> None:
    gone = LiveRoute(versions={"v1": V1, "v2": V2})
    assert plan_delete_policy(policy(), gone) == (RemoveVersion("v2"), RemoveVersion("v1"))


def test_delete_of_nothing_is_empty() -> None:
    assert plan_delete_policy(policy(), LiveRoute()) == ()


def test_delete_refuses_a_route_owned_by_someone_else() -> None:
    with pytest.raises(OwnershipError):
        plan_delete_policy(policy(), live(owner="other"))


# ---- order properties on the scenarios above, run through the simulator -------------------------------


SCENARIOS = [
    (
        "create",
        lambda: plan_create_policy(policy(), LiveRoute(ready_endpoints={"v1": 1})),
        LiveRoute(ready_endpoints={"v1": 1}),
    ),
    (
        "rotate",
        lambda: plan_update_policy(policy(), policy(stable_version="v2", canary_version="v1"), live()),
        live(),
    ),
    (
        "new label",
        lambda: plan_update_policy(policy(), policy(stable_version="v2", canary_version="v3"), live()),
        live(),
    ),
    ("delete", lambda: plan_delete_policy(policy(), live()), live()),
    ("rollback", lambda: plan_split(split(weights=None, canary_weight=0), live()), live()),
]


@pytest.mark.parametrize(("name", "make_plan", "start"), SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_scenarios_are_safe_step_by_step(name: str, make_plan: Any, start: LiveRoute) -> None:
    plan = make_plan()
    for step in plan:
        if isinstance(step, SetWeights | CreateRoute):
            assert sum(step.weights.values()) == 100
    assert World.from_live(start).run(plan) is True  # raises UnsafeStepError on any violation


def test_a_full_release_ends_in_a_correct_state() -> None:
    world = World(foreign_ready={"v1": 2})
    v1v2 = policy(canary_deployment=DEMO2)
    assert world.run(plan_create_policy(v1v2, world.live()))
    assert check_invariants(world.live(), v1v2) == []
    assert world.run(plan_split(split(), world.live()))
    assert check_invariants(world.live(), split()) == []
    promoted = policy(stable_version="v2", canary_version="v3", canary_deployment={"image": "demo:3.0"})
    assert world.run(plan_update_policy(v1v2, promoted, world.live()))
    assert check_invariants(world.live(), promoted) == []
    assert world.run(plan_delete_policy(promoted, world.live()))
    assert world.route_id is None and world.versions == {}
    assert world.deployments == {} and world.foreign_ready["v2"] == 1, "the stable pods keep running"


def test_every_step_describes_itself() -> None:
    original = RouteSnapshot("rt-1")
    spec = policy(route={"path": "/d", "name": "r", "canary_headers": {"x": "1"}}, canary_deployment=DEMO2)
    steps = [
        CreateRoute(spec.route, {"v1": 100}),
        AdoptRoute("rt-1", spec.route),
        UpdateRoute("rt-1", spec.route),
        EnsureVersion("v1", V1),
        wait("v1"),
        SetWeights({"v1": 100}),
        RemoveVersion("v1"),
        ApplyCanaryDeployment(CanaryDeploymentSpec(image="x"), "v2", "v1", V2),
        DeleteCanaryDeployment("v2"),
        ReleaseCanaryDeployment("v2"),
        RestoreRoute(original),
        ReleaseRoute("rt-1"),
        DeleteRoute("rt-1"),
    ]
    for step in steps:
        assert step.describe() and "\n" not in step.describe()


# ---- ownership and retries ----------------------------------------------------------------------------


def test_a_retried_delete_does_not_undo_the_restore() -> None:
    original = RouteSnapshot("rt-1", ("v0",), {"weights": {"v0": 100}})
    state = live(versions={"v0": {"version": "v0"}, "v1": V1, "v2": V2}, ready_endpoints={"v0": 1, "v1": 1})
    world = World.from_live(state)
    first = plan_delete_policy(policy(), state, original)
    assert first[-1] == RemoveVersion("v1") and RestoreRoute(original) in first
    assert world.run(first[:-1]), "interrupted just before the last step"
    retry = plan_delete_policy(policy(), world.live(), original)
    assert retry == (RemoveVersion("v1"),)
    assert world.run(retry) and world.weights == {"v0": 100}


def test_delete_leaves_an_unowned_route_and_its_versions_alone() -> None:
    foreign = live(owner="unowned", weights={"v1": 50, "v2": 50})
    assert plan_delete_policy(policy(), foreign) == ()


def test_split_needs_the_route_to_carry_its_policys_marker() -> None:
    with pytest.raises(PreconditionError, match="does not carry the ownership marker"):
        plan_split(split(), live(owner="unowned"))
    with pytest.raises(OwnershipError):
        plan_split(split(), live(owner="other"))
    assert plan_delete_split(split(), live(owner="unowned")) == ()
    with pytest.raises(OwnershipError):
        plan_delete_split(split(), live(owner="other"))


def test_delete_falls_back_to_the_snapshot_stored_with_the_route() -> None:
    # A create that failed after AdoptRoute left no outputs; the driver found the snapshot on the route.
    stored = RouteSnapshot("rt-1", (), {"annotation": "original"})
    plan = plan_delete_policy(policy(), live(original=stored))
    assert RestoreRoute(stored) in plan and not any(isinstance(step, DeleteRoute) for step in plan)
    from_outputs = RouteSnapshot("rt-1", (), {"from": "outputs"})
    assert RestoreRoute(from_outputs) in plan_delete_policy(policy(), live(original=stored), from_outputs)
