"""The shared planning core: pure functions from (desired spec, live state) to a plan.

The same rules hold for every gateway and every plan:

1. A version is defined before any weight references it (``EnsureVersion`` before ``CreateRoute`` /
   ``SetWeights``).
2. Traffic moves before anything is removed: a version leaves the route (``SetWeights``) before
   ``RemoveVersion``, and a Deployment stops receiving traffic before ``DeleteCanaryDeployment``. When
   the plan itself takes the traffic away, a ``Drain`` comes between, so the gateway has applied the
   change before the version's pods or definition go.
3. Every ``SetWeights`` / ``CreateRoute`` sums to 100 and names only existing versions.
4. A version whose weight rises gets a ``WaitReady`` first, unless the spec says ``allow_unready``.
5. The Deployment serving the stable version is never deleted. A canary Deployment the policy created
   is the policy's only while it serves the canary: the promotion that makes its version stable (by
   rotation or by a new label value) releases it, as a policy delete does. Released, it keeps running
   and carries nothing of pulumi-canary's.
6. Plans are minimal: a step appears only when the live state differs, so planning the same spec
   against the state a plan produced gives an empty plan (a retried ``pulumi up`` converges).

Planning raises ``OwnershipError`` when the route belongs to another resource and ``PreconditionError``
when the live state makes the declared change impossible; it never performs I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from ..errors import OwnershipError, PreconditionError, RolloutHaltedError
from .live import LiveRoute, RouteSnapshot
from .rollout import RolloutRecord
from .specs import CanaryPolicySpec, TrafficSplitSpec, _VersionedSpec
from .steps import (
    AdoptRoute,
    Analyze,
    ApplyCanaryDeployment,
    Confirm,
    CreateRoute,
    DeleteCanaryDeployment,
    DeleteRoute,
    Drain,
    EnsureVersion,
    Pause,
    Plan,
    ReleaseCanaryDeployment,
    ReleaseRoute,
    RemoveVersion,
    RestoreRoute,
    ScaleCanary,
    SetWeights,
    Step,
    UpdateRoute,
    WaitReady,
)

__all__ = [
    "MIN_READY_ENDPOINTS",
    "plan_create_policy",
    "plan_delete_policy",
    "plan_delete_split",
    "plan_rollback",
    "plan_split",
    "plan_update_policy",
    "resumes_walk",
    "rollback_weights",
    "second_deployment_reason",
]

MIN_READY_ENDPOINTS = 1
"""Ready endpoints a version needs before its weight may rise."""


def plan_create_policy(spec: CanaryPolicySpec, live: LiveRoute) -> Plan:
    """Create or adopt the route, define both versions, send 100% to stable and 0% to canary, then apply
    the canary Deployment if one is declared (it gets no traffic). Safe to re-run after a partial create.
    """
    return _reconcile(spec, None, live)


def plan_update_policy(old: CanaryPolicySpec, new: CanaryPolicySpec, live: LiveRoute) -> Plan:
    """Move the policy from ``old`` to ``new``: route match changes, promotion, image and replica changes.

    When the version pair changes (promotion by rotation or by a new label value, or a new canary) the
    weights reset to 100% on the new stable, after it is ready; versions that ``old`` declared and ``new``
    does not are removed only after that. When the pair is unchanged the weights belong to the
    TrafficSplit and are left alone, unless they are invalid for the pair or send traffic to a version
    about to lose its Deployment: then they reset to 100% stable too.
    """
    return _reconcile(new, old, live)


def plan_delete_policy(
    spec: CanaryPolicySpec, live: LiveRoute, original: RouteSnapshot | None = None
) -> Plan:
    """Undo the policy: all traffic to stable first, then remove the canary version and Deployment, then
    restore the adopted route or delete the route the policy created, and last, after a drain, stable's
    version (a deleted route is a change the gateway applies later too). The adopted route's snapshot is
    ``original`` (from the outputs) or else ``live.original`` (stored with the route); neither means the
    policy created the route.

    Stable is the last thing standing. It must be ready before it takes all traffic, exactly as on
    create: when it has no ready endpoints the plan waits and then fails (``WaitReady``), leaving the
    canary serving, unless ``allow_unready``. An adopted route is restored only while every version its
    snapshot references still exists and is ready; otherwise it is released pointing at stable.

    Only a route that carries our marker (``owner == "self"``) is touched. An ``unowned`` route was
    already restored or released by an earlier, interrupted delete (or was never ours): it is left as it
    is, and so is every version it still lists, so a retried delete converges without undoing a restore.
    """
    if live.exists and live.owner == "other":
        raise _foreign_route(live)
    original = original if original is not None else live.original
    managed = live.exists and live.owner == "self"
    restorable = _restorable(live, original)
    keep = _versions_to_keep(live, original if restorable else None, managed)
    steps: list[Step] = []
    removals: list[Step] = []
    if managed:
        steps.extend(_ensure_versions(spec, live, [spec.stable_version]))
        steps.extend(_move_weights(spec, live, {spec.stable_version: 100}))
    if spec.canary_version in live.versions and spec.canary_version not in keep:
        removals.append(RemoveVersion(spec.canary_version))
    removals.extend(_undeploy(spec, live, keep))
    if managed:
        steps.extend(_drain(spec, live, _removed_versions(removals)))
    steps.extend(removals)
    teardown = _route_teardown(live, original, restorable) if managed else []
    steps.extend(teardown)
    route_keeps_stable = managed and original is not None and not restorable  # released on stable
    stable_defined = spec.stable_version in live.versions or managed
    if stable_defined and not route_keeps_stable and spec.stable_version not in keep:
        if teardown:
            # Stable served the whole route until the restore or the delete just now; the gateway may
            # still send it requests until it has applied that, and a missing Service answers them 500.
            steps.extend(_drain_all(spec, [spec.stable_version]))
        steps.append(RemoveVersion(spec.stable_version))
    return tuple(steps)


def plan_split(spec: TrafficSplitSpec, live: LiveRoute) -> Plan:
    """Set the declared percentages, after waiting for every version whose weight rises.

    When the canary's share rises past declared ``steps``, it walks them first: at each step the canary
    is ready, gets the step's share, and holds it ``pause_seconds``. A fall is one move (a rollback does
    not wait), and so is a rise with no step between (a split without steps behaves as before). Planned
    from the live weights, a walk cut short holds (and analyses) the step the route stands at again,
    then walks on. With ``analysis``, each step is measured after its hold, and so is the target; with
    ``webhooks``, each rise is confirmed first (``Confirm``).

    A rise that the same rollout already failed (``live.rollout``: same canary, same target, ``retry``
    not raised since) raises ``RolloutHaltedError`` before anything is planned.
    """
    _require_policy_route(spec, live)
    steps: list[Step] = []
    start = live.weight(spec.canary_version)
    target = spec.resolved_weights()
    if target[spec.canary_version] > start:
        _refuse_a_failed_rollout(spec, live.rollout, target[spec.canary_version])
    for waypoint in spec.waypoints(start, resumed=resumes_walk(spec, live)):
        held = {spec.stable_version: 100 - waypoint.weight, spec.canary_version: waypoint.weight}
        if waypoint.weight > live.weight(spec.canary_version):
            steps.extend(_confirm(spec, live, waypoint.weight))
        live = _split_move(spec, live, held, steps)
        if waypoint.pause_seconds:
            steps.append(Pause(spec.canary_version, waypoint.weight, waypoint.pause_seconds))
        steps.extend(_analyze(spec, waypoint.weight))
    if target[spec.canary_version] > live.weight(spec.canary_version):
        steps.extend(_confirm(spec, live, target[spec.canary_version]))
    _split_move(spec, live, target, steps)
    if target[spec.canary_version] > start:
        steps.extend(_analyze(spec, target[spec.canary_version]))
    return tuple(steps)


def _split_move(
    spec: TrafficSplitSpec, live: LiveRoute, weights: Mapping[str, int], steps: list[Step]
) -> LiveRoute:
    """Append the steps that move a split's route to ``weights``: when the canary's replicas follow its
    share, they are scaled up (and waited for) before a rise, and down after a fall once drained.
    Returns the live state the steps leave."""
    percent = weights.get(spec.canary_version, 0)
    owned = live.deployments.get(spec.canary_version)
    replicas = spec.canary_replicas(live.stable_replicas, percent) if owned is not None else None
    if owned is None or replicas is None or replicas == owned.replicas:
        steps.extend(_move_weights(spec, live, weights))
    elif replicas > owned.replicas:
        steps.append(ScaleCanary(spec.canary_version, replicas))
        steps.extend(_move_weights(spec, live, weights, {spec.canary_version: replicas}))
    else:
        steps.extend(_move_weights(spec, live, weights))
        steps.extend(_drain_all(spec, [spec.canary_version]))
        steps.append(ScaleCanary(spec.canary_version, replicas))
    deployments = dict(live.deployments)
    if owned is not None and replicas is not None:
        deployments[spec.canary_version] = replace(owned, replicas=replicas)
    return replace(live, weights=dict(weights), deployments=deployments)


def _refuse_a_failed_rollout(spec: TrafficSplitSpec, record: RolloutRecord | None, target: int) -> None:
    if record is None or not record.halts(spec.canary_version, target, spec.retry):
        return
    raise RolloutHaltedError(
        f"{record.describe()}. pulumi-canary does not walk a failed rollout again by itself: fix the "
        f"canary, then set retry={record.retry + 1} on the TrafficSplit (or declare another weight) and "
        "`pulumi up`; lowering the canary's weight needs no retry"
    )


def resumes_walk(spec: TrafficSplitSpec, live: LiveRoute) -> bool:
    """Whether a rise starts where an earlier, interrupted update left its walk: the route stands at one
    of the split's steps, below the target, and no rollout of this canary is recorded as having had
    that step as its target (a rollout that got there records so)."""
    current, target = live.weight(spec.canary_version), spec.resolved_weights()[spec.canary_version]
    if not current < target or all(step.weight != current for step in spec.steps):
        return False
    record = live.rollout
    return record is None or record.canary_version != spec.canary_version or record.target != current


def rollback_weights(spec: TrafficSplitSpec, began: LiveRoute) -> dict[str, int]:
    """Where a failed rollout goes back to: the weights its update began with, unless that update
    resumed a walk an interrupted one started (``resumes_walk``: from weights nobody kept): then to
    stable alone, as Argo Rollouts and Flagger abort."""
    if set(began.weights) != set(spec.versions) or resumes_walk(spec, began):
        return {spec.stable_version: 100, spec.canary_version: 0}
    return {version: began.weights[version] for version in spec.versions}


def plan_rollback(spec: TrafficSplitSpec, live: LiveRoute, weights: Mapping[str, int]) -> Plan:
    """Send the route back to ``weights`` (see ``rollback_weights``) at once: no steps, no analysis."""
    _require_policy_route(spec, live)
    steps: list[Step] = []
    _split_move(spec, live, weights, steps)
    return tuple(steps)


def _analyze(spec: TrafficSplitSpec, percent: int) -> list[Step]:
    if spec.analysis is None:
        return []
    return [Analyze(spec.canary_version, percent, spec.analysis, _names(spec))]


def _confirm(spec: TrafficSplitSpec, live: LiveRoute, percent: int) -> list[Step]:
    if not spec.webhooks:
        return []
    current = live.weight(spec.canary_version)
    return [Confirm(spec.canary_version, current, percent, spec.webhooks, _names(spec))]


def _names(spec: TrafficSplitSpec) -> dict[str, str]:
    """What a rollout step's queries and webhooks know of it."""
    return {
        "canary": spec.canary_version,
        "stable": spec.stable_version,
        "service": spec.service.name,
        "namespace": spec.service.namespace,
    }


