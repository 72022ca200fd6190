"""Shared pieces of the MSE engine tests: a program a test edits between runs, gateway views, and the
official SDK as a person in the MSE console uses it (routes made by hand, their details)."""

from __future__ import annotations

import json
from typing import Any

import pulumi_canary as canary
from pulumi_canary.emulator import EmulatorServer
from sdk_tests.engine.conftest import SERVICE

QUIET = {"on_output": lambda _line: None}
# What every engine-test policy declares. These tests read objects back, not traffic: the drain between a
# weight move and a removal is proven with real requests (sdk_tests/traffic) and would only add seconds.
POLICY_SETTINGS = {"label_key": "version", "readiness_timeout_seconds": 60, "drain_seconds": 0}


def route_weights(emulator: EmulatorServer, gateway_id: str) -> dict[str, int]:
    """What the gateway would actually route: the published route's per-version percentages."""
    routes = [r for r in gateway_routes(emulator, gateway_id) if not r["Predicates"].get("HeaderPredicates")]
    assert len(routes) == 1, routes
    (route,) = routes
    assert route["Status"] == 3, "the route must be published"
    return {entry["Version"]: entry["Percent"] for entry in route["RouteServices"]}


def gateway_routes(emulator: EmulatorServer, gateway_id: str) -> list[dict[str, Any]]:
    return [
        {
            **route,
            "Predicates": json.loads(route["Predicates"])
            if isinstance(route["Predicates"], str)
            else route["Predicates"],
        }
        for route in emulator.state()["Routes"]
        if route["GatewayUniqueId"] == gateway_id
    ]


def versions_on_gateway(emulator: EmulatorServer) -> set[str]:
    services = emulator.state()["Services"]
    return {version["Name"] for service in services for version in service.get("Versions", [])}


class Program:
    """A program whose declarations a test changes between `pulumi up`s, like an edited infra repo."""

    def __init__(self, emulator: EmulatorServer, gateway_id: str, namespace: str) -> None:
        self.gateway_id = gateway_id
        self.gateway = canary.MseGateway(
            gateway_id=gateway_id, region="cn-hangzhou", endpoint=f"http://{emulator.endpoint}"
        )
        self.namespace = namespace
        self.service_name = SERVICE
        self.route = canary.RouteMatch(path="/demo")
        self.policy: dict[str, Any] = {"stable_version": "v1", "canary_version": "v2"}
        self.split: dict[str, Any] | None = None

    def __call__(self) -> None:
        import pulumi

        policy = canary.CanaryPolicy(
            "demo",
            gateway=self.gateway,
            service=canary.ServiceRef(name=self.service_name, namespace=self.namespace, port=80),
            route=self.route,
            **{**POLICY_SETTINGS, **self.policy},
        )
        pulumi.export("route_id", policy.route_id)
        pulumi.export("weights", policy.weights)
        pulumi.export("canary_deployment_name", policy.canary_deployment_name)
        if self.split is not None:
            split = canary.TrafficSplit("demo", policy=policy, **self.split)
            pulumi.export("split_weights", split.live_weights)


def sdk_call(client: Any, action: str, params: dict[str, Any]) -> Any:
    """One official-SDK call with wire-shaped params; returns the body's Data (and checks Success)."""
    from alibabacloud_mse20190531 import models

    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in action).lstrip("_")
    body = getattr(client, snake)(getattr(models, f"{action}Request")().from_map(params)).body.to_map()
    assert body.get("Success") is not False, body
    return body.get("Data")


def import_service(client: Any, gateway_id: str, namespace: str) -> int:
    (source,) = sdk_call(client, "ListServiceSource", {"GatewayUniqueId": gateway_id})
    sdk_call(
        client,
        "ImportServices",
        {
            "GatewayUniqueId": gateway_id,
            "SourceType": "K8S",
            "SourceId": source["Id"],
            "ServiceList": [{"Name": SERVICE, "Namespace": namespace}],
        },
    )
    filters = {"GatewayUniqueId": gateway_id, "Name": SERVICE, "Namespace": namespace}
    found = sdk_call(client, "ListGatewayService", {"FilterParams": filters, "PageNumber": 1, "PageSize": 10})
    return int(found["Result"][0]["Id"])


def add_legacy_route(
    client: Any, gateway_id: str, namespace: str, name: str = "legacy-demo", path: str = "/demo"
) -> int:
    """A route made by hand before pulumi-canary: the whole Service, no versions."""
    service_id = import_service(client, gateway_id, namespace)
    route_id = int(
        sdk_call(
            client,
            "AddGatewayRoute",
            {
                "GatewayUniqueId": gateway_id,
                "Name": name,
                "DestinationType": "Single",
                "Description": "made by the platform team",
                "Predicates": {"PathPredicates": {"Path": path, "Type": "PRE", "IgnoreCase": False}},
                "Services": [
                    {
                        "ServiceId": service_id,
                        "Name": SERVICE,
                        "Namespace": namespace,
                        "SourceType": "K8S",
                        "ServicePort": 80,
                        "Percent": 100,
                    }
                ],
            },
        )
    )
    sdk_call(client, "ApplyGatewayRoute", {"GatewayUniqueId": gateway_id, "RouteId": route_id})
    return route_id


def route_detail(client: Any, gateway_id: str, route_id: int) -> dict[str, Any]:
    params = {"GatewayUniqueId": gateway_id, "RouteId": route_id}
    return dict(sdk_call(client, "GetGatewayRouteDetail", params))


def legacy_shape(detail: dict[str, Any]) -> dict[str, Any]:
    """What restoring an adopted route must bring back: its name, description, destination and services."""
    services = [{k: s.get(k) for k in ("ServiceId", "Percent", "Version")} for s in detail["RouteServices"]]
    return {"DestinationType": detail["DestinationType"], "Description": detail["Description"],
            "Services": services, "Name": detail["Name"]}
