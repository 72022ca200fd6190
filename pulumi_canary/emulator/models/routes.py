"""Gateway routes as state: destinations, the route input and its checks, publication status.

``RouteInput.validate_shape()`` holds the checks that need no other resource; the checks against other
routes and imported services live with the backend (:mod:`.backend_routes`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from pulumi_canary.emulator.exceptions import InvalidParameterError
from pulumi_canary.emulator.models.predicates import Predicates
from pulumi_canary.emulator.models.services import GatewayService
from pulumi_canary.emulator.models.values import as_int, as_mapping, as_str

__all__ = [
    "DESTINATION_TYPES",
    "GatewayRoute",
    "RouteInput",
    "RouteService",
    "RouteStatus",
    "ServedRoute",
]

DESTINATION_TYPES = ("Single", "Multiple", "VersionOriented", "Mock", "Redirect")

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


class RouteStatus(IntEnum):
    """``Status`` of a gateway route as GetGatewayRouteDetail reports it.

    A new route is UNPUBLISHED; ApplyGatewayRoute makes it PUBLISHED; editing a published route makes
    it EDITED_NOT_PUBLISHED (traffic still follows the last applied version) until applied again;
    OfflineGatewayRoute makes it UNPUBLISHED. PUBLISHING and UNPUBLISHING are instantaneous here.
    """

    UNPUBLISHED = 0
    PUBLISHING = 2
    PUBLISHED = 3
    EDITED_NOT_PUBLISHED = 4
    UNPUBLISHING = 5
    UNAVAILABLE = 6


@dataclass(frozen=True)
class RouteService:
    """One destination of a route: a service, and for VersionOriented routes a version and a percent."""

    service_id: int
    name: str = ""
    namespace: str = ""
    source_type: str = ""
    version: str = ""
    percent: int | None = None
    service_port: int | None = None
    group_name: str = ""

    @classmethod
    def from_wire(cls, value: Any, what: str = "Services[]") -> RouteService:
        body = as_mapping(value, what)
        percent = body.get("Percent")
        port = body.get("ServicePort")
        return cls(
            service_id=as_int(body.get("ServiceId"), f"{what}.ServiceId"),
            name=as_str(body.get("Name"), f"{what}.Name", required=False),
            namespace=as_str(body.get("Namespace"), f"{what}.Namespace", required=False),
            source_type=as_str(body.get("SourceType"), f"{what}.SourceType", required=False),
            version=as_str(body.get("Version"), f"{what}.Version", required=False),
            percent=None if percent is None else as_int(percent, f"{what}.Percent"),
            service_port=None
            if port is None
            else as_int(port, f"{what}.ServicePort", minimum=1, maximum=65535),
            group_name=as_str(body.get("GroupName"), f"{what}.GroupName", required=False),
        )

    def completed_from(self, service: GatewayService) -> RouteService:
        """Check the entry against the imported service and fill in what the caller left out."""
        mismatches = [
            f"{field_name} {given!r} != {actual!r}"
            for field_name, given, actual in (
                ("Name", self.name, service.name),
                ("Namespace", self.namespace, service.namespace),
                ("SourceType", self.source_type, service.source_type),
            )
            if given and given != actual
        ]
        if mismatches:
            raise InvalidParameterError(f"service {service.id} does not match: {'; '.join(mismatches)}")
        if self.service_port is not None and service.ports and self.service_port not in service.ports:
            raise InvalidParameterError(
                f"service {service.id} has no port {self.service_port} (ports {service.ports})"
            )
        return RouteService(
            service_id=service.id,
            name=service.name,
            namespace=service.namespace,
            source_type=service.source_type,
            version=self.version,
            percent=self.percent,
            service_port=self.service_port if self.service_port is not None else service.first_port,
            group_name=self.group_name,
        )

    def describe(self) -> dict[str, Any]:
        described: dict[str, Any] = {
            "ServiceId": self.service_id,
            "Name": self.name,
            "ServiceName": self.name,
            "Namespace": self.namespace,
            "SourceType": self.source_type,
            "GroupName": self.group_name,
            "ServicePort": self.service_port,
            "Percent": self.percent,
        }
        if self.version:
            described["Version"] = self.version
        return described


@dataclass(frozen=True)
class RouteInput:
    """Everything AddGatewayRoute / UpdateGatewayRoute send about a route (an update resends it all)."""

    name: str
    predicates: Predicates
    destination_type: str
    services: tuple[RouteService, ...] = ()
    domain_ids: tuple[int, ...] = ()
    route_order: int = 1
    fallback: bool = False
    fallback_services: tuple[RouteService, ...] = ()
    description: str = ""
    enable_waf: bool = False
    direct_response: Mapping[str, Any] | None = None
    redirect: Mapping[str, Any] | None = None

    def validate_shape(self) -> None:
        """Checks that need no other resource."""
        if len(self.name) > 63 or not _DNS_LABEL.match(self.name):
            raise InvalidParameterError(
                f"route name {self.name!r} must be lowercase letters, digits and '-', "
                "start and end with a letter or digit, at most 63 characters"
            )
        if self.destination_type not in DESTINATION_TYPES:
            raise InvalidParameterError(
                f"DestinationType must be one of {', '.join(DESTINATION_TYPES)}, "
                f"got {self.destination_type!r}"
            )
        self.predicates.validate()
        if self.route_order < 0:
            raise InvalidParameterError(f"RouteOrder must be >= 0, got {self.route_order}")
        if self.fallback and not self.fallback_services:
            raise InvalidParameterError("Fallback is true but FallbackServices is empty")
        _DESTINATION_CHECKS[self.destination_type](self)


def _check_single(route: RouteInput) -> None:
    if len(route.services) != 1:
        raise InvalidParameterError(f"a Single route needs exactly one service, got {len(route.services)}")


def _check_multiple(route: RouteInput) -> None:
    if not route.services:
        raise InvalidParameterError("a Multiple route needs at least one service")
    ids = [service.service_id for service in route.services]
    if len(set(ids)) != len(ids):
        raise InvalidParameterError(f"a Multiple route lists a service twice: {ids}")
    _check_percents(route.services, "Multiple")


def _check_version_oriented(route: RouteInput) -> None:
    if not route.services:
        raise InvalidParameterError("a VersionOriented route needs at least one service version")
    missing = [service.service_id for service in route.services if not service.version]
    if missing:
        raise InvalidParameterError(
            f"every entry of a VersionOriented route needs a Version (services {missing})"
        )
    pairs = [(service.service_id, service.version) for service in route.services]
    if len(set(pairs)) != len(pairs):
        raise InvalidParameterError(f"a VersionOriented route lists a service version twice: {pairs}")
    _check_percents(route.services, "VersionOriented")


def _check_percents(services: Sequence[RouteService], kind: str) -> None:
    percents = [service.percent for service in services]
    if any(percent is None or not 0 <= percent <= 100 for percent in percents):
        raise InvalidParameterError(
            f"each Percent of a {kind} route must be an integer 0..100, got {percents}"
        )
    total = sum(percent for percent in percents if percent is not None)
    if total != 100:
        raise InvalidParameterError(
            f"the Percents of a {kind} route must sum to 100, got {percents} (sum {total})"
        )


def _check_mock(route: RouteInput) -> None:
    if route.direct_response is None:
        raise InvalidParameterError("a Mock route needs DirectResponseJSON")
    as_int(route.direct_response.get("Code"), "DirectResponseJSON.Code", minimum=100, maximum=599)


def _check_redirect(route: RouteInput) -> None:
    if route.redirect is None:
        raise InvalidParameterError("a Redirect route needs RedirectJSON")
    as_int(route.redirect.get("Code"), "RedirectJSON.Code", minimum=300, maximum=399)


_DESTINATION_CHECKS: dict[str, Callable[[RouteInput], None]] = {
    "Single": _check_single,
    "Multiple": _check_multiple,
    "VersionOriented": _check_version_oriented,
    "Mock": _check_mock,
    "Redirect": _check_redirect,
}


@dataclass
class GatewayRoute:
    """A route of a gateway: match conditions, destinations, and a publication ``status``."""

    id: int
    gateway_unique_id: str
    gateway_id: int
    spec: RouteInput
    status: RouteStatus
    gmt_create: str
    gmt_modified: str
    # What the data plane serves: the spec as last applied (an edit changes nothing until applied).
    published: RouteInput | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    def references_version(self, service_id: int, version: str) -> bool:
        return any(
            destination.service_id == service_id and destination.version == version
            for destination in (*self.spec.services, *self.spec.fallback_services)
        )

    def describe(self) -> dict[str, Any]:
        spec = self.spec
        services = [service.describe() for service in spec.services]
        default = spec.services[0] if spec.services else None
        return {
            "Id": self.id,
            "Name": spec.name,
            "GatewayUniqueId": self.gateway_unique_id,
            "GatewayId": self.gateway_id,
            "DomainIdList": list(spec.domain_ids),
            "DomainId": spec.domain_ids[0] if spec.domain_ids else None,
            "DestinationType": spec.destination_type,
            # The real API returns these two as JSON text next to their parsed twins.
            "Services": _compact_json(services),
            "Predicates": _compact_json(spec.predicates.describe()),
            "RouteServices": services,
            "RoutePredicates": spec.predicates.describe(),
            "DefaultServiceId": default.service_id if default else None,
            "DefaultServiceName": default.name if default else None,
            "RouteOrder": spec.route_order,
            "Fallback": spec.fallback,
            "FallbackServices": [service.describe() for service in spec.fallback_services],
            "Description": spec.description,
            "EnableWaf": spec.enable_waf,
            "DirectResponse": dict(spec.direct_response) if spec.direct_response else None,
            "Redirect": dict(spec.redirect) if spec.redirect else None,
            "Status": int(self.status),
            "GmtCreate": self.gmt_create,
            "GmtModified": self.gmt_modified,
        }

    def describe_deleted(self) -> dict[str, Any]:
        full = self.describe()
        keys = (
            "Id",
            "Name",
            "GatewayUniqueId",
            "GatewayId",
            "DefaultServiceId",
            "Predicates",
            "RouteOrder",
            "Status",
            "GmtCreate",
            "GmtModified",
        )
        return {key: full[key] for key in keys}


@dataclass(frozen=True)
class ServedRoute:
    """A published route as the data plane serves it, with the services its destinations name."""

    id: int
    gateway_unique_id: str
    spec: RouteInput
    services: Mapping[int, GatewayService]


def _compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
