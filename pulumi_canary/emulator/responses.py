"""Translation between the RPC wire format and :class:`MseBackend`: one method per API action.

Every parameter arrives in the query string as text: integers as decimal strings, booleans as
``true``/``True``, nested values as one JSON-encoded parameter (``Predicates``, ``Services``,
``FilterParams``, ``ServiceList``, and ``ServiceVersion``, whose keys are lowercase). Answers use the
envelope ``{RequestId, Code, HttpStatusCode, Message, Success, Data}``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from pulumi_canary.emulator.exceptions import ActionNotFoundError, InvalidParameterError, MseApiError
from pulumi_canary.emulator.models import (
    ListQuery,
    MseBackend,
    Page,
    Predicates,
    RouteInput,
    RouteService,
    ServiceVersion,
)

__all__ = ["MseResponses", "hard_error_body", "new_request_id", "soft_error_body", "success_body"]


def new_request_id() -> str:
    return str(uuid.uuid4()).upper()


def success_body(request_id: str, data: Any) -> dict[str, Any]:
    return {
        "RequestId": request_id,
        "Code": 200,
        "HttpStatusCode": 200,
        "Message": "success",
        "Success": True,
        "Data": data,
    }


def soft_error_body(request_id: str, code: int, error_code: str, message: str) -> dict[str, Any]:
    """Failure shape (2): sent with HTTP 200; the SDK does not raise, callers must read ``Success``."""
    return {
        "RequestId": request_id,
        "Code": code,
        "HttpStatusCode": code,
        "ErrorCode": error_code,
        "Message": message,
        "Success": False,
        "Data": None,
    }


def hard_error_body(request_id: str, code: str, message: str, host_id: str) -> dict[str, Any]:
    """Failure shape (1): sent with an HTTP 4xx/5xx status, which makes the SDK raise."""
    return {
        "RequestId": request_id,
        "Code": code,
        "Message": message,
        "HostId": host_id,
        "Recommend": f"The MSE emulator refused the call ({code}); see GET /_emulator/requests.",
    }


class _Params:
    """Typed access to the query parameters of one call; bad values raise ``InvalidParameterError``."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = values

    def text(self, name: str, *, required: bool = True) -> str:
        value = self._values.get(name, "")
        if required and not value.strip():
            raise InvalidParameterError(f"{name} is required")
        return value

    def integer(self, name: str, *, default: int | None = None) -> int:
        value = self._values.get(name, "").strip()
        if not value:
            if default is None:
                raise InvalidParameterError(f"{name} is required")
            return default
        try:
            return int(value)
        except ValueError as error:
            raise InvalidParameterError(f"{name} must be an integer, got {value!r}") from error

    def flag(self, name: str, *, default: bool = False) -> bool:
        value = self._values.get(name, "").strip().lower()
        if not value:
            return default
        if value not in ("true", "false"):
            raise InvalidParameterError(f"{name} must be true or false, got {value!r}")
        return value == "true"

    def json(self, name: str, *, required: bool = True, default: Any = None) -> Any:
        value = self._values.get(name, "")
        if not value.strip():
            if required:
                raise InvalidParameterError(f"{name} is required")
            return default
        try:
            return json.loads(value)
        except json.JSONDecodeError as error:
            raise InvalidParameterError(f"{name} is not valid JSON: {error}") from error

    def json_object(self, name: str) -> Mapping[str, Any]:
        value = self.json(name, required=False, default={})
        if not isinstance(value, Mapping):
            raise InvalidParameterError(f"{name} must be a JSON object")
        return value

    def json_list(self, name: str, *, required: bool = False) -> list[Any]:
        value = self.json(name, required=required, default=[])
        if not isinstance(value, list):
            raise InvalidParameterError(f"{name} must be a JSON array")
        return value


