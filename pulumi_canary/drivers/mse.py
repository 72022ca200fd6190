"""The MSE cloud-native gateway driver, on the official SDK ``alibabacloud-mse20190531``.

A policy's versions are MSE service versions (a name and a pod label set) of the imported Kubernetes
service; its weights are the ``Percent`` of each entry of a ``VersionOriented`` route, published with
``ApplyGatewayRoute``. MSE has no labels on routes, so ownership is written in the route's
``Description``: ``pulumi-canary:<owner>``, followed for an adopted route by ``;restore=<copy>``, a
compressed copy of what the route was before it was adopted (see :func:`encode_restore_copy`). The copy
travels with the route, so a create that fails after adopting it (Pulumi then records nothing) cannot
make a later delete mistake the route for one the policy created.

Every call is retried with backoff when the failure is transient (HTTP 5xx, throttling, timeouts,
unreachable endpoint); writes that create something (routes, versions) first look for what an earlier,
timed-out attempt may have made. The SDK's timeouts are set explicitly (connect 5 s, read 15 s);
``PULUMI_CANARY_MSE_READ_TIMEOUT_SECONDS`` overrides the read timeout (slow links, tests).

Requests are built as plain wire-shaped dicts (pure functions below) and only then handed to the SDK.
"""

from __future__ import annotations

import base64
import json
import os
import time
import zlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import ApiError, NotReadyError, PermanentApiError, PreconditionError, TransientApiError
from ..model.live import LiveRoute, RouteOwner, RouteSnapshot
from ..model.naming import default_route_name
from ..model.numbers import whole_numbers
from ..model.specs import MseGatewaySpec, RouteMatchSpec, ServiceRefSpec
from .credentials import AlibabaCredentials
from .memo import ReadMemo
from .retry import wait_for_count, with_retries

if TYPE_CHECKING:
    from alibabacloud_mse20190531.client import Client

OWNER_PREFIX = "pulumi-canary:"
RESTORE_TAG = ";restore="
RESTORE_FORMAT = "1."
# MSE documents no limit on a route's Description; stay well under what consoles usually allow.
MAX_DESCRIPTION_LENGTH = 1024
CONNECT_TIMEOUT_MS = 5_000
READ_TIMEOUT_MS = 15_000
READ_TIMEOUT_ENV = "PULUMI_CANARY_MSE_READ_TIMEOUT_SECONDS"
# Route Status values: 2 publishing and 3 published serve what the route says; 0 (never published) and
# 4 (edited, not published) do not: the gateway serves the last published edit, or nothing.
PUBLISHED_STATUSES = (2, 3)
EDITED_NOT_PUBLISHED = 4
# Error codes that say "try again later" whatever the HTTP status (MSE answers some with 400 or 200).
TRANSIENT_CODE_PREFIXES = (
    "Throttling",
    "ServiceUnavailable",
    "InternalError",
    "SystemBusy",
    "System.Busy",
    "RequestTimeout",
    "Busy",
)
NOT_FOUND_CODES = ("NotFound", "404")
ROUTE_SERVICE_FIELDS = (
    "ServiceId",
    "Name",
    "Namespace",
    "SourceType",
    "GroupName",
    "Version",
    "Percent",
    "ServicePort",
)
PATH_TYPES = {"prefix": "PRE", "exact": "EQUAL", "regex": "ERGULAR"}
PAGE_SIZE = 100
MAX_ROUTE_NAME = 63
POLL_SECONDS = 1.0
# Fields of GetGatewayRouteDetail that UpdateGatewayRoute takes back unchanged when we rewrite a route.
KEPT_ROUTE_FIELDS = ("Name", "RouteOrder", "Fallback", "DomainIdList")
READ_PREFIXES = ("Get", "List")


HEADER_ROUTE_SUFFIX = "#canary-headers"


def owner_marker(owner: str) -> str:
    return f"{OWNER_PREFIX}{owner}"


def header_route_marker(owner: str) -> str:
    """The header route is a second route of the same owner, told apart by this suffix."""
    return f"{owner_marker(owner)}{HEADER_ROUTE_SUFFIX}"