def plan_delete_split(spec: TrafficSplitSpec, live: LiveRoute) -> Plan:
    """Give the route back to the policy's resting state: 100% stable, 0% canary.

    Nothing to do when the route is gone, no longer the policy's (``unowned``: the policy released it)
    or lacks the stable version. A route owned by another resource raises ``OwnershipError``.
    """
    if live.exists and live.owner == "other":
        raise _foreign_route(live)
    if not live.exists or live.owner != "self" or spec.stable_version not in live.versions:
        return ()
    target = {spec.stable_version: 100}
    if spec.canary_version in live.versions:
        target[spec.canary_version] = 0
    steps: list[Step] = []
    _split_move(spec, live, target, steps)
    if not any(isinstance(step, Drain) for step in steps):
        # The policy's delete, which usually comes next, removes the canary: let the gateway drain it.
        steps.extend(_drain(spec, live, [spec.canary_version]))
    return tuple(steps)


# ---- the core -------------------------------------------------------------------------------------------


def _reconcile(spec: CanaryPolicySpec, old: CanaryPolicySpec | None, live: LiveRoute) -> Plan:
    route_step, creating = _route_step(spec, old, live)
    doomed = _deployments_to_delete(spec, live)
    removed = _versions_to_remove(spec, old, live)
    target = _target_weights(spec, old, live, creating, losing=[*removed, *doomed])
    steps: list[Step] = [*route_step, *_ensure_versions(spec, live, spec.versions)]
    if creating:
        steps.extend(_waits(spec, live, target))
        steps.append(CreateRoute(spec.route, target))
    else:
        steps.extend(_move_weights(spec, live, target))
        steps.extend(_drain(spec, live, [*removed, *doomed]))
    steps.extend(RemoveVersion(version) for version in removed)
    steps.extend(DeleteCanaryDeployment(version) for version in doomed)
    steps.extend(_release_promoted(spec, live))
    steps.extend(_apply_deployment(spec, live))
    return tuple(steps)


