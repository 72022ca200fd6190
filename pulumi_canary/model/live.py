"""The live state a driver reports, as plain frozen values the planner can reason about.

A driver reads its gateway (MSE route and service versions, HTTPRoute and per-version Services, or
VirtualService and DestinationRule subsets) and the canary Deployments the policy owns, and reports them
as one :class:`LiveRoute`. Nothing here knows which gateway it came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .rollout import RolloutRecord

__all__ = ["LiveDeployment", "LiveRoute", "RouteOwner", "RouteSnapshot"]

RouteOwner = Literal["self", "unowned", "other"]
"""Who owns the route: this resource (its ownership marker), nobody (adoptable), or another resource."""


@dataclass(frozen=True)
class LiveDeployment:
    """A canary Deployment owned by this policy (found by its ownership labels), keyed by version."""

    image: str
    replicas: int


@dataclass(frozen=True)
class RouteSnapshot:
    """An adopted route as it was before the policy took it over, kept in the policy's outputs.

    ``data`` is the driver's own JSON-able description of the route (MSE destinations, HTTPRoute rule
    backendRefs, VirtualService route) and is opaque to the planner. ``referenced_versions`` names the
    versions that the original route sends traffic to (empty when it targets the whole Service): the
    planner restores the route only while all of them still exist and have ready endpoints.
    """

    route_id: str
    referenced_versions: tuple[str, ...] = ()
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_props(self) -> dict[str, Any]:
        """A JSON-able dict to store among the policy's outputs."""
        return {
            "route_id": self.route_id,
            "referenced_versions": list(self.referenced_versions),
            "data": dict(self.data),
        }

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> RouteSnapshot:
        """Read back what :meth:`to_props` stored; raises ``ValueError`` if the stored value is damaged."""
        route_id, versions, data = (
            props.get("route_id"),
            props.get("referenced_versions", []),
            props.get("data", {}),
        )
        if (
            not isinstance(route_id, str)
            or not isinstance(versions, list | tuple)
            or not isinstance(data, Mapping)
        ):
            raise ValueError(f"the saved original route is damaged: {dict(props)!r}")
        if not all(isinstance(version, str) for version in versions):
            raise ValueError(f"the saved original route names versions that are not strings: {versions!r}")
        return cls(route_id=route_id, referenced_versions=tuple(versions), data=dict(data))


@dataclass(frozen=True)
class LiveRoute:
    """What a driver found on its gateway for one policy's route. Treat the mappings as read-only.

    - ``route_id``: the route (MSE route id, HTTPRoute or VirtualService name); None when there is none.
    - ``owner``: whether the route carries this policy's ownership marker (``self``), none (``unowned``,
      so it may be adopted) or another resource's (``other``). For a TrafficSplit, ``self`` means its
      policy's marker. Meaningless when ``route_id`` is None.
    - ``versions``: every version defined for the service, name -> pod labels it selects.
    - ``weights``: the route's percentage per version; empty when the route does not split by version
      (e.g. an adopted route that sends to the whole Service).
    - ``ready_endpoints``: ready endpoints per version name (label value); drivers should count versions
      not yet defined on the gateway too when they can (pods carrying the label).
    - ``deployments``: the canary Deployments this policy owns, by version.
    - ``original``: the pre-adoption snapshot when the driver stores it WITH the route (an annotation on
      an HTTPRoute or VirtualService). Outputs are lost when a create fails after ``AdoptRoute``, so
      without this a later delete could not tell an adopted route from a created one.
    - ``unapplied_edit``: the route was edited but the edit never took effect (an MSE route whose
      ApplyGatewayRoute failed): the gateway still serves an earlier state whose weights are unknown, so
      any version may still receive traffic.
    - ``rollout``: how the last rollout of a TrafficSplit on this route ended, as recorded on the route.
    - ``stable_replicas``: the replicas the stable version's Deployment declares; read only for a
      TrafficSplit whose canary's replicas follow the weight (0 otherwise).
    """

    route_id: str | None = None
    owner: RouteOwner = "unowned"
    versions: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    weights: Mapping[str, int] = field(default_factory=dict)
    ready_endpoints: Mapping[str, int] = field(default_factory=dict)
    deployments: Mapping[str, LiveDeployment] = field(default_factory=dict)
    original: RouteSnapshot | None = None
    unapplied_edit: bool = False
    rollout: RolloutRecord | None = None
    stable_replicas: int = 0

    @property
    def exists(self) -> bool:
        """Whether the route exists."""
        return self.route_id is not None

    def weight(self, version: str) -> int:
        """The route's percentage for ``version`` (0 when it is not on the route)."""
        return self.weights.get(version, 0)

    def may_serve(self, version: str) -> bool:
        """Whether the gateway may send ``version`` requests now (its weight, or an unapplied edit)."""
        return self.weight(version) > 0 or (self.exists and self.unapplied_edit)

    def ready(self, version: str) -> int:
        """Ready endpoints of ``version`` (0 when unknown)."""
        return self.ready_endpoints.get(version, 0)
