"""Backend actions on gateway routes, and the checks of a route against the other routes and services."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from pulumi_canary.emulator.exceptions import (
    BusinessError,
    IllegalRequestError,
    InvalidParameterError,
    NotFoundError,
)
from pulumi_canary.emulator.models.backend_state import BackendState
from pulumi_canary.emulator.models.listing import (
    ListQuery,
    Page,
    contains,
    equals,
    optional_filter_int,
    paginate,
)
from pulumi_canary.emulator.models.routes import GatewayRoute, RouteInput, RouteService, RouteStatus

__all__ = ["RouteBackend"]


class RouteBackend(BackendState):
    """Adding, updating, publishing, taking offline, deleting, reading and listing routes."""

    def add_gateway_route(self, gateway_unique_id: str, route: RouteInput) -> int:
        route.validate_shape()
        with self._lock:
            gateway = self._gateway(gateway_unique_id)
            spec = self._resolve_route(gateway_unique_id, route, route_id=None)
            now = self._stamp()
            created = GatewayRoute(
                id=next(self._route_ids),
                gateway_unique_id=gateway_unique_id,
                gateway_id=gateway.id,
                spec=spec,
                status=RouteStatus.UNPUBLISHED,
                gmt_create=now,
                gmt_modified=now,
            )
            self._routes[created.id] = created
            return created.id

    def update_gateway_route(self, gateway_unique_id: str, route_id: int, route: RouteInput) -> int:
        route.validate_shape()
        with self._lock:
            existing = self._route(gateway_unique_id, route_id)
            existing.spec = self._resolve_route(gateway_unique_id, route, route_id=route_id)
            # Editing a live route does not change traffic until it is applied again.
            if existing.status in (RouteStatus.PUBLISHED, RouteStatus.PUBLISHING):
                existing.status = RouteStatus.EDITED_NOT_PUBLISHED
            existing.gmt_modified = self._stamp()
            return existing.id

    def apply_gateway_route(self, gateway_unique_id: str, route_id: int) -> None:
        with self._lock:
            route = self._route(gateway_unique_id, route_id)
            # The real route passes through PUBLISHING while the data plane converges; the
            # emulated one converges at once, so callers never observe it.
            route.status = RouteStatus.PUBLISHED
            route.published = route.spec
            route.gmt_modified = self._stamp()
        self._notify()

    def offline_gateway_route(self, gateway_unique_id: str, route_id: int) -> None:
        with self._lock:
            route = self._route(gateway_unique_id, route_id)
            if route.status == RouteStatus.UNPUBLISHED:
                raise IllegalRequestError(f"route {route_id} is not published")
            # UNPUBLISHING is instantaneous here, like PUBLISHING.
            route.status = RouteStatus.UNPUBLISHED
            route.published = None
            route.gmt_modified = self._stamp()
        self._notify()

    def delete_gateway_route(self, gateway_unique_id: str, route_id: int) -> GatewayRoute:
        with self._lock:
            route = self._route(gateway_unique_id, route_id)
            # Like the console, a route that still serves traffic must be taken offline first.
            if route.status in (
                RouteStatus.PUBLISHED,
                RouteStatus.EDITED_NOT_PUBLISHED,
                RouteStatus.PUBLISHING,
            ):
                raise IllegalRequestError(
                    f"route {route_id} is published; call OfflineGatewayRoute before deleting it"
                )
            del self._routes[route_id]
            return copy.deepcopy(route)

    def get_gateway_route_detail(self, gateway_unique_id: str | None, route_id: int) -> GatewayRoute:
        with self._lock:
            route = self._routes.get(route_id)
            if route is None or (gateway_unique_id and route.gateway_unique_id != gateway_unique_id):
                raise NotFoundError(f"route {route_id}")
            return copy.deepcopy(route)

    def list_gateway_route(self, query: ListQuery, filters: Mapping[str, Any]) -> Page[dict[str, Any]]:
        with self._lock:
            items = [route.describe() for route in self._routes.values() if _route_matches(route, filters)]
        return paginate(items, query, ("Id", "Name", "GmtCreate", "GmtModified", "RouteOrder", "Status"))

    def _route(self, gateway_unique_id: str, route_id: int) -> GatewayRoute:
        self._gateway(gateway_unique_id)
        route = self._routes.get(route_id)
        if route is None or route.gateway_unique_id != gateway_unique_id:
            raise NotFoundError(f"route {route_id} of gateway {gateway_unique_id}")
        return route

    def _resolve_route(self, gateway_unique_id: str, route: RouteInput, route_id: int | None) -> RouteInput:
        services = tuple(
            self._resolve_destination(gateway_unique_id, entry, route) for entry in route.services
        )
        fallbacks = tuple(
            self._resolve_destination(gateway_unique_id, entry, route) for entry in route.fallback_services
        )
        others = [
            r for r in self._routes.values() if r.gateway_unique_id == gateway_unique_id and r.id != route_id
        ]
        for other in others:
            if other.name == route.name:
                raise BusinessError(
                    "Duplicate.RouteName", f"route name {route.name!r} is used by route {other.id}"
                )
        for other in others:
            if _domains_overlap(other.spec.domain_ids, route.domain_ids) and (
                other.spec.predicates.match_key() == route.predicates.match_key()
            ):
                raise BusinessError(
                    "Duplicate.RouteMatch",
                    f"route {other.id} ({other.name}) already matches path {route.predicates.path.path!r} "
                    "with the same conditions on the same domains",
                )
        return replace(route, services=services, fallback_services=fallbacks)

    def _resolve_destination(
        self, gateway_unique_id: str, entry: RouteService, route: RouteInput
    ) -> RouteService:
        service = self._services.get(entry.service_id)
        if service is None or service.gateway_unique_id != gateway_unique_id:
            raise NotFoundError(f"service {entry.service_id} of gateway {gateway_unique_id}")
        if entry.version and service.version(entry.version) is None:
            raise InvalidParameterError(
                f"service {service.id} ({service.namespace}/{service.name}) "
                f"has no version {entry.version!r}; "
                f"it has {[version.name for version in service.versions]}"
            )
        return entry.completed_from(service)


def _domains_overlap(first: Sequence[int], second: Sequence[int]) -> bool:
    # No domain means the gateway's default domain, which only other domain-less routes share.
    if not first or not second:
        return not first and not second
    return bool(set(first) & set(second))


def _route_matches(route: GatewayRoute, filters: Mapping[str, Any]) -> bool:
    spec = route.spec
    domain_filter = optional_filter_int(filters, "DomainId")
    service_filter = optional_filter_int(filters, "DefaultServiceId")
    return (
        equals(route.gateway_unique_id, filters.get("GatewayUniqueId"))
        and equals(route.gateway_id, filters.get("GatewayId"))
        and contains(spec.name, filters.get("Name"))
        and contains(spec.predicates.path.path, filters.get("Path"))
        and equals(spec.route_order, filters.get("RouteOrder"))
        and equals(int(route.status), filters.get("Status"))
        and (domain_filter is None or domain_filter in spec.domain_ids)
        and (
            service_filter is None or (bool(spec.services) and spec.services[0].service_id == service_filter)
        )
    )
