"""Declared percentages are what real requests get, on the Gateway API and on MSE.

Each split is set by `pulumi up`, then 2,000 requests go through Traefik once it serves the new
weights; every version's count must lie inside the 99.9% binomial interval of its declared share.
Header routing sends every matching request to the canary whatever the weights.
"""

from __future__ import annotations

import json

import pytest

import pulumi_canary as canary
from rig.demo import TrafficProbe
from rig.load import LoadRun
from sdk_tests.engine.conftest import Workload
from sdk_tests.engine.mse_program import add_legacy_route, sdk_call
from sdk_tests.traffic.release import GATEWAYS, assert_split, target

REQUESTS = 2000
CANARY_HEADER = {"x-canary": "always"}


@pytest.mark.parametrize("kind", GATEWAYS)
def test_declared_weights_are_the_served_shares(launch, kind: str, route_path: str) -> None:
    deployed = launch(kind, canary_replicas=2)
    for weights in ({"v1": 90, "v2": 10}, {"v1": 50, "v2": 50}):
        deployed.apply(weights, split={"weights": weights})
        summary = LoadRun(deployed.url, requests=REQUESTS, seconds=120).run()
        assert summary.total == REQUESTS, summary
        assert_split(summary, weights)

    deployed.apply(
        {"v1": 90, "v2": 10},
        route=canary.RouteMatch(path=route_path, canary_headers=CANARY_HEADER),
        split={"weights": {"v1": 90, "v2": 10}},
    )
    deployed.gateway.wait_for_header_route(route_path)
    with_header = LoadRun(deployed.url, requests=500, seconds=60, headers=CANARY_HEADER).run()
    assert with_header.errors == 0 and with_header.served == {"v2": 500}, with_header
    without = LoadRun(deployed.url, requests=REQUESTS, seconds=120).run()
    assert_split(without, {"v1": 90, "v2": 10})


def test_the_demo_reports_what_each_step_served(launch, tmp_path) -> None:
    """`make demo` writes one JSON line per step: the declared weights next to what requests got."""
    deployed = launch("mse", canary_replicas=1)
    deployed.apply({"v1": 80, "v2": 20}, split={"weights": {"v1": 80, "v2": 20}})
    log = tmp_path / "traffic.jsonl"
    TrafficProbe(deployed.gateway.traefik, log=log, path=deployed.path).measure("80/20", {"v1": 80, "v2": 20})
    (line,) = [json.loads(text) for text in log.read_text().splitlines()]
    assert set(line) == {"step", "declared", "served", "requests", "errors"}
    assert (line["step"], line["declared"], line["requests"], line["errors"]) == (
        "80/20",
        {"v1": 80, "v2": 20},
        1000,
        0,
    )
    assert set(line["served"]) == {"v1", "v2"}
    assert all(abs(line["served"][version] - weight) <= 3 for version, weight in line["declared"].items())


def test_an_mse_route_serves_only_while_published(
    request: pytest.FixtureRequest, console, workload: Workload, namespace: str, route_path: str
) -> None:
    """An offline route answers the gateway's 404, as on MSE; applied again, the Service's pods answer."""
    gateway = target(request, "mse")
    gateway_id = gateway.gateway_id or ""
    route_id = add_legacy_route(console, gateway_id, namespace, path=route_path)
    gateway.traefik.wait_for_router("file", [route_path])
    published = LoadRun(gateway.url(route_path), requests=100, seconds=30).run()
    assert published.served == {"v1": 100}, published

    params = {"GatewayUniqueId": gateway_id, "RouteId": route_id}
    sdk_call(console, "OfflineGatewayRoute", params)
    gateway.traefik.wait_for_no_router("file", [route_path])
    load = LoadRun(gateway.url(route_path), requests=100, seconds=30)
    offline = load.run()
    assert offline.total == 100 and {record.status for record in load.records} == {404}, offline
