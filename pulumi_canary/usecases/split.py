"""Apply, delete and read a TrafficSplit: the percentages of its policy's two versions."""

from __future__ import annotations

from collections.abc import Mapping

from ..drivers.factory import Session, open_session
from ..model import LiveRoute, TrafficSplitSpec, plan_delete_split, plan_split, weights_after

__all__ = ["apply_split", "delete_split", "drifted_inputs", "read_split"]


def apply_split(spec: TrafficSplitSpec, owner: str, config: Mapping[str, str]) -> dict[str, int]:
    """Set the declared weights (waiting for ready endpoints first); returns the route's weights."""
    session = open_session(spec, config, owner)
    live = _live(session, spec)
    plan = plan_split(spec, live)
    session.run(plan, live.route_id)
    return weights_after(plan, live.weights)


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
