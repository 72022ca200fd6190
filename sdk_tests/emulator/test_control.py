"""The /_emulator/ control plane: request log, seed, state, reset, in-memory endpoints."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from alibabacloud_mse20190531 import models as mse
from alibabacloud_mse20190531.client import Client

from pulumi_canary.emulator import EmulatorServer
from sdk_tests.emulator.conftest import Seeded
from sdk_tests.emulator.helpers import (
    ACCESS_KEY_ID,
    ACCESS_KEY_SECRET,
    GATEWAY,
    add_route_request,
    make_client,
)


def _control(server: EmulatorServer, method: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{server.url}/_emulator/{path}", data=data, method=method)
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def test_request_log_counts_api_calls(client: Client, seeded: Seeded, server: EmulatorServer) -> None:
    route_id = client.add_gateway_route(add_route_request(seeded.service_id, {"v1": 100})).body.data
    client.apply_gateway_route(mse.ApplyGatewayRouteRequest(gateway_unique_id=GATEWAY, route_id=route_id))
    client.apply_gateway_route(mse.ApplyGatewayRouteRequest(gateway_unique_id=GATEWAY, route_id=route_id))

    logged = _control(server, "GET", "requests")["requests"]
    applies = _control(server, "GET", "requests?action=ApplyGatewayRoute")["requests"]

    assert [entry["action"] for entry in logged] == [
        "AddGatewayRoute",
        "ApplyGatewayRoute",
        "ApplyGatewayRoute",
    ]
    assert all(entry["status"] == 200 and entry["success"] for entry in logged)
    assert logged[0]["time"] <= logged[1]["time"] <= logged[2]["time"]
    assert len(applies) == 2
    assert len(server.requests("ApplyGatewayRoute")) == 2
    assert ACCESS_KEY_SECRET not in json.dumps(logged) and ACCESS_KEY_ID not in json.dumps(logged)

    _control(server, "DELETE", "requests")
    assert server.requests() == []


def test_seed_state_and_reset_over_http(server: EmulatorServer) -> None:
    created = _control(
        server,
        "POST",
        "seed",
        {
            "Gateways": [{"GatewayUniqueId": "gw-seeded", "Name": "seeded", "Region": "cn-beijing"}],
            "ServiceSources": [{"GatewayUniqueId": "gw-seeded", "ClusterId": "c-seeded"}],
        },
    )
    source_id = created["ServiceSources"][0]
    created_service = _control(
        server,
        "POST",
        "seed",
        {
            "Services": [
                {
                    "GatewayUniqueId": "gw-seeded",
                    "SourceId": source_id,
                    "Name": "web",
                    "Namespace": "prod",
                    "Ports": [80],
                }
            ],
        },
    )

    state = _control(server, "GET", "state")
    assert created["Gateways"] == ["gw-seeded"]
    assert {gateway["GatewayUniqueId"]: gateway["Region"] for gateway in state["Gateways"]} == {
        GATEWAY: "cn-hangzhou",
        "gw-seeded": "cn-beijing",
    }
    assert [(source["Id"], source["Address"]) for source in state["ServiceSources"]] == [
        (source_id, "c-seeded")
    ]
    assert [(service["Id"], service["Name"], service["Ports"]) for service in state["Services"]] == [
        (created_service["Services"][0], "web", [80]),
    ]

    _control(server, "POST", "reset")
    assert _control(server, "GET", "state") == {
        "Gateways": [],
        "ServiceSources": [],
        "Services": [],
        "Routes": [],
    }


def test_bad_seed_and_unknown_control_paths_are_client_errors(server: EmulatorServer) -> None:
    with pytest.raises(urllib.error.HTTPError) as missing_key:
        _control(server, "POST", "seed", {"Gateways": [{"Name": "no id"}]})
    with pytest.raises(urllib.error.HTTPError) as unknown:
        _control(server, "GET", "nothing-here")

    assert missing_key.value.code == 400
    assert unknown.value.code == 404


def test_in_memory_endpoints_over_http() -> None:
    with EmulatorServer(credentials={ACCESS_KEY_ID: ACCESS_KEY_SECRET}) as server:
        server.seed_gateway(GATEWAY)
        source_id = server.seed_service_source(GATEWAY, "c-any")
        _control(
            server,
            "PUT",
            "endpoints",
            {
                "namespace": "shop",
                "name": "cart",
                "ports": [9090],
                "ready_pods": [{"version": "v1"}, {"version": "v2"}, {"version": "v2"}],
            },
        )
        client = make_client(server.endpoint)
        client.import_services(
            mse.ImportServicesRequest(
                gateway_unique_id=GATEWAY,
                source_type="K8S",
                source_id=source_id,
                service_list=[mse.ImportServicesRequestServiceList(name="cart", namespace="shop")],
            )
        )
        service = server.state()["Services"][0]
        client.add_gateway_service_version(
            mse.AddGatewayServiceVersionRequest(
                gateway_unique_id=GATEWAY,
                service_id=service["Id"],
                service_version=json.dumps({"name": "v2", "labels": [{"key": "version", "value": "v2"}]}),
            )
        )

        detail = client.get_gateway_service_detail(
            mse.GetGatewayServiceDetailRequest(gateway_unique_id=GATEWAY, service_id=service["Id"])
        ).body.data

    assert service["Ports"] == [9090]
    assert [
        (item.service_version.name, item.endpoint_num, item.endpoint_num_percent)
        for item in detail.version_details
    ] == [("v2", 2, "67%")]


def test_services_import_without_checks_when_no_cluster_is_connected() -> None:
    with EmulatorServer(credentials={ACCESS_KEY_ID: ACCESS_KEY_SECRET}) as server:
        server.seed_gateway(GATEWAY)
        source_id = server.seed_service_source(GATEWAY, "c-any")
        client = make_client(server.endpoint)
        client.import_services(
            mse.ImportServicesRequest(
                gateway_unique_id=GATEWAY,
                source_type="K8S",
                source_id=source_id,
                service_list=[
                    mse.ImportServicesRequestServiceList(name="anything", namespace="ns", service_port=7000)
                ],
            )
        )

        assert [(service["Name"], service["Ports"]) for service in server.state()["Services"]] == [
            ("anything", [7000])
        ]
