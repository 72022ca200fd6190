"""State of the emulated MSE cloud-native gateway, apart from any wire protocol.

Each resource is a dataclass whose ``describe()`` returns the shape the real API returns (PascalCase).
:class:`MseBackend` holds all resources behind one lock and exposes typed operations that validate like
the real service and raise :mod:`pulumi_canary.emulator.exceptions` errors.

Errors the backend answers "softly" (HTTP 200, ``Success:false``), as the real API does for conflicts
with resources that already exist:

* ``Duplicate.RouteName``      AddGatewayRoute/UpdateGatewayRoute: another route of the gateway has the name
* ``Duplicate.RouteMatch``     AddGatewayRoute/UpdateGatewayRoute: another route on an overlapping domain
                               set has exactly the same match conditions (path, headers, queries, methods)
* ``Duplicate.ServiceSource``  AddServiceSource: the cluster is already a source of the gateway
* ``Duplicate.ServiceVersion`` AddGatewayServiceVersion: the service already has a version of that name
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import IntEnum
from typing import Any, Generic, TypeVar

from pulumi_canary.emulator.endpoints import EndpointSource, StaticEndpoints
from pulumi_canary.emulator.exceptions import (
    BusinessError,
    IllegalRequestError,
    InternalError,
    InvalidParameterError,
    NotFoundError,
)

__all__ = [
    "DESTINATION_TYPES",
    "MAX_PAGE_SIZE",
    "Gateway",
    "GatewayRoute",
    "GatewayService",
    "KeyValuePredicate",
    "Label",
    "ListQuery",
    "MseBackend",
    "Page",
    "PathPredicate",
    "Predicates",
    "RouteInput",
    "RouteService",
    "RouteStatus",
    "ServedRoute",
    "ServiceDetail",
    "ServiceSource",
    "ServiceVersion",
    "VersionEndpoints",
]

SOURCE_TYPE_K8S = "K8S"
DESTINATION_TYPES = ("Single", "Multiple", "VersionOriented", "Mock", "Redirect")
PATH_MATCH_TYPES = ("PRE", "EQUAL", "ERGULAR")  # "ERGULAR" (sic) is how the real API spells regex.
HTTP_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "CONNECT")
MAX_PAGE_SIZE = 100

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")

T = TypeVar("T")


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


def _timestamp(now: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now))


# ---------------------------------------------------------------- value checks on decoded JSON


def _as_int(value: Any, what: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    # JSON booleans are ints in Python; the real API rejects them where a number is expected.
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidParameterError(f"{what} must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise InvalidParameterError(f"{what} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise InvalidParameterError(f"{what} must be <= {maximum}, got {value}")
    return value


def _as_str(value: Any, what: str, *, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise InvalidParameterError(f"{what} must be a non-empty string, got {value!r}")
    return value


def _as_bool(value: Any, what: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise InvalidParameterError(f"{what} must be a boolean, got {value!r}")


def _as_mapping(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidParameterError(f"{what} must be a JSON object, got {value!r}")
    return value


def _as_list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidParameterError(f"{what} must be a JSON array, got {value!r}")
    return value


def _check_label_key(key: str, what: str) -> None:
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        raise InvalidParameterError(f"{what} {key!r} has an invalid prefix")
    if len(name) > 63 or not _LABEL_NAME.match(name):
        raise InvalidParameterError(f"{what} {key!r} is not a valid Kubernetes label key")


def _check_label_value(value: str, what: str) -> None:
    if len(value) > 63 or not _LABEL_NAME.match(value):
        raise InvalidParameterError(f"{what} {value!r} is not a valid, non-empty Kubernetes label value")


# ---------------------------------------------------------------- resources


@dataclass
class Gateway:
    """A cloud-native gateway instance (seeded: the emulator does not create gateways)."""

    id: int
    gateway_unique_id: str
    name: str
    region: str
    gmt_create: str
    gmt_modified: str

    def describe(self) -> dict[str, Any]:
        return {
            "Id": self.id,
            "GatewayUniqueId": self.gateway_unique_id,
            "InstanceId": self.gateway_unique_id,
            "Name": self.name,
            "Region": self.region,
            "Status": 2,
            "StatusDesc": "Running",
            "GatewayType": "Ingress",
            "ChargeType": "POSTPAY",
            "Spec": "MSE_GTW_2_4_200_c",
            "Replica": 2,
            "TotalReplica": 2,
            "GmtCreate": self.gmt_create,
            "GmtModified": self.gmt_modified,
        }


@dataclass
class ServiceSource:
    """An ACK cluster added to a gateway as a service source (``Address`` is the cluster id)."""

    id: int
    gateway_unique_id: str
    gateway_id: int
    name: str
    address: str
    type: str
    source: str
    ingress_options: dict[str, Any]
    gmt_create: str
    gmt_modified: str

    @property
    def cluster_id(self) -> str:
        return self.address

    def describe(self) -> dict[str, Any]:
        return {
            "Id": self.id,
            "GatewayUniqueId": self.gateway_unique_id,
            "GatewayId": self.gateway_id,
            "Name": self.name,
            "Address": self.address,
            "Type": self.type,
            "Source": self.source,
            "SourceUniqueId": self.address,
            "BindingWithGateway": 1,
            "Invalid": False,
            "GroupList": [],
            "PathList": [],
            "IngressOptions": dict(self.ingress_options),
            "GmtCreate": self.gmt_create,
            "GmtModified": self.gmt_modified,
        }


@dataclass(frozen=True)
class Label:
    """One ``key=value`` pod label of a service version."""

    key: str
    value: str

    def describe(self) -> dict[str, str]:
        return {"Key": self.key, "Value": self.value}


def _label_from_wire(value: Any) -> Label:
    body = _as_mapping(value, "ServiceVersion.labels[]")
    return Label(
        key=_as_str(body.get("key"), "ServiceVersion.labels[].key"),
        value=_as_str(body.get("value"), "ServiceVersion.labels[].value"),
    )


@dataclass(frozen=True)
class ServiceVersion:
    """A named subset of a service's pods: those carrying all of ``labels``."""

    name: str
    labels: tuple[Label, ...]

    @classmethod
    def from_wire(cls, value: Any) -> ServiceVersion:
        """Parse the ``ServiceVersion`` JSON parameter, whose keys are lowercase (a quirk of the API)."""
        body = _as_mapping(value, "ServiceVersion")
        name = _as_str(body.get("name"), "ServiceVersion.name")
        labels = tuple(
            _label_from_wire(item) for item in _as_list(body.get("labels"), "ServiceVersion.labels")
        )
        return cls(name=name, labels=labels)

    def validate(self) -> None:
        _check_label_value(self.name, "version name")
        if not self.labels:
            raise InvalidParameterError(f"version {self.name!r} needs at least one label")
        keys = [label.key for label in self.labels]
        if len(set(keys)) != len(keys):
            raise InvalidParameterError(f"version {self.name!r} repeats a label key: {keys}")
        for label in self.labels:
            _check_label_key(label.key, "label key")
            _check_label_value(label.value, "label value")

    def matches(self, pod_labels: Mapping[str, str]) -> bool:
        return all(pod_labels.get(label.key) == label.value for label in self.labels)

    def describe(self) -> dict[str, Any]:
        return {"Name": self.name, "Labels": [label.describe() for label in self.labels]}