def _route_step(
    spec: CanaryPolicySpec, old: CanaryPolicySpec | None, live: LiveRoute
) -> tuple[list[Step], bool]:
    """The step that makes the route ours and current, and whether the route must be created.

    On update an ``unowned`` route (found by the stored id but without our marker: edited by hand) is
    treated as ours: adopting it again would overwrite the snapshot that delete restores.
    """
    if live.route_id is None:
        if spec.route.path is None:
            raise PreconditionError(
                f"no route named {spec.route.name!r} was found to adopt; check route.name, "
                "or give route.path so that the policy can create a route"
            )
        return [], True
    if live.owner == "other":
        raise _foreign_route(live)
    if old is None and live.owner == "unowned":
        return [AdoptRoute(live.route_id, spec.route)], False
    if old is not None and (old.route != spec.route or old.gateway != spec.gateway):
        # In-place gateway changes (hostnames, Istio hosts/gateways, the MSE endpoint) rewrite the route.
        return [UpdateRoute(live.route_id, spec.route)], False
    return [], False


def _ensure_versions(spec: _VersionedSpec, live: LiveRoute, versions: Iterable[str]) -> list[Step]:
    steps: list[Step] = []
    for version in versions:
        labels = spec.version_labels(version)
        current = live.versions.get(version)
        if current is None or dict(current) != labels:
            steps.append(EnsureVersion(version, labels))
    return steps