class MseResponses:
    """Dispatches an action name and its query parameters to the backend and builds the answer."""

    def __init__(self, backend: MseBackend) -> None:
        self.backend = backend
        self._actions: dict[str, Callable[[_Params], Any]] = {
            "ListGateway": self.list_gateway,
            "GetGateway": self.get_gateway,
            "AddServiceSource": self.add_service_source,
            "ListServiceSource": self.list_service_source,
            "ImportServices": self.import_services,
            "ListGatewayService": self.list_gateway_service,
            "GetGatewayServiceDetail": self.get_gateway_service_detail,
            "AddGatewayServiceVersion": self.add_gateway_service_version,
            "UpdateGatewayServiceVersion": self.update_gateway_service_version,
            "DeleteGatewayServiceVersion": self.delete_gateway_service_version,
            "AddGatewayRoute": self.add_gateway_route,
            "UpdateGatewayRoute": self.update_gateway_route,
            "ApplyGatewayRoute": self.apply_gateway_route,
            "OfflineGatewayRoute": self.offline_gateway_route,
            "DeleteGatewayRoute": self.delete_gateway_route,
            "GetGatewayRouteDetail": self.get_gateway_route_detail,
            "ListGatewayRoute": self.list_gateway_route,
        }

    @property
    def actions(self) -> frozenset[str]:
        """The action names the emulator implements."""
        return frozenset(self._actions)

    def handle(
        self, action: str, params: Mapping[str, str], request_id: str, host_id: str
    ) -> tuple[int, dict[str, Any]]:
        """(HTTP status, JSON body) for one call; every API error becomes one of the two failure shapes."""
        try:
            data = self.dispatch(action, params)
        except MseApiError as error:
            return error_response(error, request_id, host_id)
        return 200, success_body(request_id, data)

    def dispatch(self, action: str, params: Mapping[str, str]) -> Any:
        handler = self._actions.get(action)
        if handler is None:
            raise ActionNotFoundError(
                f"Specified api {action or '(none)'!r} is not found: the MSE emulator implements "
                f"{', '.join(sorted(self._actions))}."
            )
        return handler(_Params(params))

    # ------------------------------------------------------------ gateways and sources

    def list_gateway(self, params: _Params) -> dict[str, Any]:
        return _page(self.backend.list_gateway(_list_query(params), params.json_object("FilterParams")))

    def get_gateway(self, params: _Params) -> dict[str, Any]:
        return self.backend.get_gateway(params.text("GatewayUniqueId")).describe()

    def add_service_source(self, params: _Params) -> int:
        options = params.json("IngressOptionsRequest", required=False, default=None)
        return self.backend.add_service_source(
            params.text("GatewayUniqueId"),
            name=params.text("Name"),
            address=params.text("Address"),
            source_type=params.text("Type", required=False) or "K8S",
            source=params.text("Source", required=False) or "K8S",
            ingress_options=options if isinstance(options, Mapping) else None,
        )

    def list_service_source(self, params: _Params) -> list[dict[str, Any]]:
        sources = self.backend.list_service_source(
            params.text("GatewayUniqueId"), params.text("Source", required=False)
        )
        return [source.describe() for source in sources]

    # ------------------------------------------------------------ services and versions

    def import_services(self, params: _Params) -> bool:
        self.backend.import_services(
            params.text("GatewayUniqueId"),
            source_type=params.text("SourceType"),
            source_id=params.integer("SourceId"),
            services=params.json_list("ServiceList", required=True),
        )
        return True

    def list_gateway_service(self, params: _Params) -> dict[str, Any]:
        return _page(
            self.backend.list_gateway_service(_list_query(params), params.json_object("FilterParams"))
        )

    def get_gateway_service_detail(self, params: _Params) -> dict[str, Any]:
        detail = self.backend.get_gateway_service_detail(
            params.text("GatewayUniqueId"), params.integer("ServiceId")
        )
        return detail.describe()

    def add_gateway_service_version(self, params: _Params) -> int:
        version = ServiceVersion.from_wire(params.json("ServiceVersion"))
        return self.backend.add_gateway_service_version(
            params.text("GatewayUniqueId"), params.integer("ServiceId"), version
        )

    def update_gateway_service_version(self, params: _Params) -> int:
        version = ServiceVersion.from_wire(params.json("ServiceVersion"))
        return self.backend.update_gateway_service_version(
            params.text("GatewayUniqueId"), params.integer("ServiceId"), version
        )

    def delete_gateway_service_version(self, params: _Params) -> int:
        body = params.json("ServiceVersion")
        name = body.get("name") if isinstance(body, Mapping) else None
        if not isinstance(name, str) or not name:
            raise InvalidParameterError('ServiceVersion must be a JSON object with a "name"')
        return self.backend.delete_gateway_service_version(
            params.text("GatewayUniqueId"), params.integer("ServiceId"), name
        )

    # ------------------------------------------------------------ routes

    def add_gateway_route(self, params: _Params) -> int:
        return self.backend.add_gateway_route(params.text("GatewayUniqueId"), _route_input(params))

    def update_gateway_route(self, params: _Params) -> int:
        return self.backend.update_gateway_route(
            params.text("GatewayUniqueId"), params.integer("Id"), _route_input(params)
        )

    def apply_gateway_route(self, params: _Params) -> bool:
        self.backend.apply_gateway_route(params.text("GatewayUniqueId"), params.integer("RouteId"))
        return True

    def offline_gateway_route(self, params: _Params) -> bool:
        self.backend.offline_gateway_route(params.text("GatewayUniqueId"), params.integer("RouteId"))
        return True

    def delete_gateway_route(self, params: _Params) -> dict[str, Any]:
        route = self.backend.delete_gateway_route(params.text("GatewayUniqueId"), params.integer("RouteId"))
        return route.describe_deleted()

    def get_gateway_route_detail(self, params: _Params) -> dict[str, Any]:
        gateway = params.text("GatewayUniqueId", required=False) or None
        return self.backend.get_gateway_route_detail(gateway, params.integer("RouteId")).describe()

    def list_gateway_route(self, params: _Params) -> dict[str, Any]:
        return _page(self.backend.list_gateway_route(_list_query(params), params.json_object("FilterParams")))