@dataclass
class GatewayService:
    """A Kubernetes Service imported into a gateway, with its named versions."""

    id: int
    gateway_unique_id: str
    gateway_id: int
    source_id: int
    cluster_id: str
    name: str
    namespace: str
    ports: list[int]
    service_protocol: str
    group_name: str
    gmt_create: str
    gmt_modified: str
    versions: list[ServiceVersion] = field(default_factory=list)
    source_type: str = SOURCE_TYPE_K8S

    @property
    def first_port(self) -> int | None:
        return self.ports[0] if self.ports else None

    def version(self, name: str) -> ServiceVersion | None:
        return next((version for version in self.versions if version.name == name), None)

    def describe(self) -> dict[str, Any]:
        return {
            "Id": self.id,
            "GatewayUniqueId": self.gateway_unique_id,
            "GatewayId": self.gateway_id,
            "SourceId": self.source_id,
            "SourceType": self.source_type,
            "Name": self.name,
            "Namespace": self.namespace,
            "GroupName": self.group_name,
            "ServiceNameInRegistry": self.name,
            "ServiceFQDN": f"{self.name}.{self.namespace}.svc.cluster.local",
            "Ports": list(self.ports),
            "ServicePort": self.first_port,
            "ServiceProtocol": self.service_protocol,
            "HealthCheck": False,
            "HealthStatus": "NO_HEALTH_CHECK",
            "Versions": [{"Name": version.name} for version in self.versions],
            "GmtCreate": self.gmt_create,
            "GmtModified": self.gmt_modified,
        }


