"""Canary replicas that follow the weight (``CanaryDeployment(match_traffic_weight=True)``), through the
engine on the Gateway API under load: the split scales the policy's canary Deployment up, and waits for
its pods, before the share rises; it scales it down only after the share fell and drained; and not one
request fails on the way."""

from __future__ import annotations

from pathlib import Path

import pulumi_canary as canary
from rig.load import LoadRun
from sdk_tests.engine.conftest import SERVICE, Workload
from sdk_tests.traffic.test_release_under_load import assert_all_served

RATE = 60
STABLE_REPLICAS = 4


def test_the_canary_is_scaled_with_its_share_up_before_a_rise_and_down_after_a_fall(
    launch, workload: Workload, tmp_path: Path
) -> None:
    workload.wait_ready(workload.deploy("v1", replicas=STABLE_REPLICAS), STABLE_REPLICAS)
    deployed = launch("gateway-api")
    following = canary.CanaryDeployment(image="demo:2.0", replicas=1, match_traffic_weight=True)
    policy = {"stable_version": "v1", "canary_version": "v2", "canary_deployment": following}
    deployed.apply({"v1": 100}, policy=policy, split={"canary_weight": 0})
    canary_name = f"{SERVICE}-v2"
    lines: list[str] = []
    with LoadRun(deployed.url, rate=RATE, out=tmp_path / "load.jsonl", requests=20_000, seconds=180) as load:
        deployed.release.split = {"canary_weight": 75, "steps": [canary.Step(weight=25, pause_seconds=2)]}
        deployed.stack.up(on_output=lines.append)
        deployed.gateway.wait_for_weights(deployed.path, {"v1": 25, "v2": 75})
        at_75 = workload.deployment(canary_name).spec.replicas
        deployed.apply({"v1": 100}, split={"canary_weight": 0})
        at_0 = workload.deployment(canary_name).spec.replicas
    assert_all_served(load.summary(), load.records, {"v1", "v2"})
    assert (at_75, at_0) == (3, 1), "ceil(4 * 75%) = 3, then back to the declared fewest"
    shown = "\n".join(lines)
    order = [
        shown.index(line)
        for line in (
            "pulumi-canary: set weights v1=75%, v2=25%",
            "pulumi-canary: scale the Deployment of version v2 to 3 replica(s)",
            "pulumi-canary: set weights v1=25%, v2=75%",
        )
    ]
    assert order == sorted(order), shown
    assert workload.deployment(f"{SERVICE}-v1").spec.replicas == STABLE_REPLICAS, "stable untouched"
