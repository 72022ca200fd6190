"""A whole release under continuous load, on the Gateway API and on MSE: not one request fails.

Requests flow through Traefik the whole time (a bounded, paced load) while `pulumi up` creates the
policy, deploys the canary, moves 10% then 50%, promotes to a new label value, moves 10% to the new
canary, promotes by rotation, and `pulumi destroy` deletes it all. No request may fail (no answer, or
a 5xx), and every answer must come from a version of the policy. An adoption and its restore keep the
route serving throughout. A control deletes the canary's pods while it still has weight: the same
harness must then see failed requests, which is what makes the zero above mean something.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from lightkube.resources.apps_v1 import Deployment

import pulumi_canary as canary
from rig.load import LoadRun, Record, Summary
from sdk_tests.engine.conftest import SERVICE
from sdk_tests.engine.mse_program import add_legacy_route
from sdk_tests.traffic.release import GATEWAYS, QUIET, Target, add_http_route

RATE = 60  # requests per second, from 4 threads
LOAD_BOUND = {"requests": 60_000, "seconds": 600.0}

V1_V2 = {"stable_version": "v1", "canary_version": "v2"}
V1_V2_DEPLOYED = {**V1_V2, "canary_deployment": canary.CanaryDeployment(image="demo:2.0")}
V2_V3_DEPLOYED = {
    "stable_version": "v2",
    "canary_version": "v3",
    "canary_deployment": canary.CanaryDeployment(image="demo:3.0"),
}
V3_V2 = {"stable_version": "v3", "canary_version": "v2"}  # rotation: v2's pods, released, are the canary

# (what changes, the policy's versions and canary Deployment, the split, what the gateway then serves)
RELEASE: list[tuple[str, dict[str, Any], dict[str, Any] | None, dict[str, int]]] = [
    ("create the policy", V1_V2, None, {"v1": 100}),
    ("deploy the canary", V1_V2_DEPLOYED, None, {"v1": 100}),
    ("10% to the canary", V1_V2_DEPLOYED, {"canary_weight": 10}, {"v1": 90, "v2": 10}),
    ("50% to the canary", V1_V2_DEPLOYED, {"canary_weight": 50}, {"v1": 50, "v2": 50}),
    ("promote v2, next canary a new label value v3", V2_V3_DEPLOYED, {"canary_weight": 0}, {"v2": 100}),
    ("10% to v3", V2_V3_DEPLOYED, {"canary_weight": 10}, {"v2": 90, "v3": 10}),
    ("promote v3 by rotation: v2 becomes the canary", V3_V2, {"canary_weight": 0}, {"v3": 100}),
]


def failed(records: list[Record]) -> list[Record]:
    return [record for record in records if record.failed]


def assert_all_served(summary: Summary, records: list[Record], versions: set[str]) -> None:
    bad = failed(records)
    assert not bad, f"{len(bad)} failed request(s), first {bad[:5]}; {summary}"
    assert set(summary.served) <= versions, summary


@pytest.mark.parametrize("kind", GATEWAYS)
def test_a_whole_release_under_load_fails_no_request(launch, kind: str, tmp_path: Path) -> None:
    deployed = launch(kind)
    deployed.apply({"v1": 100})
    with LoadRun(deployed.url, rate=RATE, out=tmp_path / "load.jsonl", **LOAD_BOUND) as load:
        for _what, policy, split, served in RELEASE:
            deployed.apply(served, policy=dict(policy), split=split)
        deployed.stack.destroy(**QUIET)
    summary = load.summary()
    records = load.records
    # After the destroy the route is gone: requests then get the gateway's 404, which is no failure.
    assert_all_served(summary, records, {"v1", "v2", "v3"})
    assert all(summary.served.get(version, 0) > 0 for version in ("v1", "v2", "v3")), summary
    assert summary.total > 10 * len(RELEASE), summary


@pytest.mark.parametrize("kind", GATEWAYS)
def test_adoption_and_restore_keep_the_route_serving(
    request: pytest.FixtureRequest, launch, kind: str, namespace: str, route_path: str, tmp_path: Path
) -> None:
    deployed = launch(kind, canary_replicas=1)
    adopt_by_hand(request, deployed.gateway, namespace, route_path)
    with LoadRun(deployed.url, rate=RATE, out=tmp_path / "load.jsonl", **LOAD_BOUND) as load:
        time.sleep(1)
        deployed.apply({"v1": 80, "v2": 20}, split={"weights": {"v1": 80, "v2": 20}})
        time.sleep(1)
        deployed.stack.destroy(**QUIET)
        time.sleep(2)
    summary, records = load.summary(), load.records
    assert_all_served(summary, records, {"v1", "v2"})
    assert {record.status for record in records} == {200}, "the route answered throughout"
    assert summary.served.get("v2", 0) > 0, summary


def adopt_by_hand(request: pytest.FixtureRequest, gateway: Target, namespace: str, path: str) -> None:
    """A route made before pulumi-canary, sending the path to the whole Service."""
    if gateway.kind == "mse":
        add_legacy_route(request.getfixturevalue("console"), gateway.gateway_id or "", namespace, path=path)
    else:
        add_http_route(request.getfixturevalue("kube"), namespace, path)
    gateway.traefik.wait_for_router(gateway.provider, [path])


@pytest.mark.parametrize("kind", GATEWAYS)
def test_control_pods_removed_under_weight_fail_requests(
    launch, kind: str, namespace: str, kube: Any
) -> None:
    """What the tests above rule out, done on purpose: the harness sees the failures."""
    deployed = launch(kind, canary_replicas=1)
    deployed.apply({"v1": 50, "v2": 50}, split={"weights": {"v1": 50, "v2": 50}})
    with LoadRun(deployed.url, rate=RATE, requests=600, seconds=20) as load:
        time.sleep(1)
        kube.delete(Deployment, f"{SERVICE}-v2", namespace=namespace)
        time.sleep(4)
    bad = failed(load.records)
    assert len(bad) > 10, load.summary()
    assert load.summary().served.get("v1", 0) > 0