@dataclass(frozen=True)
class VersionEndpoints:
    """How many ready endpoints a version has, and what share of the service's ready endpoints."""

    version: ServiceVersion
    endpoint_num: int
    total: int

    def describe(self) -> dict[str, Any]:
        percent = round(100 * self.endpoint_num / self.total) if self.total else 0
        return {
            "ServiceVersion": self.version.describe(),
            "EndpointNum": self.endpoint_num,
            "EndpointNumPercent": f"{percent}%",
        }


@dataclass(frozen=True)
class ServiceDetail:
    """A service plus what the gateway currently sees of its pods (GetGatewayServiceDetail)."""

    service: GatewayService
    version_endpoints: tuple[VersionEndpoints, ...]
    label_details: tuple[tuple[str, tuple[str, ...]], ...]
    ready_endpoints: int

    @classmethod
    def build(cls, service: GatewayService, ready_pods: Sequence[Mapping[str, str]]) -> ServiceDetail:
        counts = tuple(
            VersionEndpoints(version, sum(1 for pod in ready_pods if version.matches(pod)), len(ready_pods))
            for version in service.versions
        )
        values: dict[str, set[str]] = {}
        for pod in ready_pods:
            for key, value in pod.items():
                values.setdefault(key, set()).add(value)
        labels = tuple((key, tuple(sorted(values[key]))) for key in sorted(values))
        return cls(service, counts, labels, len(ready_pods))

    def describe(self) -> dict[str, Any]:
        described = self.service.describe()
        described.pop("Versions")  # the detail answers with VersionDetails instead
        described["HealthStatus"] = "HEALTHY" if self.ready_endpoints else "UNHEALTHY"
        described["VersionDetails"] = [counts.describe() for counts in self.version_endpoints]
        described["LabelDetails"] = [
            {"Key": key, "Values": list(values)} for key, values in self.label_details
        ]
        return described


# ---------------------------------------------------------------- routes


@dataclass(frozen=True)
class PathPredicate:
    """How a route matches the request path."""

    path: str
    type: str
    ignore_case: bool

    def describe(self) -> dict[str, Any]:
        return {"Path": self.path, "Type": self.type, "IgnoreCase": self.ignore_case}


@dataclass(frozen=True)
class KeyValuePredicate:
    """A header or query-parameter condition of a route."""

    key: str
    type: str
    value: str

    def describe(self) -> dict[str, Any]:
        return {"Key": self.key, "Type": self.type, "Value": self.value}


@dataclass(frozen=True)
class Predicates:
    """All match conditions of a route."""

    path: PathPredicate
    headers: tuple[KeyValuePredicate, ...] = ()
    queries: tuple[KeyValuePredicate, ...] = ()
    methods: tuple[str, ...] = ()

    @classmethod
    def from_wire(cls, value: Any) -> Predicates:
        body = _as_mapping(value, "Predicates")
        if body.get("PathPredicates") is None:
            raise InvalidParameterError("Predicates.PathPredicates is required")
        path_body = _as_mapping(body["PathPredicates"], "Predicates.PathPredicates")
        path = PathPredicate(
            path=_as_str(path_body.get("Path"), "Predicates.PathPredicates.Path"),
            type=_match_type(path_body.get("Type", "PRE"), "Predicates.PathPredicates.Type"),
            ignore_case=_as_bool(path_body.get("IgnoreCase", False), "Predicates.PathPredicates.IgnoreCase"),
        )
        return cls(
            path=path,
            headers=_key_value_predicates(body.get("HeaderPredicates"), "Predicates.HeaderPredicates"),
            queries=_key_value_predicates(body.get("QueryPredicates"), "Predicates.QueryPredicates"),
            methods=_methods(body.get("MethodPredicates")),
        )

    def validate(self) -> None:
        if self.path.type in ("PRE", "EQUAL") and not self.path.path.startswith("/"):
            raise InvalidParameterError(f"path {self.path.path!r} must start with '/'")
        if self.path.type == "ERGULAR":
            _check_regex(self.path.path, "path regex")
        for predicate in (*self.headers, *self.queries):
            if predicate.type == "ERGULAR":
                _check_regex(predicate.value, f"regex of {predicate.key!r}")

    def match_key(self) -> tuple[Any, ...]:
        """Two routes with equal keys match exactly the same requests."""
        path = self.path.path.lower() if self.path.ignore_case else self.path.path
        return (
            self.path.type,
            path,
            self.path.ignore_case,
            tuple(sorted((p.key.lower(), p.type, p.value) for p in self.headers)),
            tuple(sorted((p.key, p.type, p.value) for p in self.queries)),
            tuple(sorted(self.methods)),
        )

    def describe(self) -> dict[str, Any]:
        return {
            "PathPredicates": self.path.describe(),
            "HeaderPredicates": [predicate.describe() for predicate in self.headers],
            "QueryPredicates": [predicate.describe() for predicate in self.queries],
            "MethodPredicates": list(self.methods),
        }


