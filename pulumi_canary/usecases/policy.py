"""Create, update, delete and read a CanaryPolicy: read the live route, plan, run the plan."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..drivers.factory import Session, open_session
from ..model import (
    CanaryPolicySpec,
    LiveRoute,
    RouteSnapshot,
    plan_create_policy,
    plan_delete_policy,
    plan_update_policy,
    version_object_name,
    weights_after,
)
from .refresh import refreshed_route

__all__ = ["PolicyState", "create_policy", "delete_policy", "read_policy", "update_policy"]


@dataclass(frozen=True)
class PolicyState:
    """What a policy keeps besides its inputs: where its route is and what it wrote there."""

    owner: str
    route_id: str | None
    original: RouteSnapshot | None
    """The adopted route as it was before, to restore on delete (None for a route the policy created)."""
    weights: Mapping[str, int]
    canary_deployment_name: str | None


def create_policy(spec: CanaryPolicySpec, owner: str, config: Mapping[str, str]) -> PolicyState:
    session = open_session(spec, config, owner)
    live = _live(session, spec, None)
    plan = plan_create_policy(spec, live)
    # A route adopted by an earlier, failed create carries its restore copy (Pulumi kept no outputs).
    outcome = session.run(plan, live.route_id, live.original)
    return _state(spec, owner, outcome.route_id, outcome.original, weights_after(plan, live.weights))


def update_policy(
    old: CanaryPolicySpec, new: CanaryPolicySpec, stored: PolicyState, config: Mapping[str, str]
) -> PolicyState:
    session = open_session(new, config, stored.owner)
    live = _live(session, new, stored.route_id, old)
    plan = plan_update_policy(old, new, live)
    outcome = session.run(plan, live.route_id, stored.original or live.original)
    return _state(new, stored.owner, outcome.route_id, outcome.original, weights_after(plan, live.weights))


def delete_policy(spec: CanaryPolicySpec, stored: PolicyState, config: Mapping[str, str]) -> None:
    session = open_session(spec, config, stored.owner)
    # Every Deployment the policy still owns is released or deleted, even one its spec no longer
    # declares (a promotion by an earlier version of pulumi-canary kept the promoted one).
    live = _live(session, spec, stored.route_id, owns_deployments=True)
    session.run(plan_delete_policy(spec, live, stored.original), live.route_id, stored.original)


def read_policy(
    spec: CanaryPolicySpec, owner: str, route_id: str | None, config: Mapping[str, str], *, readiness: bool
) -> LiveRoute:
    """The live route of the policy (``route_id`` None when it is gone). ``readiness=False`` skips
    counting ready pods (a refresh reports weights and versions only; counting costs a list of pods), and
    takes the route its split read in the same refresh, if it read first."""
    session = open_session(spec, config, owner)
    if readiness:
        return _live(session, spec, route_id)
    live = refreshed_route(session, spec, route_id)
    return session.with_deployments(live, spec.versions, owns_deployments=spec.canary_deployment is not None)


def _live(
    session: Session,
    spec: CanaryPolicySpec,
    route_id: str | None,
    old: CanaryPolicySpec | None = None,
    *,
    readiness: bool = True,
    owns_deployments: bool = False,
) -> LiveRoute:
    versions = [*spec.versions, *(old.versions if old else ())]
    # Only a policy that declares (or declared) a canary_deployment owns Deployments to look for.
    owns = owns_deployments or any(s is not None and s.canary_deployment is not None for s in (spec, old))
    return session.read(spec.route, route_id, versions, owns_deployments=owns, readiness=readiness)


def _state(
    spec: CanaryPolicySpec,
    owner: str,
    route_id: str | None,
    original: RouteSnapshot | None,
    weights: Mapping[str, int],
) -> PolicyState:
    deployment = (
        version_object_name(spec.service.name, spec.canary_version) if spec.canary_deployment else None
    )
    return PolicyState(owner, route_id, original, dict(weights), deployment)
