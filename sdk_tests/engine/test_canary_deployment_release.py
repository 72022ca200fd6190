"""What becomes of the Deployment a policy created once its version is stable, through the real engine:
the promotion releases it (it keeps running and carries nothing of pulumi-canary's), and a destroy leaves
no mark on any Deployment."""

from __future__ import annotations

import pulumi_canary as canary
from pulumi_canary.emulator import EmulatorServer
from sdk_tests.conftest import StackFactory
from sdk_tests.engine.conftest import NO_MARKS, SERVICE, Workload
from sdk_tests.engine.mse_program import QUIET, Program, route_weights

CANARY = f"{SERVICE}-v2"


def test_a_rotation_releases_the_canary_deployment_the_policy_created(
    inline_stack: StackFactory,
    stack_env: dict[str, str],
    program: Program,
    workload: Workload,
    emulator: EmulatorServer,
) -> None:
    program.policy = {
        "stable_version": "v1",
        "canary_version": "v2",
        "canary_deployment": canary.CanaryDeployment(image="demo:2.0", replicas=1),
    }
    stack = inline_stack(program, env=stack_env)
    stack.up(**QUIET)
    created = workload.deployment(CANARY)
    marks = workload.pulumi_canary_marks(CANARY)
    assert marks["annotations"].keys() == {"pulumi-canary.io/owner", "pulumi-canary.io/version"}
    assert marks["labels"] == {"app.kubernetes.io/managed-by": "pulumi-canary"} and marks["managers"]
    workload.wait_ready(CANARY, 1)

    for weights in ({"v1": 90, "v2": 10}, {"v1": 50, "v2": 50}):
        program.split = {"weights": weights}
        stack.up(**QUIET)
    assert route_weights(emulator, program.gateway_id) == {"v1": 50, "v2": 50}

    # rotation: v2 is stable, v1's own pods are the next canary, so canary_deployment goes
    program.policy = {"stable_version": "v2", "canary_version": "v1"}
    program.split = {"canary_weight": 0}
    stack.up(**QUIET)
    released = workload.deployment(CANARY)
    assert workload.pulumi_canary_marks(CANARY) == NO_MARKS, "the promoted Deployment is the user's now"
    assert released.spec.template.spec.containers[0].image == "demo:2.0" and released.spec.replicas == 1
    assert released.metadata.uid == created.metadata.uid, "released, not replaced"
    assert stack.preview(**QUIET).change_summary == {"same": 3}, "a released Deployment is no drift"

    stack.destroy(**QUIET)
    assert workload.deployment_names() == {f"{SERVICE}-v1", CANARY}, "both versions' pods keep running"
    for name in workload.deployment_names():
        assert workload.pulumi_canary_marks(name) == NO_MARKS, name