def _match_type(value: Any, what: str) -> str:
    text = _as_str(value, what)
    if text not in PATH_MATCH_TYPES:
        raise InvalidParameterError(f"{what} must be one of {', '.join(PATH_MATCH_TYPES)}, got {text!r}")
    return text


def _key_value_predicates(value: Any, what: str) -> tuple[KeyValuePredicate, ...]:
    predicates = []
    for item in _as_list(value, what):
        body = _as_mapping(item, f"{what}[]")
        predicates.append(
            KeyValuePredicate(
                key=_as_str(body.get("Key"), f"{what}[].Key"),
                type=_match_type(body.get("Type", "EQUAL"), f"{what}[].Type"),
                value=_as_str(body.get("Value"), f"{what}[].Value"),
            )
        )
    return tuple(predicates)


def _methods(value: Any) -> tuple[str, ...]:
    methods = tuple(
        _as_str(item, "Predicates.MethodPredicates[]") for item in _as_list(value, "MethodPredicates")
    )
    unknown = [method for method in methods if method not in HTTP_METHODS]
    if unknown:
        raise InvalidParameterError(f"unknown HTTP methods in Predicates.MethodPredicates: {unknown}")
    return methods


def _check_regex(pattern: str, what: str) -> None:
    try:
        re.compile(pattern)
    except re.error as error:
        raise InvalidParameterError(f"{what} {pattern!r} does not compile: {error}") from error


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
        body = _as_mapping(value, what)
        percent = body.get("Percent")
        port = body.get("ServicePort")
        return cls(
            service_id=_as_int(body.get("ServiceId"), f"{what}.ServiceId"),
            name=_as_str(body.get("Name"), f"{what}.Name", required=False),
            namespace=_as_str(body.get("Namespace"), f"{what}.Namespace", required=False),
            source_type=_as_str(body.get("SourceType"), f"{what}.SourceType", required=False),
            version=_as_str(body.get("Version"), f"{what}.Version", required=False),
            percent=None if percent is None else _as_int(percent, f"{what}.Percent"),
            service_port=None
            if port is None
            else _as_int(port, f"{what}.ServicePort", minimum=1, maximum=65535),
            group_name=_as_str(body.get("GroupName"), f"{what}.GroupName", required=False),
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
    _as_int(route.direct_response.get("Code"), "DirectResponseJSON.Code", minimum=100, maximum=599)


def _check_redirect(route: RouteInput) -> None:
    if route.redirect is None:
        raise InvalidParameterError("a Redirect route needs RedirectJSON")
    _as_int(route.redirect.get("Code"), "RedirectJSON.Code", minimum=300, maximum=399)


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


# ---------------------------------------------------------------- listing


@dataclass(frozen=True)
class ListQuery:
    """Paging and ordering of a List* action. ``order_item`` is a PascalCase field such as ``GmtCreate``."""

    page_number: int = 1
    page_size: int = 10
    order_item: str = ""
    desc_sort: bool = False

    def validate(self) -> None:
        if self.page_number < 1:
            raise InvalidParameterError(f"PageNumber must be >= 1, got {self.page_number}")
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise InvalidParameterError(f"PageSize must be 1..{MAX_PAGE_SIZE}, got {self.page_size}")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing, with the total number of matching items."""

    items: list[T]
    total_size: int
    page_number: int
    page_size: int


def _paginate(
    items: list[dict[str, Any]], query: ListQuery, orderable: Iterable[str]
) -> Page[dict[str, Any]]:
    query.validate()
    order_item = query.order_item or "Id"
    if order_item not in orderable:
        raise InvalidParameterError(
            f"OrderItem must be one of {', '.join(sorted(orderable))}, got {order_item!r}"
        )
    ordered = sorted(items, key=lambda item: (item.get(order_item) is None, item.get(order_item), item["Id"]))
    if query.desc_sort:
        ordered.reverse()
    start = (query.page_number - 1) * query.page_size
    return Page(ordered[start : start + query.page_size], len(ordered), query.page_number, query.page_size)


def _contains(haystack: str, needle: Any) -> bool:
    return not needle or str(needle).lower() in haystack.lower()


def _equals(actual: Any, wanted: Any) -> bool:
    return wanted is None or wanted == "" or str(actual) == str(wanted)


# ---------------------------------------------------------------- the backend


class MseBackend:
    """All emulated MSE state, guarded by one lock; typed operations named after the API actions.

    ``endpoints`` answers for every cluster not connected with :meth:`connect_cluster`; with neither,
    services import without checks and report no endpoints.

    Example::

        backend = MseBackend(endpoints=StaticEndpoints())
        backend.add_gateway("gw-demo")
        source_id = backend.add_service_source("gw-demo", name="c-demo", address="c-demo")
    """

    def __init__(
        self, *, endpoints: EndpointSource | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self._lock = threading.RLock()
        self._clock = clock
        self.default_endpoints = endpoints
        self._clusters: dict[str, EndpointSource] = {}
        self._listeners: list[Callable[[], None]] = []
        self.reset()

    # ------------------------------------------------------------ administration

    def reset(self) -> None:
        """Forget every resource (connected clusters stay connected)."""
        with self._lock:
            self._gateways: dict[str, Gateway] = {}
            self._sources: dict[int, ServiceSource] = {}
            self._services: dict[int, GatewayService] = {}
            self._routes: dict[int, GatewayRoute] = {}
            self._gateway_ids = itertools.count(1)
            self._source_ids = itertools.count(101)
            self._service_ids = itertools.count(1001)
            self._route_ids = itertools.count(5001)
        self._notify()

    def subscribe(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` (with no lock held) after every change of what the data plane serves."""
        with self._lock:
            self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[], None]) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def _notify(self) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener()

    def served_routes(self) -> list[ServedRoute]:
        """The published routes, each with the services it names as they are now."""
        with self._lock:
            served = []
            for route in self._routes.values():
                if route.published is None:
                    continue
                ids = {entry.service_id for entry in route.published.services}
                services = {id_: copy.deepcopy(self._services[id_]) for id_ in ids if id_ in self._services}
                served.append(ServedRoute(route.id, route.gateway_unique_id, route.published, services))
            return served

    def connect_cluster(self, cluster_id: str, endpoints: EndpointSource) -> None:
        """Answer endpoint questions about ``cluster_id`` (a service source's Address) from ``endpoints``."""
        with self._lock:
            self._clusters[cluster_id] = endpoints

    def static_endpoints(self) -> StaticEndpoints:
        """The in-memory cluster answering for unconnected clusters, created on first use.

        Raises ``ValueError`` when a real cluster answers instead.
        """
        with self._lock:
            if self.default_endpoints is None:
                self.default_endpoints = StaticEndpoints()
            if not isinstance(self.default_endpoints, StaticEndpoints):
                raise ValueError(
                    "a real cluster is connected; its Services cannot be set through the emulator"
                )
            return self.default_endpoints

    def endpoints_for(self, cluster_id: str) -> EndpointSource | None:
        with self._lock:
            return self._clusters.get(cluster_id, self.default_endpoints)

    def snapshot(self) -> dict[str, list[dict[str, Any]]]:
        """Everything, described in the API's shapes (for the state dump)."""
        with self._lock:
            return {
                "Gateways": [gateway.describe() for gateway in self._gateways.values()],
                "ServiceSources": [source.describe() for source in self._sources.values()],
                "Services": [
                    {**service.describe(), "Versions": [version.describe() for version in service.versions]}
                    for service in self._services.values()
                ],
                "Routes": [route.describe() for route in self._routes.values()],
            }

    def _stamp(self) -> str:
        return _timestamp(self._clock())

    # ------------------------------------------------------------ gateways

    def add_gateway(self, gateway_unique_id: str, *, name: str = "", region: str = "cn-hangzhou") -> Gateway:
        """Seed a gateway (the emulator has no action that creates one)."""
        _as_str(gateway_unique_id, "GatewayUniqueId")
        with self._lock:
            if gateway_unique_id in self._gateways:
                raise InvalidParameterError(f"gateway {gateway_unique_id} already exists")
            now = self._stamp()
            gateway = Gateway(
                next(self._gateway_ids), gateway_unique_id, name or gateway_unique_id, region, now, now
            )
            self._gateways[gateway_unique_id] = gateway
            return copy.deepcopy(gateway)

    def get_gateway(self, gateway_unique_id: str) -> Gateway:
        with self._lock:
            return copy.deepcopy(self._gateway(gateway_unique_id))

    def list_gateway(self, query: ListQuery, filters: Mapping[str, Any]) -> Page[dict[str, Any]]:
        with self._lock:
            items = [
                gateway.describe()
                for gateway in self._gateways.values()
                if _equals(gateway.gateway_unique_id, filters.get("GatewayUniqueId"))
                and _contains(gateway.name, filters.get("Name"))
            ]
        return _paginate(items, query, ("Id", "Name", "GmtCreate", "GmtModified"))

    def _gateway(self, gateway_unique_id: str) -> Gateway:
        gateway = self._gateways.get(gateway_unique_id)
        if gateway is None:
            raise NotFoundError(f"gateway {gateway_unique_id}")
        return gateway

    # ------------------------------------------------------------ service sources

    def add_service_source(
        self,
        gateway_unique_id: str,
        *,
        name: str,
        address: str,
        source_type: str = SOURCE_TYPE_K8S,
        source: str = SOURCE_TYPE_K8S,
        ingress_options: Mapping[str, Any] | None = None,
    ) -> int:
        """Add an ACK cluster (``address`` = cluster id) as a service source of a gateway."""
        for what, value in (("Type", source_type), ("Source", source)):
            if value.upper() != SOURCE_TYPE_K8S:
                raise InvalidParameterError(
                    f"{what} {value!r} is not supported: only K8S (ACK) service sources are"
                )
        _as_str(name, "Name")
        _as_str(address, "Address")
        with self._lock:
            gateway = self._gateway(gateway_unique_id)
            if any(
                s.gateway_unique_id == gateway_unique_id and s.address == address
                for s in self._sources.values()
            ):
                raise BusinessError(
                    "Duplicate.ServiceSource", f"cluster {address} is already a source of {gateway_unique_id}"
                )
            now = self._stamp()
            created = ServiceSource(
                id=next(self._source_ids),
                gateway_unique_id=gateway_unique_id,
                gateway_id=gateway.id,
                name=name,
                address=address,
                type=SOURCE_TYPE_K8S,
                source=SOURCE_TYPE_K8S,
                ingress_options=dict(ingress_options or {}),
                gmt_create=now,
                gmt_modified=now,
            )
            self._sources[created.id] = created
            return created.id

    def list_service_source(self, gateway_unique_id: str, source: str = "") -> list[ServiceSource]:
        with self._lock:
            self._gateway(gateway_unique_id)
            return [
                copy.deepcopy(item)
                for item in self._sources.values()
                if item.gateway_unique_id == gateway_unique_id
                and (not source or item.source == source.upper())
            ]

    def _source(self, gateway_unique_id: str, source_id: int) -> ServiceSource:
        found = self._sources.get(source_id)
        if found is None or found.gateway_unique_id != gateway_unique_id:
            raise NotFoundError(f"service source {source_id} of gateway {gateway_unique_id}")
        return found

    # ------------------------------------------------------------ services

    def import_services(
        self,
        gateway_unique_id: str,
        *,
        source_type: str,
        source_id: int,
        services: Sequence[Mapping[str, Any]],
    ) -> None:
        """Import Kubernetes Services; already imported ones are left as they are. Returns no ids."""
        if source_type.upper() != SOURCE_TYPE_K8S:
            raise InvalidParameterError(
                f"SourceType {source_type!r} cannot be imported: only K8S services can"
            )
        if not services:
            raise InvalidParameterError("ServiceList is empty")
        wanted = [_import_entry(entry) for entry in services]
        with self._lock:
            self._gateway(gateway_unique_id)
            source = copy.deepcopy(self._source(gateway_unique_id, source_id))
        # Asking the cluster happens outside the lock: a slow API server must not stall other calls.
        endpoints = self.endpoints_for(source.cluster_id)
        ports = {
            (ns, name): self._cluster_ports(endpoints, source, ns, name, port) for ns, name, port, _ in wanted
        }
        with self._lock:
            gateway = self._gateway(gateway_unique_id)
            for namespace, name, _port, protocol in wanted:
                if self._find_service(gateway_unique_id, source_id, namespace, name) is None:
                    self._insert_service(gateway, source, namespace, name, ports[(namespace, name)], protocol)

    def add_gateway_service(
        self,
        gateway_unique_id: str,
        *,
        source_id: int,
        name: str,
        namespace: str,
        ports: Iterable[int] = (),
    ) -> int:
        """Seed an imported service directly (no cluster lookup); returns its id."""
        with self._lock:
            gateway = self._gateway(gateway_unique_id)
            source = self._source(gateway_unique_id, source_id)
            existing = self._find_service(gateway_unique_id, source_id, namespace, name)
            if existing is not None:
                return existing.id
            return self._insert_service(gateway, source, namespace, name, list(ports), "HTTP").id

    def list_gateway_service(self, query: ListQuery, filters: Mapping[str, Any]) -> Page[dict[str, Any]]:
        with self._lock:
            items = [
                service.describe()
                for service in self._services.values()
                if _equals(service.gateway_unique_id, filters.get("GatewayUniqueId"))
                and _contains(service.name, filters.get("Name"))
                and _equals(service.namespace, filters.get("Namespace"))
                and _equals(service.source_type, filters.get("SourceType"))
                and _equals(service.group_name, filters.get("GroupName"))
                and _equals(service.service_protocol, filters.get("ServiceProtocol"))
            ]
        return _paginate(items, query, ("Id", "Name", "Namespace", "GmtCreate", "GmtModified"))

    def get_gateway_service_detail(self, gateway_unique_id: str, service_id: int) -> ServiceDetail:
        with self._lock:
            service = copy.deepcopy(self._service(gateway_unique_id, service_id))
        # Reading the cluster happens outside the lock: a slow API server must not stall other calls.
        endpoints = self.endpoints_for(service.cluster_id)
        pods = _read_cluster(
            lambda: endpoints.ready_pod_labels(service.namespace, service.name) if endpoints else [],
            f"the ready pods of {service.namespace}/{service.name} in cluster {service.cluster_id}",
        )
        return ServiceDetail.build(service, pods or [])

    def _service(self, gateway_unique_id: str, service_id: int) -> GatewayService:
        self._gateway(gateway_unique_id)
        service = self._services.get(service_id)
        if service is None or service.gateway_unique_id != gateway_unique_id:
            raise NotFoundError(f"service {service_id} of gateway {gateway_unique_id}")
        return service

    def _find_service(
        self, gateway_unique_id: str, source_id: int, namespace: str, name: str
    ) -> GatewayService | None:
        return next(
            (
                service
                for service in self._services.values()
                if (service.gateway_unique_id, service.source_id, service.namespace, service.name)
                == (gateway_unique_id, source_id, namespace, name)
            ),
            None,
        )

    def _insert_service(
        self,
        gateway: Gateway,
        source: ServiceSource,
        namespace: str,
        name: str,
        ports: list[int],
        protocol: str,
    ) -> GatewayService:
        now = self._stamp()
        service = GatewayService(
            id=next(self._service_ids),
            gateway_unique_id=gateway.gateway_unique_id,
            gateway_id=gateway.id,
            source_id=source.id,
            cluster_id=source.cluster_id,
            name=name,
            namespace=namespace,
            ports=ports,
            service_protocol=protocol,
            group_name="",
            gmt_create=now,
            gmt_modified=now,
        )
        self._services[service.id] = service
        return service

    @staticmethod
    def _cluster_ports(
        endpoints: EndpointSource | None,
        source: ServiceSource,
        namespace: str,
        name: str,
        given_port: int | None,
    ) -> list[int]:
        if endpoints is None:
            return [given_port] if given_port is not None else []
        ports = _read_cluster(
            lambda: endpoints.service_ports(namespace, name),
            f"Service {namespace}/{name} in cluster {source.cluster_id}",
        )
        if ports is None:
            raise InvalidParameterError(
                f"Service {namespace}/{name} does not exist in cluster {source.cluster_id}"
            )
        return ports

    # ------------------------------------------------------------ service versions

    def add_gateway_service_version(
        self, gateway_unique_id: str, service_id: int, version: ServiceVersion
    ) -> int:
        version.validate()
        with self._lock:
            service = self._service(gateway_unique_id, service_id)
            if service.version(version.name) is not None:
                raise BusinessError(
                    "Duplicate.ServiceVersion", f"service {service_id} already has a version {version.name!r}"
                )
            service.versions.append(version)
            service.gmt_modified = self._stamp()
            return service.id

    def update_gateway_service_version(
        self, gateway_unique_id: str, service_id: int, version: ServiceVersion
    ) -> int:
        version.validate()
        with self._lock:
            service = self._service(gateway_unique_id, service_id)
            index = self._version_index(service, version.name)
            service.versions[index] = version
            service.gmt_modified = self._stamp()
        self._notify()
        return service_id

    def delete_gateway_service_version(
        self, gateway_unique_id: str, service_id: int, version_name: str
    ) -> int:
        with self._lock:
            service = self._service(gateway_unique_id, service_id)
            index = self._version_index(service, version_name)
            users = sorted(
                route.name
                for route in self._routes.values()
                if route.references_version(service_id, version_name)
            )
            if users:
                raise InvalidParameterError(
                    f"version {version_name!r} of service {service_id} is still used by "
                    f"route(s) {', '.join(users)}"
                )
            del service.versions[index]
            service.gmt_modified = self._stamp()
        self._notify()
        return service_id

    @staticmethod
    def _version_index(service: GatewayService, name: str) -> int:
        for index, version in enumerate(service.versions):
            if version.name == name:
                return index
        raise NotFoundError(f"version {name!r} of service {service.id}")

    # ------------------------------------------------------------ routes

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
            # The real route passes through PUBLISHING (2) while the data plane converges; the
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
            # UNPUBLISHING (5) is instantaneous here, like PUBLISHING.
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
        return _paginate(items, query, ("Id", "Name", "GmtCreate", "GmtModified", "RouteOrder", "Status"))

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


