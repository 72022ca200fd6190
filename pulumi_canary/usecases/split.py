"""Apply, delete and read a TrafficSplit: the percentages of its policy's two versions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NoReturn

from ..drivers.factory import Session, open_session
from ..errors import AnalysisFailedError
from ..model import (
    LiveRoute,
    TrafficSplitSpec,
    plan_delete_split,
    plan_rollback,
    plan_split,
    rollback_weights,
    weights_after,
)

__all__ = ["apply_split", "delete_split", "drifted_inputs", "read_split"]


def apply_split(spec: TrafficSplitSpec, owner: str, config: Mapping[str, str]) -> dict[str, int]:
    """Set the declared weights (waiting for ready endpoints first, walking the rollout steps of a rise
    with their analysis); returns the route's weights.

    When an analysis fails, the route goes back at once to where the rollout began (see
    ``rollback_weights``), and ``AnalysisFailedError`` is raised again, saying so."""
    session = open_session(spec, config, owner)
    live = _live(session, spec)
    plan = plan_split(spec, live)
    try:
        session.run(plan, live.route_id)
    except AnalysisFailedError as failure:
        _roll_back(session, spec, rollback_weights(spec, live.weights), failure)
    return weights_after(plan, live.weights)


def _roll_back(
    session: Session, spec: TrafficSplitSpec, weights: dict[str, int], failure: AnalysisFailedError
) -> NoReturn:
    live = _live(session, spec)  # read again: the walk wrote since (a write clears the read memo)
    session.run(plan_rollback(spec, live, weights), live.route_id)
    back = ", ".join(f"{version}={percent}%" for version, percent in weights.items())
    raise AnalysisFailedError(
        failure.version,
        failure.percent,
        f"{failure.verdict}. The route went back to {back}, where the rollout began. Fix the canary, then "
        "`pulumi up` again to walk the steps anew (or lower the canary's weight)",
    ) from None


def delete_split(spec: TrafficSplitSpec, owner: str, config: Mapping[str, str]) -> None:
    """Send all traffic back to the stable version."""
    session = open_session(spec, config, owner)
    live = _live(session, spec)
    session.run(plan_delete_split(spec, live), live.route_id)


def read_split(spec: TrafficSplitSpec, owner: str, config: Mapping[str, str]) -> dict[str, int] | None:
    """The route's weights now, or None when the route is gone."""
    live = _live(open_session(spec, config, owner), spec)
    return None if live.route_id is None else dict(live.weights)


def drifted_inputs(spec: TrafficSplitSpec, live_weights: Mapping[str, int]) -> dict[str, object]:
    """The inputs as the live route has them, in the form the split declared them (``weights`` or
    ``canary_weight``), so that the next preview shows the declared weights coming back."""
    if spec.weights is not None:
        return {"weights": dict(live_weights)}
    return {"canary_weight": live_weights.get(spec.canary_version, 0)}


def _live(session: Session, spec: TrafficSplitSpec) -> LiveRoute:
    # A split's plans look at weights and versions only; the wait before a weight rises reads the
    # ready pods itself. Not counting them here saves a Kubernetes gateway a list of pods.
    return session.gateway.live(spec.route, spec.route_id, readiness=False)
