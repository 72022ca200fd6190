"""Metric analysis at each rollout step, on the real data plane and the real Prometheus that scrapes it:
a healthy canary walks to its target; a canary that fails requests is sent back to where the update
began, the `up` fails naming the metric and its value, and requests then reach stable only; a metric
source that cannot answer is a failure too, never a pass."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from pulumi.automation import CommandError

import pulumi_canary as canary
from rig.load import LoadRun
from rig.metrics import Prometheus
from rig.webhook import WebhookGate
from sdk_tests.traffic.release import GATEWAYS, QUIET, Deployed
from sdk_tests.traffic.test_metrics import make_bad
from sdk_tests.traffic.test_release_under_load import assert_all_served

RATE = 60
STEPS = [canary.Step(weight=10, pause_seconds=3), canary.Step(weight=25, pause_seconds=3)]


def error_ratio(deployed: Deployed) -> str:
    """The canary's share of 5xx answers over the last 5 s, from Traefik's metrics (0 without errors)."""
    selector = f'service=~"{deployed.gateway.service_pattern("{{canary}}")}"'
    total = f"sum(rate(traefik_service_requests_total{{{selector}}}[5s]))"
    errors = f'sum(rate(traefik_service_requests_total{{{selector},code=~"5.."}}[5s]))'
    return f"({errors} or vector(0)) / {total}"


def split_outputs(deployed: Deployed) -> dict[str, Any]:
    """The TrafficSplit's outputs in the stack's state (a refresh updates them, not the stack's exports)."""
    resources = deployed.stack.export_stack().deployment["resources"]
    (split,) = [resource for resource in resources if resource["type"].endswith("TrafficSplit")]
    return dict(split["outputs"])


def analysis(url: str, deployed: Deployed, **limits: Any) -> canary.Analysis:
    metric = canary.Metric(name="error-rate", query=error_ratio(deployed), max=0.05)
    return canary.Analysis(prometheus_url=url, metrics=[metric], interval_seconds=2, count=2, **limits)


@pytest.mark.parametrize("kind", GATEWAYS)
def test_a_healthy_canary_passes_every_step_and_reaches_all_the_traffic(
    launch, kind: str, prometheus: Prometheus, tmp_path: Path
) -> None:
    deployed = launch(kind, canary_replicas=1)
    deployed.apply({"v1": 100})
    lines: list[str] = []
    with LoadRun(deployed.url, rate=RATE, out=tmp_path / "load.jsonl", requests=20_000, seconds=180) as load:
        deployed.release.split = {
            "canary_weight": 100,
            "steps": [*STEPS, canary.Step(weight=50, pause_seconds=3)],
            "analysis": analysis(prometheus.url, deployed),
        }
        deployed.stack.up(on_output=lines.append)
        deployed.gateway.wait_for_weights(deployed.path, {"v2": 100})
    assert_all_served(load.summary(), load.records, {"v1", "v2"})
    shown = "\n".join(lines)
    for percent in (10, 25, 50, 100):
        assert f"analysis of version v2 at {percent}% passed: error-rate 0, 0 (max 0.05)" in shown, shown


@pytest.mark.parametrize("kind", GATEWAYS)
def test_a_canary_that_fails_requests_is_rolled_back_and_the_up_says_why(
    launch, kind: str, prometheus: Prometheus, namespace: str, kube: Any, tmp_path: Path
) -> None:
    deployed = launch(kind, canary_replicas=1)
    make_bad(kube, namespace, "v2")  # half its answers are 500s
    deployed.apply({"v1": 100})
    load_started = time.monotonic()
    with LoadRun(deployed.url, rate=RATE, out=tmp_path / "load.jsonl", requests=20_000, seconds=180) as load:
        deployed.release.split = {
            "canary_weight": 50, "steps": STEPS, "analysis": analysis(prometheus.url, deployed)
        }
        with pytest.raises(CommandError) as failed:
            deployed.stack.up(**QUIET)
        rolled_back = time.monotonic() - load_started  # on the load's clock
        deployed.gateway.wait_for_weights(deployed.path, {"v1": 100})
        time.sleep(3)
        with pytest.raises(CommandError) as halted:  # the same inputs again: refused, nothing moves
            deployed.stack.up(**QUIET)
        time.sleep(2)
    message = str(failed.value)
    assert "the analysis of version v2 at 10% failed: metric error-rate measured" in message, message
    assert "> max 0.05" in message and "went back to v1=100%, v2=0%" in message, message
    assert "set retry=1 on the TrafficSplit" in message and "Traceback" not in message, message
    refusal = str(halted.value)
    assert "the rollout of version v2 failed at 10% on its way to 50%" in refusal, refusal
    assert "does not walk a failed rollout again by itself" in refusal, refusal
    settled = [record for record in load.records if record.t > rolled_back + 2]
    assert settled and all(r.version == "v1" and not r.failed for r in settled), "after it: stable only"
    assert any(record.version == "v2" for record in load.records), "the canary did get its 10% first"


def test_a_metric_source_that_cannot_answer_rolls_back_instead_of_passing(launch, tmp_path: Path) -> None:
    deployed = launch("gateway-api", canary_replicas=1)
    deployed.apply({"v1": 100})
    nowhere = analysis("http://127.0.0.1:9", deployed, consecutive_error_limit=1)
    deployed.release.split = {"canary_weight": 50, "steps": STEPS, "analysis": nowhere}
    with pytest.raises(CommandError) as failed:
        deployed.stack.up(**QUIET)
    message = str(failed.value)
    assert "metric error-rate could not be measured 2 times in a row" in message, message
    assert "did not answer" in message and "went back to v1=100%, v2=0%" in message, message
    deployed.gateway.wait_for_weights(deployed.path, {"v1": 100})


def test_a_webhook_that_refuses_stops_the_walk_at_the_deadline_and_only_a_raised_retry_walks_again(
    launch, tmp_path: Path
) -> None:
    deployed = launch("gateway-api", canary_replicas=1)
    deployed.apply({"v1": 100}, split={"canary_weight": 0})
    with WebhookGate(default=403) as gate, LoadRun(
        deployed.url, rate=RATE, out=tmp_path / "load.jsonl", requests=20_000, seconds=240
    ) as load:
        gate.queue(200)  # the rise to 10% is approved, the one to 25% never
        hook = canary.Webhook(name="approve", url=gate.url, interval_seconds=1)
        steps = [canary.Step(weight=10, pause_seconds=2)]
        deployed.release.split = {
            "canary_weight": 25, "steps": steps, "webhooks": [hook], "progress_deadline_seconds": 8
        }
        with pytest.raises(CommandError) as failed:
            deployed.stack.up(**QUIET)
        deployed.gateway.wait_for_weights(deployed.path, {"v1": 100})
        with pytest.raises(CommandError) as halted:
            deployed.stack.up(**QUIET)
        deployed.stack.refresh(**QUIET)
        recorded = split_outputs(deployed)["rollout"]
        gate.default = 200
        deployed.release.split = {**deployed.release.split, "retry": 1}
        deployed.apply({"v1": 75, "v2": 25})
        walked = split_outputs(deployed)["rollout"]
    assert_all_served(load.summary(), load.records, {"v1", "v2"})
    message = str(failed.value)
    assert "the rollout of version v2 at 10% failed: it did not reach its target within" in message, message
    assert "=8 (webhook approve never approved 25%: it last answered HTTP 403)" in message, message
    assert "went back to v1=100%, v2=0%" in message, message
    assert "set retry=1" in str(halted.value), halted.value
    assert {key: recorded[key] for key in ("status", "percent", "target", "retry")} == {
        "status": "failed", "percent": 10, "target": 25, "retry": 0
    }, recorded
    assert walked["status"] == "succeeded" and walked["retry"] == 1, walked
    assert [request["weight"] for request in gate.requests[:2]] == [10, 25], gate.requests