def error_response(error: MseApiError, request_id: str, host_id: str) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body) of an error in the shape its kind calls for."""
    if error.soft:
        return 200, soft_error_body(request_id, error.http_status, error.code, error.message)
    return error.http_status, hard_error_body(request_id, error.code, error.message, host_id)


def _list_query(params: _Params) -> ListQuery:
    return ListQuery(
        page_number=params.integer("PageNumber", default=1),
        page_size=params.integer("PageSize", default=10),
        order_item=params.text("OrderItem", required=False),
        desc_sort=params.flag("DescSort"),
    )


def _page(page: Page[dict[str, Any]]) -> dict[str, Any]:
    return {
        "TotalSize": page.total_size,
        "PageNumber": page.page_number,
        "PageSize": page.page_size,
        "Result": page.items,
    }


def _route_input(params: _Params) -> RouteInput:
    direct_response = params.json("DirectResponseJSON", required=False)
    redirect = params.json("RedirectJSON", required=False)
    return RouteInput(
        name=params.text("Name"),
        predicates=Predicates.from_wire(params.json("Predicates")),
        destination_type=params.text("DestinationType"),
        services=tuple(RouteService.from_wire(item) for item in params.json_list("Services")),
        domain_ids=_domain_ids(params),
        route_order=params.integer("RouteOrder", default=1),
        fallback=params.flag("Fallback"),
        fallback_services=tuple(
            RouteService.from_wire(item, "FallbackServices[]")
            for item in params.json_list("FallbackServices")
        ),
        description=params.text("Description", required=False),
        enable_waf=params.flag("EnableWaf"),
        direct_response=_optional_object(direct_response, "DirectResponseJSON"),
        redirect=_optional_object(redirect, "RedirectJSON"),
    )


def _domain_ids(params: _Params) -> tuple[int, ...]:
    # DomainIdListJSON is the current parameter; the single DomainId is its older form.
    ids = params.json_list("DomainIdListJSON")
    if not ids and params.text("DomainId", required=False):
        ids = [params.integer("DomainId")]
    if any(not isinstance(item, int) or isinstance(item, bool) for item in ids):
        raise InvalidParameterError(f"DomainIdListJSON must be a JSON array of integers, got {ids!r}")
    return tuple(ids)


def _optional_object(value: Any, name: str) -> Mapping[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidParameterError(f"{name} must be a JSON object")
    return value