def _import_entry(entry: Mapping[str, Any]) -> tuple[str, str, int | None, str]:
    body = _as_mapping(entry, "ServiceList[]")
    name = _as_str(body.get("Name"), "ServiceList[].Name")
    namespace = _as_str(body.get("Namespace"), "ServiceList[].Namespace")
    port = body.get("ServicePort")
    protocol = _as_str(body.get("ServiceProtocol"), "ServiceList[].ServiceProtocol", required=False)
    return (
        namespace,
        name,
        None if port is None else _as_int(port, "ServiceList[].ServicePort", minimum=1, maximum=65535),
        protocol or "HTTP",
    )


def _read_cluster(read: Callable[[], T], what: str) -> T:
    try:
        return read()
    except Exception as error:
        raise InternalError(f"could not read {what}: {error}") from error


def _domains_overlap(first: Sequence[int], second: Sequence[int]) -> bool:
    # No domain means the gateway's default domain, which only other domain-less routes share.
    if not first or not second:
        return not first and not second
    return bool(set(first) & set(second))


def _route_matches(route: GatewayRoute, filters: Mapping[str, Any]) -> bool:
    spec = route.spec
    domain_filter = _optional_filter_int(filters, "DomainId")
    service_filter = _optional_filter_int(filters, "DefaultServiceId")
    return (
        _equals(route.gateway_unique_id, filters.get("GatewayUniqueId"))
        and _equals(route.gateway_id, filters.get("GatewayId"))
        and _contains(spec.name, filters.get("Name"))
        and _contains(spec.predicates.path.path, filters.get("Path"))
        and _equals(spec.route_order, filters.get("RouteOrder"))
        and _equals(int(route.status), filters.get("Status"))
        and (domain_filter is None or domain_filter in spec.domain_ids)
        and (
            service_filter is None or (bool(spec.services) and spec.services[0].service_id == service_filter)
        )
    )


def _optional_filter_int(filters: Mapping[str, Any], key: str) -> int | None:
    value = filters.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return _as_int(value, f"FilterParams.{key}")
