"""Property-based: executing any plan, step by step, never makes the route unsafe.

For generated valid policies (old, new) and arbitrary-but-safe live states, the plan runs on the
in-memory simulator, which fails on any unsafe step (weights not summing to 100, a weight on a missing
version, a version removed while listed, pods deleted under traffic, a weight raised on an unready
version). Completed plans must reach the declared state, and planning again must give an empty plan.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pulumi_canary.errors import OwnershipError, PreconditionError
from pulumi_canary.model import (
    CanaryPolicySpec,
    LiveDeployment,
    LiveRoute,
    RouteSnapshot,
    TrafficSplitSpec,
    plan_create_policy,
    plan_delete_policy,
    plan_delete_split,
    plan_split,
    plan_update_policy,
)

from .factories import policy, split
from .simulator import World

SIMULATE = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
POOL = ["v1", "v2", "v3", "v4"]
FOREIGN = "v0"  # a version from an earlier release that the policy never declared
IMAGES = ["demo:1", "demo:2"]

deployments = st.none() | st.fixed_dictionaries(
    {"image": st.sampled_from(IMAGES), "replicas": st.integers(0, 2)}
)


@st.composite
def policies(draw: st.DrawFn) -> CanaryPolicySpec:
    stable, canary = draw(st.lists(st.sampled_from(POOL), min_size=2, max_size=2, unique=True))
    route = draw(st.sampled_from([{"path": "/demo"}, {"path": "/demo", "name": "legacy"}, {"path": "/v2"}]))
    return policy(
        stable_version=stable,
        canary_version=canary,
        route=route,
        canary_deployment=draw(deployments),
        allow_unready=draw(st.booleans()),
    )


@st.composite
def distributions(draw: st.DrawFn, versions: list[str]) -> dict[str, int]:
    """Integer percentages over ``versions`` summing to 100."""
    cuts = sorted(draw(st.lists(st.integers(0, 100), min_size=len(versions) - 1, max_size=len(versions) - 1)))
    bounds = [0, *cuts, 100]
    return {version: bounds[i + 1] - bounds[i] for i, version in enumerate(versions)}


@st.composite
def live_states(draw: st.DrawFn, owners: tuple[str, ...] = ("self", "unowned", "other")) -> LiveRoute:
    """Any live state that is safe to start from (as the previous successful run left it, or drifted)."""
    defined = draw(st.lists(st.sampled_from([*POOL, FOREIGN]), unique=True, max_size=5))
    versions = {
        version: {"version": version if draw(st.integers(0, 9)) else f"old-{version}"} for version in defined
    }
    route_exists = draw(st.booleans()) or draw(st.booleans())
    weights: dict[str, int] = {}
    if route_exists and defined and draw(st.integers(0, 4)):
        weighted = draw(st.lists(st.sampled_from(defined), unique=True, min_size=1))
        weights = draw(distributions(weighted))
    owned = draw(
        st.dictionaries(
            st.sampled_from(POOL),
            st.builds(LiveDeployment, st.sampled_from(IMAGES), st.integers(0, 2)),
            max_size=2,
        )
    )
    foreign_ready = draw(st.dictionaries(st.sampled_from([*POOL, FOREIGN]), st.integers(0, 2), max_size=5))
    ready = {
        v: foreign_ready.get(v, 0) + (owned[v].replicas if v in owned else 0)
        for v in {*foreign_ready, *owned}
    }
    return LiveRoute(
        route_id="rt-1" if route_exists else None,
        owner=draw(st.sampled_from(owners)),
        versions=versions,
        weights=weights,
        ready_endpoints={v: n for v, n in ready.items() if n},
        deployments=owned,
    )


def same_identity(old: CanaryPolicySpec, new: CanaryPolicySpec) -> CanaryPolicySpec:
    """An in-place update keeps the adopted route's name (a new name is a replacement)."""
    props = new.to_props()
    props["route"]["name"] = old.route.name
    return CanaryPolicySpec.model_validate(props)


def run(plan_factory: Any, start: LiveRoute, allow_unready: bool) -> World | None:
    """Plan and execute; None if planning refused (ownership/precondition), which changes nothing."""
    try:
        plan = plan_factory(start)
    except (OwnershipError, PreconditionError) as refused:
        event(f"refused: {type(refused).__name__}")
        return None
    world = World.from_live(start, allow_unready=allow_unready)
    completed = world.run(plan)
    event(
        f"{'completed' if completed else 'stopped at WaitReady'} after {min(len(world.executed), 5)}+ steps"
    )
    return world if completed else None