def _versions_to_remove(spec: CanaryPolicySpec, old: CanaryPolicySpec | None, live: LiveRoute) -> list[str]:
    """Versions this policy declared before and no longer does. Versions it never declared are not its
    to remove (on MSE other routes of the same service may use them)."""
    if old is None:
        return []
    return [version for version in old.versions if version not in spec.versions and version in live.versions]


def _deployments_to_delete(spec: CanaryPolicySpec, live: LiveRoute) -> list[str]:
    """Owned Deployments that serve neither the stable version nor the declared canary Deployment."""
    wanted = {spec.stable_version}
    if spec.canary_deployment is not None:
        wanted.add(spec.canary_version)
    return sorted(version for version in live.deployments if version not in wanted)


def _release_promoted(spec: CanaryPolicySpec, live: LiveRoute) -> list[Step]:
    """A Deployment the policy created that now serves stable is the user's workload, no longer a canary
    the policy manages: it is released the moment the promotion lands."""
    if spec.stable_version in live.deployments:
        return [ReleaseCanaryDeployment(spec.stable_version)]
    return []


def _target_weights(
    spec: CanaryPolicySpec,
    old: CanaryPolicySpec | None,
    live: LiveRoute,
    creating: bool,
    losing: list[str],
) -> dict[str, int]:
    resting = {spec.stable_version: 100, spec.canary_version: 0}
    if creating or old is None or old.versions != spec.versions:
        return resting
    current = dict(live.weights)
    if not _valid_split(current, spec.versions) or any(current.get(version, 0) > 0 for version in losing):
        return resting
    return current


def _valid_split(weights: Mapping[str, int], versions: tuple[str, str]) -> bool:
    return set(weights) == set(versions) and sum(weights.values()) == 100 and min(weights.values()) >= 0


def _waits(
    spec: _VersionedSpec,
    live: LiveRoute,
    target: Mapping[str, int],
    minimums: Mapping[str, int] | None = None,
) -> list[Step]:
    if spec.allow_unready:
        return []
    minimums = minimums or {}
    return [
        WaitReady(version, minimums.get(version, MIN_READY_ENDPOINTS), spec.readiness_timeout_seconds)
        for version, percent in target.items()
        if percent > live.weight(version)
    ]


def _move_weights(
    spec: _VersionedSpec,
    live: LiveRoute,
    target: Mapping[str, int],
    minimums: Mapping[str, int] | None = None,
) -> list[Step]:
    """Set ``target``, once every version whose share rises has ``minimums`` ready endpoints (one by
    default)."""
    if dict(live.weights) == dict(target):
        return []
    return [*_waits(spec, live, target, minimums), SetWeights(dict(target))]


