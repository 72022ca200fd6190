"""Apply, delete and read a TrafficSplit: the percentages of its policy's two versions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import NoReturn

from ..drivers.executor import progress
from ..drivers.factory import Session, open_session
from ..errors import CanaryError, RolloutFailedError
from ..model import (
    LiveRoute,
    RolloutRecord,
    TrafficSplitSpec,
    plan_delete_split,
    plan_rollback,
    plan_split,
    resumes_walk,
    rollback_weights,
    weights_after,
)
from ..model.rollout import MAX_DETAIL, RolloutStatus
from .refresh import refreshed_route

__all__ = ["SplitState", "apply_split", "delete_split", "drifted_inputs", "read_split"]


@dataclass(frozen=True)
class SplitState:
    """What a split's outputs report: the route's weights, and how its last rollout ended."""

    weights: dict[str, int]
    rollout: RolloutRecord | None


def apply_split(spec: TrafficSplitSpec, owner: str, config: Mapping[str, str]) -> SplitState:
    """Set the declared weights (waiting for ready endpoints first, walking the rollout steps of a rise
    with their webhooks and analysis, within the progress deadline).

    A rollout's end is recorded on the route. When it fails, the route goes back at once to where the
    rollout began (see ``rollback_weights``), and the error is raised again, saying so; the next update
    to the same target is refused until ``retry`` is raised (see ``plan_split``)."""
    session = open_session(spec, config, owner)
    live = _live(session, spec)
    plan = plan_split(spec, live)
    target = spec.resolved_weights()[spec.canary_version]
    walks = spec.is_rollout and target > live.weight(spec.canary_version)
    if walks and resumes_walk(spec, live):
        progress(
            f"the route stands at the {live.weight(spec.canary_version)}% step, where an earlier `up` "
            f"stopped before its hold or analysis ended: holding it again, then on to {target}%"
        )
    try:
        outcome = session.run(plan, live.route_id, deadline_seconds=spec.progress_deadline_seconds)
    except RolloutFailedError as failure:
        _roll_back(session, spec, live, failure)
    weights = weights_after(plan, live.weights)
    if not walks or live.route_id is None:
        return SplitState(weights, live.rollout)
    record = _record(spec, "succeeded", target, outcome.last_analysis or "every step was held")
    session.gateway.record_rollout(live.route_id, record)
    return SplitState(weights, record)


def _roll_back(
    session: Session, spec: TrafficSplitSpec, began: LiveRoute, failure: RolloutFailedError
) -> NoReturn:
    weights = rollback_weights(spec, began)
    live = _live(session, spec)  # read again: the walk wrote since (a write clears the read memo)
    session.run(plan_rollback(spec, live, weights), live.route_id)
    back = ", ".join(f"{version}={percent}%" for version, percent in weights.items())
    if resumes_walk(spec, began):
        back += " (all to stable: this `up` resumed a walk an earlier one began, from weights not kept)"
    else:
        back += ", where the rollout began"
    record = _record(spec, "failed", failure.percent, failure.verdict)
    retry = f"set retry={spec.retry + 1} on the TrafficSplit and `pulumi up` to walk the steps anew"
    try:
        if live.route_id is not None:
            session.gateway.record_rollout(live.route_id, record)
    except CanaryError as error:  # the rollback stands; only the memory of it is missing
        retry += f" (the failure could not be recorded on the route, so the next `up` walks anyway: {error})"
    raise type(failure)(
        failure.version,
        failure.percent,
        f"{failure.verdict}. The route went back to {back}. Fix the canary, then "
        f"{retry}; or lower the canary's weight",
    ) from None


def _record(spec: TrafficSplitSpec, status: RolloutStatus, percent: int, detail: str) -> RolloutRecord:
    """How the rollout to the split's target ended, at the canary's ``percent``."""
    return RolloutRecord(
        status=status,
        canary_version=spec.canary_version,
        target=spec.resolved_weights()[spec.canary_version],
        percent=percent,
        retry=spec.retry,
        detail=detail[:MAX_DETAIL],
        at=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    )


def delete_split(spec: TrafficSplitSpec, owner: str, config: Mapping[str, str]) -> None:
    """Send all traffic back to the stable version."""
    session = open_session(spec, config, owner)
    live = _live(session, spec)
    session.run(plan_delete_split(spec, live), live.route_id)


def read_split(spec: TrafficSplitSpec, owner: str, config: Mapping[str, str]) -> SplitState | None:
    """The route's weights and last rollout now, or None when the route is gone (the route its policy
    read in the same refresh, if it read first)."""
    live = refreshed_route(open_session(spec, config, owner), spec, spec.route_id)
    return None if live.route_id is None else SplitState(dict(live.weights), live.rollout)


def drifted_inputs(spec: TrafficSplitSpec, live_weights: Mapping[str, int]) -> dict[str, object]:
    """The inputs as the live route has them, in the form the split declared them (``weights`` or
    ``canary_weight``), so that the next preview shows the declared weights coming back."""
    if spec.weights is not None:
        return {"weights": dict(live_weights)}
    return {"canary_weight": live_weights.get(spec.canary_version, 0)}


def _live(session: Session, spec: TrafficSplitSpec) -> LiveRoute:
    # A split's plans look at weights and versions only; the wait before a weight rises reads the
    # ready pods itself. Not counting them here saves a Kubernetes gateway a list of pods.
    if spec.canary_min_replicas is None:
        return session.gateway.live(spec.route, spec.route_id, readiness=False)
    # Its canary's replicas follow the weight: the plan needs them and the stable version's.
    live = session.read(spec.route, spec.route_id, spec.versions, owns_deployments=True, readiness=False)
    workloads = session.workloads
    if workloads is None or spec.canary_version not in live.deployments:
        return live
    return replace(live, stable_replicas=workloads.stable_replicas(session.target, spec.stable_version))
