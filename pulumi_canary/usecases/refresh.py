"""A ``pulumi refresh`` reads each route once.

The engine reads every resource, and a policy and its split both report the same route (its weights,
its versions, its last rollout). Whichever of the two reads first hands its answer to the other, so 200
pairs cost 200 route reads, not 400. The answer is the gateway's view without counting ready pods, which
is what both report; it is handed on once and within a minute (one refresh), never kept longer.
"""

from __future__ import annotations

from ..drivers.factory import Session, VersionedSpec
from ..drivers.memo import HandOff
from ..model import LiveRoute

__all__ = ["refreshed_route"]

_ROUTES = HandOff(window_seconds=60.0)


def refreshed_route(session: Session, spec: VersionedSpec, route_id: str | None) -> LiveRoute:
    """The route of ``spec`` as the gateway has it now, read once for the policy and the split."""
    key = (
        session.context.owner,
        route_id,
        spec.gateway.model_dump_json(),
        spec.service.model_dump_json(),
        spec.route.model_dump_json(),
        spec.label_key,
        spec.versions,
    )
    return _ROUTES.read(key, lambda: session.gateway.live(spec.route, route_id, readiness=False))
