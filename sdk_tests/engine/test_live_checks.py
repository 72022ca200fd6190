"""The preview's questions to the live world, through the real engine: a gateway that does not exist (on
each gateway's own API) and a canary Deployment beside pods of the same version that another owner runs
fail `pulumi preview`, naming the property, before anything is written."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi.automation.errors import CommandError

import pulumi_canary as canary
from pulumi_canary.emulator import EmulatorServer
from sdk_tests.conformance.gateway_api import HTTPRoute
from sdk_tests.conformance.istio import VirtualService
from sdk_tests.conformance.kubernetes import names
from sdk_tests.conftest import StackFactory
from sdk_tests.engine.conftest import SERVICE, Workload
from sdk_tests.engine.kube_program import Program as KubeProgram
from sdk_tests.engine.mse_program import QUIET, Program, gateway_routes
from sdk_tests.engine.test_mse_validation import preview_error, writes


def test_an_mse_gateway_that_does_not_exist_fails_preview(
    inline_stack: StackFactory, stack_env: dict[str, str], program: Program, emulator: EmulatorServer
) -> None:
    endpoint = program.gateway.endpoint
    program.gateway = canary.MseGateway(gateway_id="gw-0000000000ff", region="cn-hangzhou", endpoint=endpoint)
    stack = inline_stack(program, env=stack_env)
    emulator.clear_requests()
    message = preview_error(stack)
    assert "gateway.gateway_id" in message and "MSE gateway gw-0000000000ff does not exist" in message
    with pytest.raises(CommandError):
        stack.up(**QUIET)
    assert writes(emulator) == [], "a failed check changes nothing"


def test_a_gateway_api_gateway_that_does_not_exist_fails_preview(
    inline_stack: StackFactory, stack_env: dict[str, str], namespace: str, workload: Workload, kube: Any
) -> None:
    program = KubeProgram(canary.GatewayApi(gateway="no-such-gw", namespace="infra"), namespace)
    stack = inline_stack(program, env=stack_env)
    message = preview_error(stack)
    assert "gateway.gateway" in message and "Gateway infra/no-such-gw does not exist" in message
    with pytest.raises(CommandError):
        stack.up(**QUIET)
    assert names(kube, HTTPRoute, namespace) == set()


def test_an_istio_gateway_that_does_not_exist_fails_preview_and_mesh_needs_none(
    inline_stack: StackFactory, stack_env: dict[str, str], namespace: str, workload: Workload, kube: Any
) -> None:
    missing = canary.Istio(hosts=["demo.example.com"], gateways=["mesh", "istio-system/public", "edge"])
    stack = inline_stack(KubeProgram(missing, namespace), env=stack_env)
    message = preview_error(stack)
    # "edge" names a Gateway in the route's own namespace; "mesh" (the sidecars) is no object
    assert "gateway.gateways" in message and f"Gateway {namespace}/edge does not exist" in message
    assert "istio-system/public does not exist" not in message
    assert names(kube, VirtualService, namespace) == set()

    present = canary.Istio(hosts=["demo.example.com"], gateways=["mesh", "istio-system/public"])
    preview = inline_stack(KubeProgram(present, namespace), stack="present", env=stack_env).preview(**QUIET)
    assert preview.change_summary == {"create": 2}


def test_a_canary_deployment_beside_another_owners_pods_of_the_canary_version_fails_preview(
    inline_stack: StackFactory,
    stack_env: dict[str, str],
    program: Program,
    emulator: EmulatorServer,
    workload: Workload,
) -> None:
    """Pods labelled version=v2 already run from someone's own Deployment: a canary_deployment for v2
    would put a second Deployment behind the same version. Refused on create as on update."""
    workload.wait_ready(workload.deploy("v2", replicas=1, name=f"{SERVICE}-next"), 1)
    program.policy = {
        "stable_version": "v1",
        "canary_version": "v2",
        "canary_deployment": canary.CanaryDeployment(image="demo:2.0", replicas=1),
    }
    stack = inline_stack(program, env=stack_env)
    emulator.clear_requests()
    message = preview_error(stack)
    assert "canary_deployment" in message and "pods labelled version=v2 already serve version v2" in message
    with pytest.raises(CommandError):
        stack.up(**QUIET)
    assert writes(emulator) == [] and gateway_routes(emulator, program.gateway_id) == []
    assert workload.deployment_names() == {f"{SERVICE}-v1", f"{SERVICE}-next"}, "no second Deployment"

    program.policy = {"stable_version": "v1", "canary_version": "v2"}  # those pods are the canary
    assert stack.up(**QUIET).summary.result == "succeeded"
