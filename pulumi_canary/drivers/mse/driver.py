"""``MseDriver``: the executor's ``GatewayDriver`` for one MSE gateway, one service and one owner, and
``open_driver``, which the factory calls to build it (the gateway registry names it).

It composes the API boundary (:mod:`.client`), the service and its versions (:mod:`.services`), the
routes (:mod:`.routes`) and the header route (:mod:`.header_routes`), and holds the writes that combine
them. Writes that create something (routes, versions) first look for what an earlier, timed-out attempt
may have made.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from ...errors import ApiError
from ...model import CanaryPolicySpec, MseGatewaySpec, RouteMatchSpec, ServiceRefSpec, TrafficSplitSpec
from ...model.live import LiveRoute, RouteSnapshot
from ...model.numbers import whole_numbers
from ...model.rollout import RolloutRecord
from ..context import DriverContext
from ..credentials import AlibabaCredentials
from .client import MseApi
from .header_routes import HeaderRoutes
from .routes import GatewayRoutes
from .services import GatewayService
from .wire import (
    adopted_description,
    decode_restore_copy,
    has_unpublished_edit,
    is_published,
    owner_marker,
    owner_of,
    predicates,
    rollout_of,
    route_name_for,
    route_services,
    with_rollout,
)


class MseDriver:
    """One gateway, one service, one owner; builds an SDK client on first use (never pickled)."""

    def __init__(
        self,
        gateway: MseGatewaySpec,
        service: ServiceRefSpec,
        credentials: AlibabaCredentials,
        owner: str,
        canary_version: str,
        route: RouteMatchSpec | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.gateway = gateway
        self.service = service
        self.canary_version = canary_version
        # The declared route: its canary_headers ask for a header route next to the main one.
        self.route = route
        self.owner = owner
        # One API (so one read memo) and one service (so one remembered id) shared by every part.
        self._api = MseApi(gateway, credentials, sleep)
        self._service = GatewayService(self._api, service, sleep)
        self._routes = GatewayRoutes(self._api, self._service, owner)
        self._header_routes = HeaderRoutes(self._routes, self._service, owner, canary_version)

    def call(self, action: str, params: Mapping[str, Any], *, fresh: bool = False) -> Any:
        """Call ``action`` with wire-shaped ``params``; returns the response body's ``Data``."""
        return self._api.call(action, params, fresh=fresh)

    # ---- reading ------------------------------------------------------------------------------------

    def missing_gateways(self) -> list[tuple[str, str]]:
        if self._api.uses_default_chain:
            # Without keys in the config or the environment, asking would send the credentials chain to
            # the ECS metadata service from every preview; the operations themselves ask it.
            return []
        try:
            self.call("GetGateway", self._api.base())
        except ApiError as error:
            # Only the gateway's own NotFound: an unknown AccessKey answers 404 too, with its own code.
            if error.code == "NotFound" or error.code.startswith("NotFound."):
                return [("gateway_id", self._missing_gateway_reason())]
            raise
        return []

    def _missing_gateway_reason(self) -> str:
        where = self.gateway.endpoint or f"region {self.gateway.region}"
        return (
            f"MSE gateway {self.gateway.gateway_id} does not exist in {where}, or these credentials cannot "
            "see it: check gateway_id (the gateway's unique id, gw-...) and region"
        )

    def versions_and_endpoints(
        self, *, fresh: bool = False
    ) -> tuple[dict[str, dict[str, str]], dict[str, int]]:
        return self._service.versions_and_endpoints(fresh=fresh)

    def live(self, match: RouteMatchSpec, route_id: str | None, *, readiness: bool = True) -> LiveRoute:
        # ``readiness`` changes nothing here: GetGatewayServiceDetail answers versions and ready endpoints
        # together.
        route = self._routes.route_detail(route_id) if route_id else None
        if route is None:
            found = self._routes.find_route(match)
            route = self._routes.route_detail(found) if found else None
        if route is not None:
            self._service.learn_id_from(route)
        versions, ready = self._service.versions_and_endpoints()
        if route is None:
            return LiveRoute(versions=versions, ready_endpoints=ready)
        owner = owner_of(route.get("Description"), self.owner)
        found_id = str(route["Id"])
        return LiveRoute(
            route_id=found_id,
            owner=owner,
            versions=versions,
            # An edit that was never published (ApplyGatewayRoute failed) is not what the gateway serves:
            # report no weights, so that the plan writes and publishes them again, and say that what it
            # does serve is unknown, so that nothing is removed without a drain.
            weights=self._routes.weights(route) if is_published(route) else {},
            unapplied_edit=has_unpublished_edit(route),
            ready_endpoints=ready,
            original=decode_restore_copy(route.get("Description"), found_id) if owner == "self" else None,
            rollout=rollout_of(route.get("Description")) if owner == "self" else None,
        )

    def wait_ready(self, version: str, minimum: int, timeout_seconds: float) -> int:
        return self._service.wait_ready(version, minimum, timeout_seconds)

    # ---- versions -----------------------------------------------------------------------------------

    def ensure_versions(self, wanted: Mapping[str, Mapping[str, str]]) -> None:
        self._service.ensure_versions(wanted)

    def remove_version(self, name: str) -> None:
        versions, _ = self._service.versions_and_endpoints()
        if name not in versions:
            return
        self._header_routes.delete_routes_to(name)
        if self._routes.version_in_use(name):
            return  # another route of this service still uses it: MSE versions are shared
        self._service.delete_version(name, versions[name])

    # ---- routes -------------------------------------------------------------------------------------

    def create_route(self, match: RouteMatchSpec, weights: Mapping[str, int]) -> str:
        route_id = self._routes.own_route(match)  # an earlier attempt may have created it already
        if route_id is None:
            params = {
                **self._api.base(),
                "Name": match.name or route_name_for(self.service, self.owner),
                "Predicates": predicates(match),
                "DestinationType": "VersionOriented",
                "Services": route_services(self.service, self._service.service_id(), weights),
                "DomainIdListJSON": "[]",
                "Description": owner_marker(self.owner),
            }
            try:
                route_id = str(self._api.call("AddGatewayRoute", params))
            except ApiError:
                # A timed-out attempt may have created it; its retry then reads Duplicate.RouteName.
                route_id = self._routes.own_route(match)
                if route_id is None:
                    raise
            else:
                if not match.canary_headers:
                    # Just added with these weights, and no header route can belong to a route this new.
                    self._routes.publish(int(route_id))
                    return route_id
        self.set_weights(route_id, weights)  # publishes a new route; corrects one an earlier attempt left
        self._header_routes.sync_header_route(match, self._routes.require_route(route_id))
        return route_id

    def adopt_route(self, route_id: str, match: RouteMatchSpec) -> RouteSnapshot:
        route = self._routes.require_route(route_id)
        original = self._routes.snapshot_of(route)
        # The copy goes onto the route in the same write that marks it ours: if anything later fails and
        # Pulumi records nothing, the next run still knows the route was adopted and how to restore it.
        changes: dict[str, Any] = {"Description": adopted_description(self.owner, original)}
        if match.path is not None:
            changes["Predicates"] = predicates(match)
        self._routes.rewrite_route(route, changes)
        versions, _ = self._service.versions_and_endpoints()
        # A header route needs the canary version, defined only after the adoption: set_weights adds it.
        if not match.canary_headers or self.canary_version in versions:
            self._header_routes.sync_header_route(match, self._routes.require_route(route_id))
        return original

    def update_route(self, route_id: str, match: RouteMatchSpec) -> None:
        route = self._routes.require_route(route_id)
        self._routes.rewrite_route(route, {"Predicates": predicates(match)})
        self._header_routes.sync_header_route(match, self._routes.require_route(route_id))

    def set_weights(self, route_id: str, weights: Mapping[str, int]) -> None:
        route = self._routes.require_route(route_id)
        if self._routes.weights(route) == dict(weights) and route.get("DestinationType") == "VersionOriented":
            if not is_published(route):
                self._routes.publish(int(route["Id"]))  # written by an attempt whose publish failed
        else:
            services = route_services(self.service, self._service.service_id(), weights)
            self._routes.rewrite_route(route, {"DestinationType": "VersionOriented", "Services": services})
        if self.route is not None and self.route.canary_headers and self.canary_version in weights:
            # Every version of a SetWeights is defined: the header route can be made (after an adoption),
            # or follow the new canary (after a promotion).
            self._header_routes.sync_header_route(self.route, route)  # its name and path are unchanged

    def restore_route(self, original: RouteSnapshot) -> None:
        route = self._routes.require_route(original.route_id)
        self._header_routes.delete_header_route(route)
        data = whole_numbers(original.data)
        # Two writes: the original destinations are published while the route still carries our marker,
        # and only then is it handed back. Should publishing fail, the route is still ours and the next
        # run restores it again, instead of leaving an unpublished restore that nobody owns.
        self._routes.rewrite_route(
            route,
            {
                "Predicates": data.get("Predicates") or {},
                "Services": data.get("Services") or [],
                "DestinationType": data.get("DestinationType"),
            },
        )
        self._routes.rewrite_route(
            self._routes.require_route(original.route_id), {"Description": data.get("Description") or ""}
        )

    def release_route(self, route_id: str) -> None:
        route = self._routes.route_detail(route_id)
        if route is not None:
            self._header_routes.delete_header_route(route)
            self._routes.rewrite_route(route, {"Description": ""})

    def record_rollout(self, route_id: str, record: RolloutRecord) -> None:
        route = self._routes.require_route(route_id)
        described = with_rollout(route.get("Description") or "", record)
        self._routes.rewrite_route(route, {"Description": described})

    def delete_route(self, route_id: str) -> None:
        route = self._routes.route_detail(route_id)
        if route is not None:
            self._header_routes.delete_header_route(route)
            self._routes.delete_route_detail(route)


def open_driver(spec: CanaryPolicySpec | TrafficSplitSpec, context: DriverContext) -> MseDriver:
    """The driver of one operation; credentials come from the stack config or the environment."""
    if not isinstance(spec.gateway, MseGatewaySpec):
        raise TypeError(f"the MSE driver cannot drive a {spec.gateway.kind!r} gateway")
    credentials = AlibabaCredentials.resolve(context.config)
    return MseDriver(
        spec.gateway,
        spec.service,
        credentials,
        context.owner,
        spec.canary_version,
        spec.route,
    )
