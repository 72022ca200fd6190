"""The MSE cloud-native gateway driver, on the official SDK ``alibabacloud-mse20190531``.

A policy's versions are MSE service versions (a name and a pod label set) of the imported Kubernetes
service; its weights are the ``Percent`` of each entry of a ``VersionOriented`` route, published with
``ApplyGatewayRoute``. MSE has no labels on routes, so ownership is written in the route's
``Description``. Requests are built as plain wire-shaped dicts (pure functions below) and only then
handed to the SDK.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import NotReadyError, PermanentApiError, PreconditionError, TransientApiError
from ..model.live import LiveRoute, RouteOwner, RouteSnapshot
from ..model.specs import MseGatewaySpec, RouteMatchSpec, ServiceRefSpec
from .credentials import AlibabaCredentials
from .retry import with_retries

if TYPE_CHECKING:
    from alibabacloud_mse20190531.client import Client

OWNER_PREFIX = "pulumi-canary:"
PATH_TYPES = {"prefix": "PRE", "exact": "EQUAL", "regex": "ERGULAR"}
PAGE_SIZE = 100
POLL_SECONDS = 1.0
# Fields of GetGatewayRouteDetail that UpdateGatewayRoute takes back unchanged when we rewrite a route.
KEPT_ROUTE_FIELDS = ("Name", "RouteOrder", "Fallback", "DomainIdList")


HEADER_ROUTE_SUFFIX = "#canary-headers"


def owner_marker(owner: str) -> str:
    return f"{OWNER_PREFIX}{owner}"


def header_route_marker(owner: str) -> str:
    """The header route is a second route of the same owner, told apart by this suffix."""
    return f"{owner_marker(owner)}{HEADER_ROUTE_SUFFIX}"


def owner_of(description: str | None, owner: str) -> RouteOwner:
    if not description or not description.startswith(OWNER_PREFIX):
        return "unowned"
    return "self" if description == owner_marker(owner) else "other"


def default_route_name(service: ServiceRefSpec, owner: str) -> str:
    """Route names are lowercase, digits and '-' (63 at most); the owner hash keeps stacks apart."""
    digest = hashlib.sha256(owner.encode()).hexdigest()[:8]
    return f"{service.name}-{service.namespace}"[: 63 - 16].rstrip("-") + f"-canary-{digest}"


def predicates(match: RouteMatchSpec, with_headers: bool = False) -> dict[str, Any]:
    path = {"Path": match.path, "Type": PATH_TYPES[match.path_type], "IgnoreCase": False}
    headers = (
        [{"Key": key, "Type": "EQUAL", "Value": value} for key, value in match.canary_headers.items()]
        if with_headers
        else []
    )
    return {
        "PathPredicates": path,
        "HeaderPredicates": headers,
        "QueryPredicates": [],
        "MethodPredicates": [],
    }


def header_route_name(main_route_name: str) -> str:
    return main_route_name[: 63 - 4].rstrip("-") + "-hdr"


def route_services(
    service: ServiceRefSpec, service_id: int, weights: Mapping[str, int]
) -> list[dict[str, Any]]:
    return [
        {
            "ServiceId": service_id,
            "Name": service.name,
            "Namespace": service.namespace,
            "SourceType": "K8S",
            "Version": version,
            "Percent": percent,
            "ServicePort": service.port,
        }
        for version, percent in weights.items()
    ]


def version_json(name: str, labels: Mapping[str, str]) -> str:
    """ServiceVersion is a JSON string with lowercase keys (unlike every other parameter)."""
    return json.dumps({"name": name, "labels": [{"key": k, "value": v} for k, v in labels.items()]})


def whole_numbers(value: Any) -> Any:
    """Pulumi state keeps every number as a double; MSE wants integers back (ids, percents, ports)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {key: whole_numbers(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [whole_numbers(item) for item in value]
    return value


def route_predicates(route: Mapping[str, Any]) -> dict[str, Any]:
    return dict(parse_json(route.get("Predicates"), {}) or route.get("RoutePredicates") or {})


def parse_json(value: Any, default: Any) -> Any:
    if isinstance(value, str):
        return json.loads(value) if value else default
    return default if value is None else value


class MseDriver:
    """One gateway, one service, one owner; builds an SDK client on first use (never pickled)."""

    def __init__(
        self,
        gateway: MseGatewaySpec,
        service: ServiceRefSpec,
        credentials: AlibabaCredentials,
        owner: str,
        canary_version: str,
        header_routing: bool = False,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.gateway = gateway
        self.service = service
        self.canary_version = canary_version
        self.header_routing = header_routing
        self._credentials = credentials
        self.owner = owner
        self._sleep = sleep
        self._client: Client | None = None
        self._service_id: int | None = None

    # ---- the SDK boundary -----------------------------------------------------------------------------

    def client(self) -> Client:
        if self._client is None:
            from alibabacloud_mse20190531.client import Client
            from alibabacloud_tea_openapi.models import Config

            config = Config(
                access_key_id=self._credentials.access_key_id,
                access_key_secret=self._credentials.access_key_secret,
                security_token=self._credentials.security_token,
                region_id=self.gateway.region,
                endpoint=self.gateway.endpoint_host() or f"mse.{self.gateway.region}.aliyuncs.com",
                protocol=self.gateway.endpoint_protocol(),
            )
            self._client = Client(config)
        return self._client

    def call(self, action: str, params: Mapping[str, Any]) -> Any:
        """Call ``action`` with wire-shaped ``params``; returns the response body's ``Data``."""
        return with_retries(lambda: self._call_once(action, params), sleep=self._sleep)

    def _call_once(self, action: str, params: Mapping[str, Any]) -> Any:
        from alibabacloud_mse20190531 import models
        from alibabacloud_tea_openapi.exceptions import (
            AlibabaCloudException,
            ServerException,
            ThrottlingException,
        )
        from darabonba.exceptions import UnretryableException

        snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in action).lstrip("_")
        request = getattr(models, f"{action}Request")().from_map(dict(params))
        target = f"gateway {self.gateway.gateway_id}"
        try:
            response = getattr(self.client(), snake)(request)
        except (ServerException, ThrottlingException) as error:
            raise TransientApiError(
                f"MSE {action} failed: {error.message}",
                operation=action,
                target=target,
                code=error.code or "",
                status=error.status_code,
                request_id=error.request_id or "",
            ) from error
        except AlibabaCloudException as error:
            raise PermanentApiError(
                f"MSE {action} was refused: {error.message}",
                operation=action,
                target=target,
                code=error.code or "",
                status=error.status_code,
                request_id=error.request_id or "",
            ) from error
        except UnretryableException as error:
            raise TransientApiError(
                f"cannot reach the MSE API: {error}", operation=action, target=target
            ) from error
        body = response.body.to_map()
        if body.get("Success") is False:
            # The second failure shape: HTTP 200 with Success:false; the SDK does not raise.
            raise PermanentApiError(
                f"MSE {action} was refused: {body.get('Message')}",
                operation=action,
                target=target,
                code=str(body.get("ErrorCode") or body.get("Code") or ""),
                status=body.get("HttpStatusCode"),
                request_id=str(body.get("RequestId") or ""),
            )
        return body.get("Data")

    def _base(self) -> dict[str, Any]:
        return {"GatewayUniqueId": self.gateway.gateway_id}

    # ---- the service and its versions ----------------------------------------------------------------

    def service_id(self) -> int:
        """The gateway's id of the Kubernetes service, importing it from the cluster source if needed."""
        if self._service_id is None:
            found = self._find_service()
            if found is None:
                self._import_service()
                found = self._find_service()
            if found is None:
                raise PreconditionError(
                    f"service {self.service.namespace}/{self.service.name} could not be imported into "
                    "MSE gateway "
                    f"{self.gateway.gateway_id}: check that it exists in the cluster connected to the gateway"
                )
            self._service_id = found
        return self._service_id

    def _find_service(self) -> int | None:
        filters = {
            "GatewayUniqueId": self.gateway.gateway_id,
            "Name": self.service.name,
            "Namespace": self.service.namespace,
            "SourceType": "K8S",
        }
        for item in self._pages("ListGatewayService", {"FilterParams": filters}):
            if item.get("Name") == self.service.name and item.get("Namespace") == self.service.namespace:
                return int(item["Id"])
        return None

    def _import_service(self) -> None:
        sources = self.call("ListServiceSource", {**self._base(), "Source": "K8S"}) or []
        kubernetes_sources = [s for s in sources if str(s.get("Type", "K8S")).upper() == "K8S"]
        if not kubernetes_sources:
            raise PreconditionError(
                f"MSE gateway {self.gateway.gateway_id} has no Kubernetes (ACK) service source: "
                "canary releases "
                "work only on Kubernetes services; add the cluster as a service source first"
            )
        service_list = [{"Name": self.service.name, "Namespace": self.service.namespace}]
        self.call(
            "ImportServices",
            {
                **self._base(),
                "SourceType": "K8S",
                "SourceId": kubernetes_sources[0]["Id"],
                "ServiceList": service_list,
            },
        )

    def _pages(self, action: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        page = 1
        while True:
            data = self.call(action, {**params, "PageNumber": page, "PageSize": PAGE_SIZE}) or {}
            batch = data.get("Result") or []
            items.extend(batch)
            if not batch or len(items) >= int(data.get("TotalSize") or 0):
                return items
            page += 1

    def service_detail(self) -> dict[str, Any]:
        return dict(
            self.call("GetGatewayServiceDetail", {**self._base(), "ServiceId": self.service_id()}) or {}
        )

    def versions_and_endpoints(self) -> tuple[dict[str, dict[str, str]], dict[str, int]]:
        versions: dict[str, dict[str, str]] = {}
        ready: dict[str, int] = {}
        for detail in self.service_detail().get("VersionDetails") or []:
            version = detail.get("ServiceVersion") or {}
            name = str(version.get("Name"))
            versions[name] = {label["Key"]: label["Value"] for label in version.get("Labels") or []}
            ready[name] = int(detail.get("EndpointNum") or 0)
        return versions, ready

    def label_values(self, label_key: str) -> set[str]:
        """The values of ``label_key`` on the service's pods, as the gateway discovered them."""
        for detail in self.service_detail().get("LabelDetails") or []:
            if detail.get("Key") == label_key:
                return set(detail.get("Values") or [])
        return set()

    def ensure_version(self, name: str, labels: Mapping[str, str]) -> None:
        versions, _ = self.versions_and_endpoints()
        if versions.get(name) == dict(labels):
            return
        action = "UpdateGatewayServiceVersion" if name in versions else "AddGatewayServiceVersion"
        self.call(
            action,
            {**self._base(), "ServiceId": self.service_id(), "ServiceVersion": version_json(name, labels)},
        )

    def remove_version(self, name: str) -> None:
        versions, _ = self.versions_and_endpoints()
        if name not in versions:
            return
        if any(name in self._route_weights(route) for route in self._routes_of_service()):
            return  # another route of this service still uses it: MSE versions are shared
        self.call(
            "DeleteGatewayServiceVersion",
            {
                **self._base(),
                "ServiceId": self.service_id(),
                "ServiceVersion": version_json(name, versions[name]),
            },
        )

    def _routes_of_service(self) -> list[dict[str, Any]]:
        service_id = self.service_id()
        return [
            route
            for route in self._pages("ListGatewayRoute", {"FilterParams": self._base()})
            if any(int(s.get("ServiceId") or 0) == service_id for s in route.get("RouteServices") or [])
        ]

    def wait_ready(self, version: str, minimum: int, timeout_seconds: float) -> int:
        deadline = time.monotonic() + timeout_seconds
        while True:
            _, ready = self.versions_and_endpoints()
            count = ready.get(version, 0)
            if count >= minimum:
                return count
            if time.monotonic() >= deadline:
                raise NotReadyError(
                    f"version {version} of service {self.service.namespace}/{self.service.name} "
                    f"has {count} ready "
                    f"endpoint(s) on MSE gateway {self.gateway.gateway_id}, needs {minimum}, after waiting "
                    f"{timeout_seconds:.0f}s: check that pods labelled with it are Ready "
                    "(or set allow_unready=True)"
                )
            self._sleep(POLL_SECONDS)

    # ---- routes -----------------------------------------------------------------------------------------

    def route_detail(self, route_id: str) -> dict[str, Any] | None:
        try:
            data = self.call("GetGatewayRouteDetail", {**self._base(), "RouteId": int(route_id)})
        except PermanentApiError as error:
            if error.code in ("NotFound", "404") or error.status == 404:
                return None
            raise
        return dict(data) if data else None

    def _route_weights(self, route: Mapping[str, Any]) -> dict[str, int]:
        if route.get("DestinationType") != "VersionOriented":
            return {}
        service_id = self.service_id()
        entries = route.get("RouteServices") or parse_json(route.get("Services"), [])
        return {
            str(entry["Version"]): int(entry.get("Percent") or 0)
            for entry in entries
            if int(entry.get("ServiceId") or 0) == service_id and entry.get("Version")
        }

    def find_route(self, match: RouteMatchSpec) -> str | None:
        """Our own route (a retried create), else a route to adopt: by name, else by the same path.

        ListGatewayRoute does not return descriptions, so our created route is found by its name (which
        carries a hash of the owner) and confirmed by the marker in its detail.
        """
        routes = self._pages("ListGatewayRoute", {"FilterParams": self._base()})
        own_name = default_route_name(self.service, self.owner)
        for route in routes:
            if route.get("Name") == own_name:
                detail = self.route_detail(str(route["Id"]))
                if detail is not None and detail.get("Description") == owner_marker(self.owner):
                    return str(route["Id"])
        if match.name is not None:
            return next((str(r["Id"]) for r in routes if r.get("Name") == match.name), None)
        for route in routes:
            found = route_predicates(route)
            path = found.get("PathPredicates") or {}
            if found.get("HeaderPredicates"):
                continue  # a header-only route is not the route of this path
            if path.get("Path") == match.path and path.get("Type") == PATH_TYPES[match.path_type]:
                return str(route["Id"])
        return None

    # ---- header-based canary routing: a second route, same path plus header predicates, canary only ----

    def _own_header_route(self, main_route: Mapping[str, Any]) -> dict[str, Any] | None:
        name = header_route_name(str(main_route["Name"]))
        for route in self._pages("ListGatewayRoute", {"FilterParams": self._base()}):
            if route.get("Name") == name:
                detail = self.route_detail(str(route["Id"]))
                if detail is not None and detail.get("Description") == header_route_marker(self.owner):
                    return detail
        return None

    def sync_header_route(self, match: RouteMatchSpec, main_route: Mapping[str, Any]) -> None:
        """Requests carrying ``match.canary_headers`` go to the canary version whatever the weights."""
        existing = self._own_header_route(main_route)
        if not match.canary_headers:
            if existing is not None:
                self._delete_route_detail(existing)
            return
        services = route_services(self.service, self.service_id(), {self.canary_version: 100})
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
            params = {
                **self._base(),
                **wanted,
                "Name": header_route_name(str(main_route["Name"])),
                "DomainIdListJSON": "[]",
            }
            route_id = int(self.call("AddGatewayRoute", params))
            self.call("ApplyGatewayRoute", {**self._base(), "RouteId": route_id})
        elif (
            self._route_weights(existing) != {self.canary_version: 100}
            or route_predicates(existing) != wanted["Predicates"]
        ):
            self._rewrite_route(existing, wanted)

    def _delete_header_route(self, main_route: Mapping[str, Any]) -> None:
        existing = self._own_header_route(main_route)
        if existing is not None:
            self._delete_route_detail(existing)

    def live(self, match: RouteMatchSpec, route_id: str | None) -> LiveRoute:
        versions, ready = self.versions_and_endpoints()
        route = self.route_detail(route_id) if route_id else None
        if route is None:
            found = self.find_route(match)
            route = self.route_detail(found) if found else None
        if route is None:
            return LiveRoute(versions=versions, ready_endpoints=ready)
        return LiveRoute(
            route_id=str(route["Id"]),
            owner=owner_of(route.get("Description"), self.owner),
            versions=versions,
            weights=self._route_weights(route),
            ready_endpoints=ready,
        )

    def _rewrite_route(self, route: Mapping[str, Any], changes: Mapping[str, Any]) -> None:
        """UpdateGatewayRoute resends the whole route; then ApplyGatewayRoute publishes it."""
        params: dict[str, Any] = {**self._base(), "Id": int(route["Id"])}
        for key in KEPT_ROUTE_FIELDS:
            if route.get(key) is not None:
                params[key] = route[key]
        if "DomainIdList" in params:
            params["DomainIdListJSON"] = json.dumps(params.pop("DomainIdList"))
        params["Predicates"] = route_predicates(route)
        params["Services"] = route.get("RouteServices") or parse_json(route.get("Services"), [])
        params["DestinationType"] = route.get("DestinationType")
        params["Description"] = route.get("Description") or ""
        params.update(changes)
        self.call("UpdateGatewayRoute", params)
        self.call("ApplyGatewayRoute", {**self._base(), "RouteId": int(route["Id"])})

    def _require_route(self, route_id: str) -> dict[str, Any]:
        route = self.route_detail(route_id)
        if route is None:
            raise PreconditionError(
                f"route {route_id} no longer exists on MSE gateway {self.gateway.gateway_id}: "
                "run `pulumi refresh`, then `pulumi up` to recreate it"
            )
        return route

    def create_route(self, match: RouteMatchSpec, weights: Mapping[str, int]) -> str:
        existing = self.find_route(match)
        if (
            existing is not None
            and owner_of(self._require_route(existing).get("Description"), self.owner) == "self"
        ):
            self.set_weights(existing, weights)  # an earlier attempt created it
            return existing
        params = {
            **self._base(),
            "Name": match.name or default_route_name(self.service, self.owner),
            "Predicates": predicates(match),
            "DestinationType": "VersionOriented",
            "Services": route_services(self.service, self.service_id(), weights),
            "DomainIdListJSON": "[]",
            "Description": owner_marker(self.owner),
        }
        route_id = str(self.call("AddGatewayRoute", params))
        self.call("ApplyGatewayRoute", {**self._base(), "RouteId": int(route_id)})
        self.sync_header_route(match, self._require_route(route_id))
        return route_id

    def snapshot(self, route_id: str) -> RouteSnapshot:
        route = self._require_route(route_id)
        data = {key: route.get(key) for key in (*KEPT_ROUTE_FIELDS, "Description", "DestinationType")}
        data["Predicates"] = route_predicates(route)
        data["Services"] = route.get("RouteServices") or parse_json(route.get("Services"), [])
        versions = tuple(sorted(self._route_weights(route)))
        return RouteSnapshot(route_id=route_id, referenced_versions=versions, data=data)

    def adopt_route(self, route_id: str, match: RouteMatchSpec) -> RouteSnapshot:
        original = self.snapshot(route_id)
        route = self._require_route(route_id)
        changes: dict[str, Any] = {"Description": owner_marker(self.owner)}
        if match.path is not None:
            changes["Predicates"] = predicates(match)
        self._rewrite_route(route, changes)
        self.sync_header_route(match, self._require_route(route_id))
        return original

    def update_route(self, route_id: str, match: RouteMatchSpec) -> None:
        route = self._require_route(route_id)
        self._rewrite_route(route, {"Predicates": predicates(match)})
        self.sync_header_route(match, self._require_route(route_id))

    def set_weights(self, route_id: str, weights: Mapping[str, int]) -> None:
        route = self._require_route(route_id)
        current = self._route_weights(route)
        if current == dict(weights) and route.get("Status") == 3:
            return
        services = route_services(self.service, self.service_id(), weights)
        self._rewrite_route(route, {"DestinationType": "VersionOriented", "Services": services})
        if self.header_routing:
            self._retarget_header_route(route)  # after a promotion header traffic follows the new canary

    def _retarget_header_route(self, main_route: Mapping[str, Any]) -> None:
        existing = self._own_header_route(main_route)
        if existing is not None and self._route_weights(existing) != {self.canary_version: 100}:
            services = route_services(self.service, self.service_id(), {self.canary_version: 100})
            self._rewrite_route(existing, {"Services": services})

    def restore_route(self, original: RouteSnapshot) -> None:
        route = self._require_route(original.route_id)
        self._delete_header_route(route)
        data = whole_numbers(original.data)
        self._rewrite_route(
            route,
            {
                "Predicates": data.get("Predicates") or {},
                "Services": data.get("Services") or [],
                "DestinationType": data.get("DestinationType"),
                "Description": data.get("Description") or "",
            },
        )

    def release_route(self, route_id: str) -> None:
        route = self.route_detail(route_id)
        if route is not None:
            self._delete_header_route(route)
            self._rewrite_route(route, {"Description": ""})

    def delete_route(self, route_id: str) -> None:
        route = self.route_detail(route_id)
        if route is not None:
            self._delete_header_route(route)
            self._delete_route_detail(route)

    def _delete_route_detail(self, route: Mapping[str, Any]) -> None:
        route_id = int(route["Id"])
        if route.get("Status") in (2, 3, 4):  # the gateway refuses to delete a route that is online
            self.call("OfflineGatewayRoute", {**self._base(), "RouteId": route_id})
        self.call("DeleteGatewayRoute", {**self._base(), "RouteId": route_id})
