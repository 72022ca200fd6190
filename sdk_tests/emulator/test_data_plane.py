"""What the emulated gateway's data plane serves: routes as last applied, rendered for Traefik."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from alibabacloud_mse20190531 import models as mse
from alibabacloud_mse20190531.client import Client

from pulumi_canary.emulator import EmulatorServer
from pulumi_canary.emulator.dataplane import TraefikFileDataPlane, render, router_rule
from pulumi_canary.emulator.endpoints import PodAddress
from pulumi_canary.emulator.models import GatewayService, KeyValuePredicate, PathPredicate, Predicates
from sdk_tests.emulator.conftest import Seeded
from sdk_tests.emulator.helpers import GATEWAY, add_route_request, update_route_request

PODS = [
    PodAddress("10.244.0.1", 8080, {"app": "cart", "version": "v1"}),
    PodAddress("10.244.0.2", 8080, {"app": "cart", "version": "v1"}),
    PodAddress("10.244.0.3", 8080, {"app": "cart", "version": "v2"}),
]


def pods_of(service: GatewayService, port: int) -> list[PodAddress]:
    assert (service.namespace, service.name, port) == ("shop", "cart", 8080)
    return PODS


def apply(client: Client, route_id: int) -> None:
    client.apply_gateway_route(mse.ApplyGatewayRouteRequest(gateway_unique_id=GATEWAY, route_id=route_id))


def served(server: EmulatorServer) -> dict[str, object]:
    return render(server.backend.served_routes(), pods_of)


def test_only_applied_routes_are_served_and_edits_wait_for_apply(
    server: EmulatorServer, client: Client, seeded: Seeded
) -> None:
    route_id = client.add_gateway_route(add_route_request(seeded.service_id, {"v1": 90, "v2": 10})).body.data
    assert served(server) == {}, "an unpublished route serves nothing (404)"

    apply(client, route_id)
    key = f"mse-{GATEWAY}-{route_id}"
    config = served(server)["http"]
    assert config["routers"][key] == {"entryPoints": ["mse"], "rule": 'PathPrefix("/cart")', "service": key}
    assert config["services"][key] == {
        "weighted": {"services": [{"name": f"{key}.v1", "weight": 90}, {"name": f"{key}.v2", "weight": 10}]}
    }
    assert config["services"][f"{key}.v1"]["loadBalancer"]["servers"] == [
        {"url": "http://10.244.0.1:8080"},
        {"url": "http://10.244.0.2:8080"},
    ]
    assert config["services"][f"{key}.v2"]["loadBalancer"]["servers"] == [{"url": "http://10.244.0.3:8080"}]

    client.update_gateway_route(update_route_request(route_id, seeded.service_id, {"v1": 0, "v2": 100}))
    assert served(server)["http"]["services"][key]["weighted"]["services"][1]["weight"] == 10

    apply(client, route_id)
    # A version at 0% gets no share at all.
    assert served(server)["http"]["services"][key]["weighted"]["services"] == [
        {"name": f"{key}.v2", "weight": 100}
    ]

    client.offline_gateway_route(mse.OfflineGatewayRouteRequest(gateway_unique_id=GATEWAY, route_id=route_id))
    assert served(server) == {}


@pytest.mark.parametrize(
    ("predicates", "rule"),
    [
        (Predicates(PathPredicate("/demo", "EQUAL", False)), 'Path("/demo")'),
        (Predicates(PathPredicate("/a.b", "PRE", True)), 'PathRegexp("(?i)^/a\\\\.b")'),
        (Predicates(PathPredicate("/v[0-9]+", "ERGULAR", False)), 'PathRegexp("^(?:/v[0-9]+)$")'),
        (
            Predicates(
                PathPredicate("/demo", "PRE", False),
                headers=(
                    KeyValuePredicate("x-canary", "EQUAL", "true"),
                    KeyValuePredicate("x-u", "PRE", "a+"),
                ),
                queries=(KeyValuePredicate("beta", "ERGULAR", "1|yes"),),
                methods=("GET", "HEAD"),
            ),
            'PathPrefix("/demo") && Header("x-canary", "true") && HeaderRegexp("x-u", "^a\\\\+")'
            ' && QueryRegexp("beta", "^(?:1|yes)$") && (Method("GET") || Method("HEAD"))',
        ),
    ],
)
def test_router_rules_match_what_the_predicates_match(predicates: Predicates, rule: str) -> None:
    assert router_rule(predicates) == rule


def test_the_file_follows_apply_and_offline(
    server: EmulatorServer, client: Client, seeded: Seeded, tmp_path: Path
) -> None:
    with TraefikFileDataPlane(server.backend, tmp_path) as plane:
        assert json.loads(plane.path.read_text()) == {}
        route_id = client.add_gateway_route(
            add_route_request(seeded.service_id, {"v1": 100, "v2": 0})
        ).body.data
        apply(client, route_id)
        plane.sync()
        routers = json.loads(plane.path.read_text())["http"]["routers"]
        assert list(routers) == [f"mse-{GATEWAY}-{route_id}"]
        writes = plane.writes
        assert plane.sync() is False and plane.writes == writes, "an unchanged configuration is not rewritten"
        client.offline_gateway_route(
            mse.OfflineGatewayRouteRequest(gateway_unique_id=GATEWAY, route_id=route_id)
        )
        plane.sync()
        assert json.loads(plane.path.read_text()) == {}
