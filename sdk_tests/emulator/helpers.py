"""SDK-side helpers for the emulator tests: every call goes through the official MSE client."""

from __future__ import annotations

import json
from typing import Any

from alibabacloud_mse20190531 import models as mse
from alibabacloud_mse20190531.client import Client
from alibabacloud_tea_openapi.models import Config

ACCESS_KEY_ID = "test-ak-id"
ACCESS_KEY_SECRET = "test-ak-secret"
GATEWAY = "gw-test"
CLUSTER = "c-test"


def make_client(
    endpoint: str,
    *,
    secret: str = ACCESS_KEY_SECRET,
    access_key_id: str = ACCESS_KEY_ID,
    signature_algorithm: str | None = None,
    read_timeout_ms: int | None = None,
) -> Client:
    config = Config(
        access_key_id=access_key_id,
        access_key_secret=secret,
        endpoint=endpoint,
        protocol="http",
        region_id="cn-hangzhou",
        read_timeout=read_timeout_ms,
    )
    if signature_algorithm is not None:
        config.signature_algorithm = signature_algorithm
    return Client(config)


def version_json(name: str, **labels: str) -> str:
    return json.dumps({"name": name, "labels": [{"key": k, "value": v} for k, v in labels.items()]})


def path_predicates(path: str, match: str = "PRE") -> mse.AddGatewayRouteRequestPredicates:
    return mse.AddGatewayRouteRequestPredicates(
        path_predicates=mse.AddGatewayRouteRequestPredicatesPathPredicates(
            path=path, type=match, ignore_case=False
        )
    )


def weighted(service_id: int, weights: dict[str, Any]) -> list[mse.AddGatewayRouteRequestServices]:
    return [
        mse.AddGatewayRouteRequestServices(
            service_id=service_id,
            version=version,
            percent=percent,
            name="cart",
            namespace="shop",
            source_type="K8S",
            service_port=8080,
        )
        for version, percent in weights.items()
    ]


def add_route_request(
    service_id: int, weights: dict[str, Any], *, name: str = "cart-route", path: str = "/cart"
) -> mse.AddGatewayRouteRequest:
    return mse.AddGatewayRouteRequest(
        gateway_unique_id=GATEWAY,
        name=name,
        domain_id_list_json="[1]",
        destination_type="VersionOriented",
        route_order=1,
        fallback=False,
        predicates=path_predicates(path),
        services=weighted(service_id, weights),
    )


def update_route_request(
    route_id: int, service_id: int, weights: dict[str, Any], *, name: str = "cart-route", path: str = "/cart"
) -> mse.UpdateGatewayRouteRequest:
    return mse.UpdateGatewayRouteRequest(
        id=route_id,
        gateway_unique_id=GATEWAY,
        name=name,
        domain_id_list_json="[1]",
        destination_type="VersionOriented",
        route_order=1,
        fallback=False,
        predicates=mse.UpdateGatewayRouteRequestPredicates(
            path_predicates=mse.UpdateGatewayRouteRequestPredicatesPathPredicates(
                path=path, type="PRE", ignore_case=False
            )
        ),
        services=[
            mse.UpdateGatewayRouteRequestServices(
                service_id=service_id,
                version=version,
                percent=percent,
                name="cart",
                namespace="shop",
                source_type="K8S",
                service_port=8080,
            )
            for version, percent in weights.items()
        ],
    )
