"""The gateway's routes: finding ours or one to adopt, reading weights, rewriting, publishing, deleting.

A policy's weights are the ``Percent`` of each entry of a ``VersionOriented`` route, published with
``ApplyGatewayRoute``. ``UpdateGatewayRoute`` takes the whole route, so every rewrite resends what it
does not change.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ...errors import ApiError, PermanentApiError, PreconditionError
from ...model import RouteMatchSpec
from ...model.live import RouteSnapshot
from .client import MseApi
from .errors import is_not_found
from .services import GatewayService
from .wire import (
    KEPT_ROUTE_FIELDS,
    PATH_TYPES,
    is_online,
    owner_of,
    route_entries,
    route_name_for,
    route_predicates,
)


class GatewayRoutes:
    """The routes of one gateway, as one owner of one service sees them."""

    def __init__(self, api: MseApi, gateway_service: GatewayService, owner: str) -> None:
        self.api = api
        self.gateway_service = gateway_service
        self.owner = owner

    # ---- reading ------------------------------------------------------------------------------------

    def route_detail(self, route_id: str) -> dict[str, Any] | None:
        try:
            data = self.api.call("GetGatewayRouteDetail", {**self.api.base(), "RouteId": int(route_id)})
        except PermanentApiError as error:
            if is_not_found(error):
                return None
            raise
        return dict(data) if data else None

    def require_route(self, route_id: str) -> dict[str, Any]:
        route = self.route_detail(route_id)
        if route is None:
            raise PreconditionError(
                f"route {route_id} no longer exists on MSE gateway {self.api.gateway.gateway_id}: "
                "run `pulumi refresh`, then `pulumi up` to recreate it"
            )
        return route

    def listed(self, **filters: str | None) -> list[dict[str, Any]]:
        """The gateway's routes, narrowed by the gateway to those whose ``Name`` or ``Path`` matches
        (a ``None`` filter narrows nothing).

        The documentation does not say whether these filters match exactly or by substring, so callers
        compare what they look for themselves; the filter only keeps a create from reading every route
        of a gateway that holds hundreds."""
        given = {key: value for key, value in filters.items() if value is not None}
        return self.api.pages("ListGatewayRoute", {"FilterParams": {**self.api.base(), **given}})

    def weights(self, route: Mapping[str, Any]) -> dict[str, int]:
        """The route's percentages per version of this service (none unless it is VersionOriented)."""
        if route.get("DestinationType") != "VersionOriented":
            return {}
        service_id = self.gateway_service.known_service_id()
        return {
            str(entry["Version"]): int(entry.get("Percent") or 0)
            for entry in route_entries(route)
            if int(entry.get("ServiceId") or 0) == service_id and entry.get("Version")
        }

    def version_in_use(self, name: str) -> bool:
        """Whether a route of this service sends traffic to ``name``: MSE versions are shared."""
        service_id = self.gateway_service.known_service_id()
        of_service = [
            route
            for route in self.listed()
            if any(int(s.get("ServiceId") or 0) == service_id for s in route.get("RouteServices") or [])
        ]
        return any(name in self.weights(route) for route in of_service)

    def own_route(self, match: RouteMatchSpec) -> str | None:
        """The route this owner created, e.g. by an earlier attempt that failed or timed out.

        ListGatewayRoute does not return descriptions, so it is found by its name (ours carries a hash
        of the owner) and confirmed by the marker in its detail.
        """
        name = match.name or route_name_for(self.gateway_service.service, self.owner)
        for route in self.listed(Name=name):
            if route.get("Name") == name:
                detail = self.route_detail(str(route["Id"]))
                if detail is not None and owner_of(detail.get("Description"), self.owner) == "self":
                    return str(route["Id"])
        return None

    def find_route(self, match: RouteMatchSpec) -> str | None:
        """Our own route (a retried create), else a route to adopt: by name, else by the same path."""
        own = self.own_route(match)
        if own is not None:
            return own
        if match.name is not None:
            named = self.listed(Name=match.name)
            return next((str(route["Id"]) for route in named if route.get("Name") == match.name), None)
        for route in self.listed(Path=match.path):
            found = route_predicates(route)
            path = found.get("PathPredicates") or {}
            if found.get("HeaderPredicates"):
                continue  # a header-only route is not the route of this path
            if path.get("Path") == match.path and path.get("Type") == PATH_TYPES[match.path_type]:
                return str(route["Id"])
        return None

    def snapshot_of(self, route: Mapping[str, Any]) -> RouteSnapshot:
        """What an adoption overwrites, kept to restore the route later."""
        data = {key: route.get(key) for key in (*KEPT_ROUTE_FIELDS, "Description", "DestinationType")}
        data["Predicates"] = route_predicates(route)
        data["Services"] = route_entries(route)
        versions = tuple(sorted(self.weights(route)))
        return RouteSnapshot(route_id=str(route["Id"]), referenced_versions=versions, data=data)

    # ---- writing ------------------------------------------------------------------------------------

    def publish(self, route_id: int) -> None:
        self.api.call("ApplyGatewayRoute", {**self.api.base(), "RouteId": route_id})

    def rewrite_route(self, route: Mapping[str, Any], changes: Mapping[str, Any]) -> None:
        """UpdateGatewayRoute resends the whole route; then ApplyGatewayRoute publishes it."""
        params: dict[str, Any] = {**self.api.base(), "Id": int(route["Id"])}
        for key in KEPT_ROUTE_FIELDS:
            if route.get(key) is not None:
                params[key] = route[key]
        if "DomainIdList" in params:
            params["DomainIdListJSON"] = json.dumps(params.pop("DomainIdList"))
        params["Predicates"] = route_predicates(route)
        params["Services"] = route_entries(route)
        params["DestinationType"] = route.get("DestinationType")
        params["Description"] = route.get("Description") or ""
        params.update(changes)
        self.api.call("UpdateGatewayRoute", params)
        self.publish(int(route["Id"]))

    def delete_route_detail(self, route: Mapping[str, Any]) -> None:
        """Take the route offline (the gateway refuses to delete a route that is online), then delete it;
        a route already offline or already gone is fine."""
        route_id = int(route["Id"])
        if is_online(route):
            try:
                self.api.call("OfflineGatewayRoute", {**self.api.base(), "RouteId": route_id})
            except ApiError:
                current = self.route_detail(str(route_id))  # a timed-out attempt may have done it
                if current is not None and is_online(current):
                    raise
        try:
            self.api.call("DeleteGatewayRoute", {**self.api.base(), "RouteId": route_id})
        except ApiError as error:
            if not is_not_found(error):
                raise
