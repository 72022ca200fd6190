"""Header-based canary routing: a second route, the main route's path plus header predicates, canary only.

Requests carrying the policy's ``canary_headers`` go to the canary version whatever the weights. The
companion route is named after the main route (``...-hdr``) and marked ``pulumi-canary:<owner>#canary-
headers`` in its Description.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...errors import ApiError
from ...model import RouteMatchSpec
from .routes import GatewayRoutes
from .services import GatewayService
from .wire import (
    header_route_marker,
    header_route_name,
    is_published,
    predicates,
    route_predicates,
    route_services,
)


class HeaderRoutes:
    """The canary-header companion of one owner's main route."""

    def __init__(
        self, routes: GatewayRoutes, gateway_service: GatewayService, owner: str, canary_version: str
    ) -> None:
        self.routes = routes
        self.gateway_service = gateway_service
        self.owner = owner
        self.canary_version = canary_version

    def _canary_only(self) -> list[dict[str, Any]]:
        service = self.gateway_service
        return route_services(service.service, service.service_id(), {self.canary_version: 100})

    def own_header_route(self, main_route: Mapping[str, Any]) -> dict[str, Any] | None:
        name = header_route_name(str(main_route["Name"]))
        for route in self.routes.listed(Name=name):
            if route.get("Name") == name:
                detail = self.routes.route_detail(str(route["Id"]))
                if detail is not None and detail.get("Description") == header_route_marker(self.owner):
                    return detail
        return None

    def sync_header_route(self, match: RouteMatchSpec, main_route: Mapping[str, Any]) -> None:
        """Requests carrying ``match.canary_headers`` go to the canary version whatever the weights."""
        existing = self.own_header_route(main_route)
        if not match.canary_headers:
            if existing is not None:
                self.routes.delete_route_detail(existing)
            return
        services = self._canary_only()
        # The path comes from the main route: an adopted route may be named without a path.
        header_predicates = predicates(match, with_headers=True)
        header_predicates["PathPredicates"] = route_predicates(main_route).get("PathPredicates")
        wanted = {
            "Predicates": header_predicates,
            "DestinationType": "VersionOriented",
            "Services": services,
            "Description": header_route_marker(self.owner),
        }
        if existing is None:
            self._create(main_route, wanted)
        elif (
            self.routes.weights(existing) != {self.canary_version: 100}
            or route_predicates(existing) != wanted["Predicates"]
        ):
            self.routes.rewrite_route(existing, wanted)
        elif not is_published(existing):
            self.routes.publish(int(existing["Id"]))

    def _create(self, main_route: Mapping[str, Any], wanted: Mapping[str, Any]) -> None:
        params = {
            **self.routes.api.base(),
            **wanted,
            "Name": header_route_name(str(main_route["Name"])),
            "DomainIdListJSON": "[]",
        }
        try:
            route_id = int(self.routes.api.call("AddGatewayRoute", params))
        except ApiError:
            found = self.own_header_route(main_route)  # a timed-out attempt made it after all
            if found is None:
                raise
            route_id = int(found["Id"])
        self.routes.publish(route_id)

    def delete_routes_to(self, version: str) -> None:
        """Delete this owner's header routes that send everything to ``version``: a version that leaves
        takes them along (kept, they would send tagged requests to a version that is gone, and keep it
        in use, so that it could never be removed)."""
        for listed in self.routes.listed():
            if self.routes.weights(listed) != {version: 100}:
                continue
            route = self.routes.route_detail(str(listed["Id"]))
            if route is not None and route.get("Description") == header_route_marker(self.owner):
                self.routes.delete_route_detail(route)

    def delete_header_route(self, main_route: Mapping[str, Any]) -> None:
        existing = self.own_header_route(main_route)
        if existing is not None:
            self.routes.delete_route_detail(existing)
