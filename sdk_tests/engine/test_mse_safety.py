"""Safety through the real engine: the readiness gate, ownership, and deletes of what is already gone."""

from __future__ import annotations

import time
from typing import Any

import pytest
from pulumi.automation.errors import CommandError

import pulumi_canary as canary
from pulumi_canary.emulator import EmulatorServer
from sdk_tests.engine.conftest import Workload
from sdk_tests.engine.invariants import Deployed, verify
from sdk_tests.engine.mse_program import QUIET, Program, gateway_routes, route_weights, sdk_call


@pytest.fixture
def deployed(
    inline_stack, stack_env, program: Program, emulator: EmulatorServer, gateway_id: str, namespace: str,
    kube: Any, workload: Workload,
) -> Deployed:
    return Deployed(emulator, gateway_id, namespace, kube, program, inline_stack(program, env=stack_env))


def test_a_split_waits_for_ready_endpoints_then_fails_and_keeps_the_old_weights(deployed: Deployed) -> None:
    """v2 has no pods: raising its weight waits readiness_timeout_seconds, then fails naming the version
    and its ready count; the route keeps 100/0. allow_unready=True opts out."""
    deployed.stack.up(**QUIET)
    assert route_weights(deployed.emulator, deployed.gateway_id) == {"v1": 100, "v2": 0}

    deployed.program.split = {"weights": {"v1": 90, "v2": 10}, "readiness_timeout_seconds": 3}
    started = time.monotonic()
    with pytest.raises(CommandError) as raised:
        deployed.stack.up(**QUIET)
    waited = time.monotonic() - started

    message = str(raised.value)
    assert "version v2 of service" in message and "has 0 ready endpoint(s)" in message, message
    assert "allow_unready=True" in message
    assert waited >= 3, f"the split gave up after {waited:.1f}s, before its readiness timeout"
    assert route_weights(deployed.emulator, deployed.gateway_id) == {"v1": 100, "v2": 0}

    deployed.program.split = {"weights": {"v1": 90, "v2": 10}, "allow_unready": True}
    deployed.stack.up(**QUIET)
    assert route_weights(deployed.emulator, deployed.gateway_id) == {"v1": 90, "v2": 10}


def test_once_the_canary_is_ready_the_gated_split_goes_through(deployed: Deployed, workload: Workload):
    deployed.program.split = {"weights": {"v1": 90, "v2": 10}, "readiness_timeout_seconds": 2}
    with pytest.raises(CommandError):
        deployed.stack.up(**QUIET)
    workload.wait_ready(workload.deploy("v2", replicas=1), 1)
    verify(deployed, succeeded=False)
    assert route_weights(deployed.emulator, deployed.gateway_id) == {"v1": 90, "v2": 10}


def test_a_route_owned_by_another_stack_is_never_taken_over(
    deployed: Deployed, inline_stack, stack_env, program: Program
) -> None:
    other = inline_stack(program, stack="other", env=stack_env)
    other.up(**QUIET)
    (theirs,) = gateway_routes(deployed.emulator, deployed.gateway_id)

    with pytest.raises(CommandError) as raised:
        deployed.stack.up(**QUIET)

    assert "is owned by another resource or stack" in str(raised.value)
    (after,) = gateway_routes(deployed.emulator, deployed.gateway_id)
    assert after == theirs, "the other stack's route was not touched"

    deployed.stack.destroy(**QUIET)  # nothing of ours to delete; theirs stays
    assert gateway_routes(deployed.emulator, deployed.gateway_id) == [theirs]
    other.destroy(**QUIET)
    assert gateway_routes(deployed.emulator, deployed.gateway_id) == []


def test_destroy_succeeds_when_everything_is_already_gone(deployed: Deployed, console: Any) -> None:
    deployed.stack.up(**QUIET)
    (route,) = gateway_routes(deployed.emulator, deployed.gateway_id)
    base = {"GatewayUniqueId": deployed.gateway_id, "RouteId": route["Id"]}
    sdk_call(console, "OfflineGatewayRoute", base)
    sdk_call(console, "DeleteGatewayRoute", base)
    service_id = route["RouteServices"][0]["ServiceId"]
    for version in ("v1", "v2"):
        sdk_call(console, "DeleteGatewayServiceVersion", {
            "GatewayUniqueId": deployed.gateway_id, "ServiceId": service_id,
            "ServiceVersion": f'{{"name":"{version}","labels":[{{"key":"version","value":"{version}"}}]}}',
        })

    deployed.stack.destroy(**QUIET)

    assert gateway_routes(deployed.emulator, deployed.gateway_id) == []


def test_a_deployment_the_policy_does_not_own_is_never_taken_over(
    deployed: Deployed, workload: Workload, kube: Any, namespace: str
) -> None:
    """A Deployment already named like the canary Deployment (someone's own, scaled to zero so that no
    pod serves v3 yet) is left alone: the policy refuses instead of taking it over."""
    from lightkube.resources.apps_v1 import Deployment

    workload.deploy("v3", replicas=0, image="theirs:1.0")  # demo-service-v3
    deployed.program.policy = {
        "stable_version": "v1", "canary_version": "v3",
        "canary_deployment": canary.CanaryDeployment(image="demo:3.0", replicas=1),
    }

    with pytest.raises(CommandError) as raised:
        deployed.stack.up(**QUIET)

    assert "Deployment" in str(raised.value) and "will not take it over" in str(raised.value)
    after = kube.get(Deployment, "demo-service-v3", namespace=namespace)
    assert after.spec.template.spec.containers[0].image == "theirs:1.0"
    assert "pulumi-canary.io/owner" not in (after.metadata.annotations or {})
    assert all(entry.manager != "pulumi-canary" for entry in after.metadata.managedFields or [])