def owner_of(description: str | None, owner: str) -> RouteOwner:
    if not description or not description.startswith(OWNER_PREFIX):
        return "unowned"
    marker = description.partition(RESTORE_TAG)[0]
    return "self" if marker == owner_marker(owner) else "other"


def encode_restore_copy(original: RouteSnapshot) -> str:
    """The pre-adoption route, compressed into one Description-safe word (base64url of zlib'd JSON).

    Only what an adoption overwrites is kept: the description, the destination type, the services (the
    fields UpdateGatewayRoute takes; the detail's duplicates such as ``ServiceName`` are left out) and
    the predicates.
    """
    data = original.data
    services = [
        {key: entry[key] for key in ROUTE_SERVICE_FIELDS if entry.get(key) not in (None, "")}
        for entry in data.get("Services") or []
    ]
    carried = {
        "d": data.get("Description") or "",
        "t": data.get("DestinationType"),
        "s": services,
        "p": data.get("Predicates") or {},
        "v": list(original.referenced_versions),
    }
    packed = zlib.compress(json.dumps(carried, separators=(",", ":")).encode(), 9)
    return RESTORE_FORMAT + base64.urlsafe_b64encode(packed).decode().rstrip("=")


def decode_restore_copy(description: str | None, route_id: str) -> RouteSnapshot | None:
    """The snapshot :func:`encode_restore_copy` put after the marker; None when there is none or it is
    damaged (then the route is treated as one the policy created only if nothing else says otherwise)."""
    if not description or RESTORE_TAG not in description:
        return None
    word = description.rpartition(RESTORE_TAG)[2]
    if not word.startswith(RESTORE_FORMAT):
        return None
    try:
        payload = word[len(RESTORE_FORMAT) :]
        packed = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        carried = json.loads(zlib.decompress(packed))
        data = {
            "Description": str(carried["d"]),
            "DestinationType": carried["t"],
            "Services": list(carried["s"]),
            "Predicates": dict(carried["p"]),
        }
        versions = tuple(str(version) for version in carried["v"])
    except (ValueError, KeyError, TypeError, zlib.error):
        return None
    return RouteSnapshot(route_id=route_id, referenced_versions=versions, data=data)


def adopted_description(owner: str, original: RouteSnapshot) -> str:
    """Our marker plus the restore copy; the original description is dropped from the copy if that is
    what it takes to fit. A route too large even then is refused before anything is written."""
    marker = owner_marker(owner)
    full = f"{marker}{RESTORE_TAG}{encode_restore_copy(original)}"
    if len(full) <= MAX_DESCRIPTION_LENGTH:
        return full
    trimmed = RouteSnapshot(
        original.route_id, original.referenced_versions, {**original.data, "Description": ""}
    )
    short = f"{marker}{RESTORE_TAG}{encode_restore_copy(trimmed)}"
    if len(short) <= MAX_DESCRIPTION_LENGTH:
        return short
    raise PreconditionError(
        f"route {original.route_id} has too many destinations to keep a copy of it on the route itself "
        f"({len(short)} characters, at most {MAX_DESCRIPTION_LENGTH}), so it could not be restored safely "
        "if this update failed half way: let the policy create its own route (give route.path, no name)"
    )


def is_transient(status: int | None, code: str) -> bool:
    """Whether an MSE failure is worth retrying: 5xx, 408/429, or a throttling/busy error code."""
    if status is not None and (status >= 500 or status in (408, 429)):
        return True
    return code.startswith(TRANSIENT_CODE_PREFIXES)


def is_not_found(error: ApiError) -> bool:
    return error.status == 404 or error.code in NOT_FOUND_CODES or error.code.startswith("NotFound")


def read_timeout_ms() -> int:
    raw = os.environ.get(READ_TIMEOUT_ENV, "")
    try:
        seconds = float(raw)
    except ValueError:
        return READ_TIMEOUT_MS
    return int(seconds * 1000) if seconds > 0 else READ_TIMEOUT_MS


def known(value: Any) -> str:
    """The SDK formats missing values as the text ``None``."""
    return "" if value in (None, "", "None") else str(value)


def read_family(action: str) -> str:
    """What a write can change and a read can see: ``route`` (routes) or ``service`` (services, their
    versions, service sources)."""
    return "route" if "Route" in action else "service"