def assert_declared(world: World, spec: CanaryPolicySpec | TrafficSplitSpec) -> None:
    assert world.route_id is not None
    assert set(world.weights) == set(spec.versions)
    assert sum(world.weights.values()) == 100
    for version in spec.versions:
        assert world.versions[version] == spec.version_labels(version)


@SIMULATE
@given(policies(), live_states())
def test_create_is_safe_and_converges(spec: CanaryPolicySpec, start: LiveRoute) -> None:
    world = run(lambda live: plan_create_policy(spec, live), start, spec.allow_unready)
    if world is None:
        return
    assert_declared(world, spec)
    assert world.weights == {spec.stable_version: 100, spec.canary_version: 0}
    assert plan_create_policy(spec, world.live()) == ()


@SIMULATE
@given(policies(), policies(), live_states())
def test_update_is_safe_and_converges(old: CanaryPolicySpec, new: CanaryPolicySpec, start: LiveRoute) -> None:
    new = same_identity(old, new)
    world = run(lambda live: plan_update_policy(old, new, live), start, new.allow_unready)
    if world is None:
        return
    assert_declared(world, new)
    assert set(world.deployments) <= set(new.versions)
    for version in set(old.versions) - set(new.versions):
        assert version not in world.versions, f"{version} is no longer declared and must be removed"
    assert plan_update_policy(new, new, world.live()) == ()


@SIMULATE
@given(policies(), live_states(), st.data())
def test_delete_is_safe_and_leaves_nothing_behind(
    spec: CanaryPolicySpec, start: LiveRoute, data: st.DataObject
) -> None:
    original = None
    if start.route_id is not None and data.draw(st.booleans()):
        referenced = data.draw(st.lists(st.sampled_from([*POOL, FOREIGN]), unique=True, max_size=2))
        saved = data.draw(distributions(referenced)) if referenced else {}
        original = RouteSnapshot("rt-1", tuple(referenced), {"weights": saved})
    world = run(lambda live: plan_delete_policy(spec, live, original), start, spec.allow_unready)
    if world is None:
        return
    assert world.deployments == {}, "every owned Deployment is deleted or released"
    protected = set(original.referenced_versions) if original else set()
    if start.route_id is not None and start.owner != "self":
        protected |= set(start.weights)  # a route that is not ours keeps every version it lists
    if spec.canary_version not in protected:
        assert spec.canary_version not in world.versions
    assert plan_delete_policy(spec, world.live(), original) == (), "a retried delete finds its work done"


@SIMULATE
@given(st.data(), live_states(owners=("self",)))
def test_split_and_its_deletion_are_safe(data: st.DataObject, start: LiveRoute) -> None:
    defined = sorted(start.versions)
    if len(defined) < 2:
        return
    stable, canary = data.draw(st.lists(st.sampled_from(defined), min_size=2, max_size=2, unique=True))
    spec: TrafficSplitSpec = split(
        stable_version=stable,
        canary_version=canary,
        weights=None,
        canary_weight=data.draw(st.integers(0, 100)),
        allow_unready=data.draw(st.booleans()),
    )
    world = run(lambda live: plan_split(spec, live), start, spec.allow_unready)
    if world is None:
        return
    assert world.weights == spec.resolved_weights()
    assert plan_split(spec, world.live()) == ()
    deleted = run(lambda live: plan_delete_split(spec, live), world.live(), spec.allow_unready)
    if deleted is not None:
        assert deleted.weights == {stable: 100, canary: 0}


@SIMULATE
@given(policies(), live_states(owners=("unowned",)))
def test_adopt_then_delete_gives_the_route_back(spec: CanaryPolicySpec, start: LiveRoute) -> None:
    """Whatever an adopted route looked like, create + delete leaves it as it was (or on stable)."""
    if start.route_id is None:
        return
    world = run(lambda live: plan_create_policy(spec, live), start, spec.allow_unready)
    if world is None:
        return
    deleted = run(lambda live: plan_delete_policy(spec, live), world.live(), spec.allow_unready)
    if deleted is None:
        return
    assert deleted.route_id == "rt-1", "an adopted route is never deleted"
    assert deleted.owner == "unowned"
    assert deleted.weights in (dict(start.weights), {spec.stable_version: 100})