def _drain(spec: _VersionedSpec, live: LiveRoute, versions: Iterable[str]) -> list[Step]:
    """A ``Drain`` for those of ``versions`` the gateway may have been serving before this plan."""
    return _drain_all(spec, [version for version in versions if live.may_serve(version)])


def _drain_all(spec: _VersionedSpec, versions: Iterable[str]) -> list[Step]:
    serving = tuple(sorted(set(versions)))
    if not serving or spec.drain_seconds == 0:
        return []
    return [Drain(serving, spec.drain_seconds)]


def _removed_versions(steps: Iterable[Step]) -> list[str]:
    """The versions whose definition or pods these steps take away."""
    removed: list[str] = []
    for step in steps:
        if isinstance(step, RemoveVersion):
            removed.append(step.name)
        elif isinstance(step, DeleteCanaryDeployment):
            removed.append(step.version)
    return removed


def _apply_deployment(spec: CanaryPolicySpec, live: LiveRoute) -> list[Step]:
    desired, version = spec.canary_deployment, spec.canary_version
    if desired is None:
        return []
    current = live.deployments.get(version)
    if current is None and live.ready(version) > 0:
        raise PreconditionError(second_deployment_reason(spec.label_key, version))
    if current is not None and desired.match_traffic_weight:
        # The split scales it with the weight (and to a raised fewest): the policy sends the replicas it
        # has, so that its apply never contends with the split's scaling.
        desired = desired.model_copy(update={"replicas": current.replicas})
    if current is not None and (current.image, current.replicas) == (desired.image, desired.replicas):
        return []
    return [ApplyCanaryDeployment(desired, version, spec.stable_version, spec.version_labels(version))]


def second_deployment_reason(label_key: str, version: str) -> str:
    """Why ``canary_deployment`` is refused when pods the policy does not manage already carry the
    canary's label value (the preview check and the plan say the same)."""
    return (
        f"pods labelled {label_key}={version} already serve version {version} and this policy does not "
        f"manage them, so canary_deployment would add a second Deployment behind the same version: "
        f"remove canary_deployment (those pods are the canary), or choose a new canary_version"
    )


def _undeploy(spec: CanaryPolicySpec, live: LiveRoute, keep: set[str]) -> list[Step]:
    serving = keep | {spec.stable_version}
    return [
        ReleaseCanaryDeployment(version) if version in serving else DeleteCanaryDeployment(version)
        for version in sorted(live.deployments)
    ]


def _restorable(live: LiveRoute, original: RouteSnapshot | None) -> bool:
    """An adopted route can go back as it was only if everything it pointed at can still serve."""
    return original is not None and all(
        version in live.versions and live.ready(version) >= MIN_READY_ENDPOINTS
        for version in original.referenced_versions
    )


def _versions_to_keep(live: LiveRoute, restoring: RouteSnapshot | None, managed: bool) -> set[str]:
    """Versions a policy delete must leave defined (and whose Deployments it releases, not deletes)."""
    keep = set(restoring.referenced_versions) if restoring is not None else set()
    if live.exists and not managed:
        keep |= set(live.weights)  # never pull a version from under a route that is not ours
    return keep


def _route_teardown(live: LiveRoute, original: RouteSnapshot | None, restorable: bool) -> list[Step]:
    if live.route_id is None:
        return []
    if original is None:
        return [DeleteRoute(live.route_id)]
    if restorable:
        return [RestoreRoute(original)]
    return [ReleaseRoute(live.route_id)]


def _require_policy_route(spec: TrafficSplitSpec, live: LiveRoute) -> None:
    if not live.exists:
        raise PreconditionError(
            f"the route of CanaryPolicy {spec.policy!r} does not exist: "
            "create the policy before its TrafficSplit"
        )
    if live.owner == "other":
        raise _foreign_route(live)
    if live.owner != "self":
        raise PreconditionError(
            f"route {live.route_id} does not carry the ownership marker of CanaryPolicy {spec.policy!r}: "
            "refresh and update the policy first"
        )
    missing = [version for version in spec.versions if version not in live.versions]
    if missing:
        raise PreconditionError(
            f"version(s) {', '.join(missing)} of CanaryPolicy {spec.policy!r} are not defined on the "
            "gateway: update the policy first (a split follows its policy's versions)"
        )


def _foreign_route(live: LiveRoute) -> OwnershipError:
    return OwnershipError(
        f"route {live.route_id} is owned by another resource or stack; pulumi-canary does not take it over: "
        "release it there first, or give this policy a different route"
    )