def call_target(gateway_id: str, params: Mapping[str, Any]) -> str:
    """The object a call is about, for error messages: the gateway plus the route or service."""
    parts = [f"gateway {gateway_id}"]
    route = params.get("RouteId", params.get("Id"))
    if route is not None:
        parts.append(f"route {route}")
    if params.get("ServiceId") is not None:
        parts.append(f"service {params['ServiceId']}")
    if params.get("Name"):
        parts.append(f"name {params['Name']}")
    return ", ".join(parts)


def route_name_for(service: ServiceRefSpec, owner: str) -> str:
    """MSE route names are lowercase, digits and '-' (63 at most)."""
    return default_route_name(f"{service.name}-{service.namespace}", owner, MAX_ROUTE_NAME)


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


def route_predicates(route: Mapping[str, Any]) -> dict[str, Any]:
    return dict(parse_json(route.get("Predicates"), {}) or route.get("RoutePredicates") or {})


def parse_json(value: Any, default: Any) -> Any:
    if isinstance(value, str):
        return json.loads(value) if value else default
    return default if value is None else value


def api_error(
    action: str,
    target: str,
    message: str,
    *,
    code: str,
    status: int | None,
    request_id: str,
    throttled: bool = False,
    retry_after_ms: Any = None,
) -> ApiError:
    """Our error for a refused MSE call: transient (retried) or permanent, saying what to do next."""
    if throttled or is_transient(status, code):
        asked = isinstance(retry_after_ms, int | float) and retry_after_ms > 0
        wait = retry_after_ms / 1000 if asked else None
        return TransientApiError(
            f"MSE {action} failed: {message}; retried with backoff: run `pulumi up` again later if it "
            "keeps failing",
            operation=action,
            target=target,
            code=code,
            status=status,
            request_id=request_id,
            retry_after_seconds=wait,
        )
    return PermanentApiError(
        f"MSE {action} was refused: {message}; fix the cause (permissions, gateway, parameters) and run "
        "`pulumi up` again, quoting the request id to Alibaba Cloud support if it is unclear",
        operation=action,
        target=target,
        code=code,
        status=status,
        request_id=request_id,
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
        self._reads = ReadMemo()

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
                connect_timeout=CONNECT_TIMEOUT_MS,
                read_timeout=read_timeout_ms(),
            )
            self._client = Client(config)
        return self._client

    def call(self, action: str, params: Mapping[str, Any], *, fresh: bool = False) -> Any:
        """Call ``action`` with wire-shaped ``params``; returns the response body's ``Data``.

        Reads are answered again from memory (see ``memo``) until this driver writes something of the
        same family: routes, or services and their versions. ``fresh`` asks the gateway anyway."""

        def once() -> Any:
            return with_retries(lambda: self._call_once(action, params), sleep=self._sleep)

        if not action.startswith(READ_PREFIXES):
            family = read_family(action)
            self._reads.forget(keep=lambda key: read_family(str(key[0])) != family)
            return once()
        return self._reads.read((action, json.dumps(params, sort_keys=True)), once, fresh=fresh)

    def _call_once(self, action: str, params: Mapping[str, Any]) -> Any:
        from alibabacloud_mse20190531 import models
        from alibabacloud_tea_openapi.exceptions import AlibabaCloudException, ThrottlingException
        from darabonba.exceptions import UnretryableException

        snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in action).lstrip("_")
        request = getattr(models, f"{action}Request")().from_map(dict(params))
        target = call_target(self.gateway.gateway_id, params)
        try:
            response = getattr(self.client(), snake)(request)
        except AlibabaCloudException as error:
            # ClientException (4xx), ServerException (5xx), ThrottlingException (x-acs-retry-after).
            data = error.data if isinstance(error.data, Mapping) else {}
            raise api_error(
                action,
                target,
                str(data.get("Message") or error.message),
                code=str(error.code or ""),
                status=error.status_code,
                request_id=known(error.request_id) or known(data.get("RequestId")),
                throttled=isinstance(error, ThrottlingException),
                retry_after_ms=getattr(error, "retry_after", None),
            ) from error
        except UnretryableException as error:
            # Connection refused, DNS, TLS, timeouts, or an answer that is not JSON (a proxy's error page).
            endpoint = self.gateway.endpoint or f"mse.{self.gateway.region}.aliyuncs.com"
            raise TransientApiError(
                f"MSE {action} got no usable answer from {endpoint}: {error}; "
                "retried with backoff: check the network or the endpoint, then run `pulumi up` again",
                operation=action,
                target=target,
            ) from error
        body = response.body.to_map()
        if body.get("Success") is False:
            # The second failure shape: HTTP 200 with Success:false; the SDK does not raise.
            status = body.get("HttpStatusCode") or body.get("Code")
            raise api_error(
                action,
                target,
                str(body.get("Message") or "no message"),
                code=str(body.get("ErrorCode") or body.get("Code") or ""),
                status=int(status) if isinstance(status, int | str) and str(status).isdigit() else None,
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

    def known_service_id(self) -> int | None:
        """The service's id if the gateway has it already: reading never imports anything (a delete of a
        policy whose Service is gone from the cluster must not fail trying to import it)."""
        if self._service_id is None:
            self._service_id = self._find_service()
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

    def service_detail(self, *, fresh: bool = False) -> dict[str, Any]:
        params = {**self._base(), "ServiceId": self.service_id()}
        return dict(self.call("GetGatewayServiceDetail", params, fresh=fresh) or {})

    def versions_and_endpoints(
        self, *, fresh: bool = False
    ) -> tuple[dict[str, dict[str, str]], dict[str, int]]:
        """Versions of the service and their ready endpoints; both empty while it is not imported."""
        if self.known_service_id() is None:
            return {}, {}
        versions: dict[str, dict[str, str]] = {}
        ready: dict[str, int] = {}
        for detail in self.service_detail(fresh=fresh).get("VersionDetails") or []:
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

    def ensure_versions(self, wanted: Mapping[str, Mapping[str, str]]) -> None:
        # One read serves every version: defining one version leaves the others as they were read.
        versions, _ = self.versions_and_endpoints()
        for name, labels in wanted.items():
            if versions.get(name) != dict(labels):
                self._define_version(name, labels, exists=name in versions)

    def _define_version(self, name: str, labels: Mapping[str, str], *, exists: bool) -> None:
        action = "UpdateGatewayServiceVersion" if exists else "AddGatewayServiceVersion"
        params = {
            **self._base(),
            "ServiceId": self.service_id(),
            "ServiceVersion": version_json(name, labels),
        }
        try:
            self.call(action, params)
        except ApiError:
            # An attempt that timed out may have defined it after all (its retry then reads Duplicate).
            if self.versions_and_endpoints()[0].get(name) != dict(labels):
                raise

    def remove_version(self, name: str) -> None:
        versions, _ = self.versions_and_endpoints()
        if name not in versions:
            return
        if any(name in self._route_weights(route) for route in self._routes_of_service()):
            return  # another route of this service still uses it: MSE versions are shared
        params = {
            **self._base(),
            "ServiceId": self.service_id(),
            "ServiceVersion": version_json(name, versions[name]),
        }
        try:
            self.call("DeleteGatewayServiceVersion", params)
        except ApiError as error:
            if not is_not_found(error):
                raise

    def _routes_of_service(self) -> list[dict[str, Any]]:
        service_id = self.known_service_id()
        return [
            route
            for route in self._routes()
            if any(int(s.get("ServiceId") or 0) == service_id for s in route.get("RouteServices") or [])
        ]

    def _routes(self, **filters: str | None) -> list[dict[str, Any]]:
        """The gateway's routes, narrowed by the gateway to those whose ``Name`` or ``Path`` matches
        (a ``None`` filter narrows nothing).

        The documentation does not say whether these filters match exactly or by substring, so callers
        compare what they look for themselves; the filter only keeps a create from reading every route
        of a gateway that holds hundreds."""
        given = {key: value for key, value in filters.items() if value is not None}
        return self._pages("ListGatewayRoute", {"FilterParams": {**self._base(), **given}})

    def wait_ready(self, version: str, minimum: int, timeout_seconds: float) -> int:
        def too_few(count: int) -> NotReadyError:
            return NotReadyError(
                f"version {version} of service {self.service.namespace}/{self.service.name} "
                f"has {count} ready "
                f"endpoint(s) on MSE gateway {self.gateway.gateway_id}, needs {minimum}, after waiting "
                f"{timeout_seconds:.0f}s; traffic was not moved: check that pods labelled with it are "
                "Ready, raise readiness_timeout_seconds, or set allow_unready=True"
            )

        return wait_for_count(
            lambda fresh: self.versions_and_endpoints(fresh=fresh)[1].get(version, 0),
            minimum,
            timeout_seconds,
            too_few=too_few,
            sleep=self._sleep,
            every_seconds=POLL_SECONDS,
        )

    # ---- routes -----------------------------------------------------------------------------------------

    def route_detail(self, route_id: str) -> dict[str, Any] | None:
        try:
            data = self.call("GetGatewayRouteDetail", {**self._base(), "RouteId": int(route_id)})
        except PermanentApiError as error:
            if is_not_found(error):
                return None
            raise
        return dict(data) if data else None

    def _service_id_in(self, route: Mapping[str, Any]) -> int | None:
        """The service's id as a route to it names it: saves looking the service up by name."""
        for entry in route.get("RouteServices") or parse_json(route.get("Services"), []):
            named = (entry.get("Name"), entry.get("Namespace")) == (self.service.name, self.service.namespace)
            if named and entry.get("SourceType", "K8S") == "K8S":
                return int(entry["ServiceId"]) if entry.get("ServiceId") else None
        return None

    def _route_weights(self, route: Mapping[str, Any]) -> dict[str, int]:
        if route.get("DestinationType") != "VersionOriented":
            return {}
        service_id = self.known_service_id()
        entries = route.get("RouteServices") or parse_json(route.get("Services"), [])
        return {
            str(entry["Version"]): int(entry.get("Percent") or 0)
            for entry in entries
            if int(entry.get("ServiceId") or 0) == service_id and entry.get("Version")
        }

    def _own_route(self, match: RouteMatchSpec) -> str | None:
        """The route this owner created, e.g. by an earlier attempt that failed or timed out.

        ListGatewayRoute does not return descriptions, so it is found by its name (ours carries a hash
        of the owner) and confirmed by the marker in its detail.
        """
        name = match.name or route_name_for(self.service, self.owner)
        for route in self._routes(Name=name):
            if route.get("Name") == name:
                detail = self.route_detail(str(route["Id"]))
                if detail is not None and owner_of(detail.get("Description"), self.owner) == "self":
                    return str(route["Id"])
        return None

    def find_route(self, match: RouteMatchSpec) -> str | None:
        """Our own route (a retried create), else a route to adopt: by name, else by the same path."""
        own = self._own_route(match)
        if own is not None:
            return own
        if match.name is not None:
            named = self._routes(Name=match.name)
            return next((str(route["Id"]) for route in named if route.get("Name") == match.name), None)
        for route in self._routes(Path=match.path):
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
        for route in self._routes(Name=name):
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
            try:
                route_id = int(self.call("AddGatewayRoute", params))
            except ApiError:
                found = self._own_header_route(main_route)  # a timed-out attempt made it after all
                if found is None:
                    raise
                route_id = int(found["Id"])
            self.call("ApplyGatewayRoute", {**self._base(), "RouteId": route_id})
        elif (
            self._route_weights(existing) != {self.canary_version: 100}
            or route_predicates(existing) != wanted["Predicates"]
        ):
            self._rewrite_route(existing, wanted)
        elif existing.get("Status") not in PUBLISHED_STATUSES:
            self._publish(int(existing["Id"]))

    def _delete_header_route(self, main_route: Mapping[str, Any]) -> None:
        existing = self._own_header_route(main_route)
        if existing is not None:
            self._delete_route_detail(existing)

    def live(self, match: RouteMatchSpec, route_id: str | None, *, readiness: bool = True) -> LiveRoute:
        # ``readiness`` changes nothing here: GetGatewayServiceDetail answers versions and ready endpoints
        # together.
        route = self.route_detail(route_id) if route_id else None
        if route is None:
            found = self.find_route(match)
            route = self.route_detail(found) if found else None
        if route is not None and self._service_id is None:
            self._service_id = self._service_id_in(route)
        versions, ready = self.versions_and_endpoints()
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
            weights=self._route_weights(route) if route.get("Status") in PUBLISHED_STATUSES else {},
            unapplied_edit=route.get("Status") == EDITED_NOT_PUBLISHED,
            ready_endpoints=ready,
            original=decode_restore_copy(route.get("Description"), found_id) if owner == "self" else None,
        )

    def _publish(self, route_id: int) -> None:
        self.call("ApplyGatewayRoute", {**self._base(), "RouteId": route_id})

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
        self._publish(int(route["Id"]))

    def _require_route(self, route_id: str) -> dict[str, Any]:
        route = self.route_detail(route_id)
        if route is None:
            raise PreconditionError(
                f"route {route_id} no longer exists on MSE gateway {self.gateway.gateway_id}: "
                "run `pulumi refresh`, then `pulumi up` to recreate it"
            )
        return route

    def create_route(self, match: RouteMatchSpec, weights: Mapping[str, int]) -> str:
        route_id = self._own_route(match)  # an earlier attempt may have created it already
        if route_id is None:
            params = {
                **self._base(),
                "Name": match.name or route_name_for(self.service, self.owner),
                "Predicates": predicates(match),
                "DestinationType": "VersionOriented",
                "Services": route_services(self.service, self.service_id(), weights),
                "DomainIdListJSON": "[]",
                "Description": owner_marker(self.owner),
            }
            try:
                route_id = str(self.call("AddGatewayRoute", params))
            except ApiError:
                # A timed-out attempt may have created it; its retry then reads Duplicate.RouteName.
                route_id = self._own_route(match)
                if route_id is None:
                    raise
            else:
                if not match.canary_headers:
                    # Just added with these weights, and no header route can belong to a route this new.
                    self._publish(int(route_id))
                    return route_id
        self.set_weights(route_id, weights)  # publishes a new route; corrects one an earlier attempt left
        self.sync_header_route(match, self._require_route(route_id))
        return route_id

    def snapshot(self, route_id: str) -> RouteSnapshot:
        return self._snapshot_of(self._require_route(route_id))

    def _snapshot_of(self, route: Mapping[str, Any]) -> RouteSnapshot:
        data = {key: route.get(key) for key in (*KEPT_ROUTE_FIELDS, "Description", "DestinationType")}
        data["Predicates"] = route_predicates(route)
        data["Services"] = route.get("RouteServices") or parse_json(route.get("Services"), [])
        versions = tuple(sorted(self._route_weights(route)))
        return RouteSnapshot(route_id=str(route["Id"]), referenced_versions=versions, data=data)

    def adopt_route(self, route_id: str, match: RouteMatchSpec) -> RouteSnapshot:
        route = self._require_route(route_id)
        original = self._snapshot_of(route)
        # The copy goes onto the route in the same write that marks it ours: if anything later fails and
        # Pulumi records nothing, the next run still knows the route was adopted and how to restore it.
        changes: dict[str, Any] = {"Description": adopted_description(self.owner, original)}
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
        if self._route_weights(route) == dict(weights) and route.get("DestinationType") == "VersionOriented":
            if route.get("Status") not in PUBLISHED_STATUSES:
                self._publish(int(route["Id"]))  # written by an attempt whose publish failed
        else:
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
        # Two writes: the original destinations are published while the route still carries our marker,
        # and only then is it handed back. Should publishing fail, the route is still ours and the next
        # run restores it again, instead of leaving an unpublished restore that nobody owns.
        self._rewrite_route(
            route,
            {
                "Predicates": data.get("Predicates") or {},
                "Services": data.get("Services") or [],
                "DestinationType": data.get("DestinationType"),
            },
        )
        self._rewrite_route(
            self._require_route(original.route_id), {"Description": data.get("Description") or ""}
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
        """Take the route offline (the gateway refuses to delete a route that is online), then delete it;
        a route already offline or already gone is fine."""
        route_id = int(route["Id"])
        if route.get("Status") in (2, 3, 4):
            try:
                self.call("OfflineGatewayRoute", {**self._base(), "RouteId": route_id})
            except ApiError:
                current = self.route_detail(str(route_id))  # a timed-out attempt may have done it
                if current is not None and current.get("Status") in (2, 3, 4):
                    raise
        try:
            self.call("DeleteGatewayRoute", {**self._base(), "RouteId": route_id})
        except ApiError as error:
            if not is_not_found(error):
                raise
