"""examples/progressive as the project it is, on the rig's real data plane: Traefik serving the Gateway API
and Prometheus scraping Traefik, so that the example's own error-rate query (Traefik's metrics, its
default) is what decides each step.

Only the holds and measurements are shortened, through config (the example's defaults hold a minute per step).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rig.gateway import GATEWAY_NAME, GATEWAY_NAMESPACE
from rig.load import LoadRun
from rig.metrics import Prometheus
from sdk_tests.engine.conftest import Workload
from sdk_tests.examples.conftest import QUIET, configure
from sdk_tests.traffic.release import target
from sdk_tests.traffic.test_release_under_load import assert_all_served

RATE = 60  # requests per second: enough for the canary's 10% to give Prometheus a rate at every scrape
FAST = {"pauseSeconds": "3", "analysisIntervalSeconds": "2", "analysisCount": "2",
        "progressDeadlineSeconds": "120"}


def test_a_healthy_canary_walks_10_then_25_with_its_analysis_passing(
    request: pytest.FixtureRequest,
    example,
    namespace: str,
    workload: Workload,
    prometheus: Prometheus,
    tmp_path: Path,
) -> None:
    gateway = target(request, "gateway-api")  # the rig's Traefik, as the `traefik` fixture of this folder
    path = f"/{namespace}"  # a route of this test's own: no other test's route can answer for it
    project = example("progressive")
    stack = project.stack("dev", {
        "gateway": GATEWAY_NAME, "gatewayNamespace": GATEWAY_NAMESPACE, "namespace": namespace, "path": path,
        "prometheusUrl": prometheus.url, **FAST,
    })

    first = stack.up(**QUIET)  # canaryWeight: the Pulumi.yaml default, 0
    gateway.wait_for_weights(path, {"v1": 100})
    assert first.outputs["live_weights"].value == {"v1": 100, "v2": 0}
    assert workload.deployment("demo-service-v2").spec.template.spec.containers[0].image == "demo:2.0"

    lines: list[str] = []
    # The analysis measures the canary's real answers: without requests its query has no rate to answer.
    load_log = tmp_path / "load.jsonl"
    with LoadRun(gateway.url(path), rate=RATE, out=load_log, requests=10_000, seconds=120) as load:
        configure(stack, {"canaryWeight": "25"})
        up = stack.up(on_output=lines.append)
        gateway.wait_for_weights(path, {"v1": 75, "v2": 25})
    assert_all_served(load.summary(), load.records, {"v1", "v2"})
    assert any(record.version == "v2" for record in load.records), "the canary served during the walk"

    shown = "\n".join(lines)
    assert "hold version v2 at 10% for 3s" in shown, shown
    for percent in (10, 25):  # the 10% step, then the target (the 25% step is the target: not held)
        assert f"analysis of version v2 at {percent}% passed: error-rate 0, 0 (max 0.05)" in shown, shown
    assert "hold version v2 at 25%" not in shown, shown
    assert up.outputs["live_weights"].value == {"v1": 75, "v2": 25}
    rollout: dict[str, Any] = up.outputs["rollout"].value
    assert {key: rollout[key] for key in ("status", "canary_version", "target", "percent", "retry")} == {
        "status": "succeeded", "canary_version": "v2", "target": 25, "percent": 25, "retry": 0
    }, rollout

    # The README's way to read how the last rollout ended without an `up`: the record kept on the route,
    # read back by the split's refresh (`pulumi refresh --run-program` updates the stack outputs too).
    stack.refresh(run_program=True, **QUIET)
    assert stack.outputs()["rollout"].value == rollout
