"""What every gateway must do, through the real engine: the release story (with header routing to the
canary and drift made by hand on the way), promotion to a new label value with a policy-owned canary
Deployment, and adopting a route made by hand and restoring it exactly. Each test runs once per
registered gateway (``conftest.kind``); what the gateway stores is read back by its harness, never
through the product's drivers.

The stories share stacks where they can: every `pulumi up` costs seconds, and a story told on a running
release (drift at 90/10, headers through a rotation) checks no less than one told on a stack of its own.
"""

from __future__ import annotations

from typing import Any

import pytest
from pulumi.automation import CommandError

import pulumi_canary as canary
from sdk_tests.conformance.harness import GatewayHarness
from sdk_tests.conformance.observed import Routing, split_outputs
from sdk_tests.conftest import StackFactory
from sdk_tests.engine.conftest import NO_MARKS, Workload
from sdk_tests.engine.kube_program import Program
from sdk_tests.engine.mse_program import QUIET


def headers_of(harness: GatewayHarness, **declared: str) -> dict[str, str]:
    """``declared`` canary headers as the gateway stores them."""
    return {harness.stored_header_name(name): value for name, value in declared.items()}


def test_the_whole_flow_with_header_routing_drift_rotation_and_an_ordered_delete(
    inline_stack: StackFactory,
    stack_env: dict[str, str],
    harness: GatewayHarness,
    program: Program,
    workload: Workload,
) -> None:
    program.route = canary.RouteMatch(path="/demo", canary_headers={"X-Canary": "always"})
    always = headers_of(harness, **{"X-Canary": "always"})
    stack = inline_stack(program, env=stack_env)

    # creation: 100% to stable, 0% to canary; requests with the header already go to the canary
    up = stack.up(**QUIET)
    assert up.outputs["route_id"].value == harness.route_id()
    assert up.outputs["weights"].value == {"v1": 100, "v2": 0}
    assert harness.routing() == Routing.of({"v1": 100, "v2": 0}, "v2", always)
    assert harness.versions() == ["v1", "v2"]
    harness.check_created()

    # the user deploys the canary: nothing changes for traffic
    workload.wait_ready(workload.deploy("v2", replicas=1, image="demo:2.0"), 1)
    assert stack.up(**QUIET).summary.resource_changes == {"same": 2}
    assert harness.routing() == Routing.of({"v1": 100, "v2": 0}, "v2", always)

    # a TrafficSplit sets 90/10; the header route stays
    program.split = {"weights": {"v1": 90, "v2": 10}}
    up = stack.up(**QUIET)
    assert up.outputs["split_weights"].value == {"v1": 90, "v2": 10}
    assert harness.routing() == Routing.of({"v1": 90, "v2": 10}, "v2", always)

    put_back_after_a_change_by_hand(stack, harness, Routing.of({"v1": 90, "v2": 10}, "v2", always))

    # the header match changes in place; the weights stay
    program.route = canary.RouteMatch(path="/demo", canary_headers={"X-Canary": "yes", "x-team": "qa"})
    stack.up(**QUIET)
    tagged = headers_of(harness, **{"X-Canary": "yes", "x-team": "qa"})
    assert harness.routing() == Routing.of({"v1": 90, "v2": 10}, "v2", tagged)

    program.split = {"weights": {"v1": 50, "v2": 50}}
    stack.up(**QUIET)
    assert harness.routing() == Routing.of({"v1": 50, "v2": 50}, "v2", tagged)

    # complete the release by rotation: v2 stable and takes everything, v1 the next canary, which the
    # header now selects
    program.policy = {"stable_version": "v2", "canary_version": "v1"}
    program.split = {"canary_weight": 0}
    stack.up(**QUIET)
    assert harness.routing() == Routing.of({"v2": 100, "v1": 0}, "v1", tagged)

    # delete: traffic to stable first (v1 leaves the route, and the header route with it, before it is
    # removed); nothing of ours is left
    since = harness.checkpoint()
    stack.destroy(**QUIET)
    harness.assert_destroyed(since, stable="v2", canary="v1")


def put_back_after_a_change_by_hand(stack: Any, harness: GatewayHarness, declared: Routing) -> None:
    """Drift: the weights (90/10 declared) changed outside Pulumi, by the MSE console or a rollout
    controller's forced apply, are reported by refresh, shown by preview, and put back by `pulumi up`
    (once the editor lets go of the field, where the system records that it owns it)."""
    edit = harness.edit_weights_by_hand({"v1": 50, "v2": 50})
    changed = Routing((("v1", 50), ("v2", 50)), declared.header)
    assert harness.routing() == changed

    # refresh reports the weights as drift instead of hiding it; preview shows the way back
    stack.refresh(**QUIET)
    assert split_outputs(stack)["live_weights"] == {"v1": 50, "v2": 50}
    preview = stack.preview(diff=True, **QUIET)
    assert preview.change_summary.get("update") == 1
    assert "v1: 50 => 90" in preview.stdout and "v2: 50 => 10" in preview.stdout

    if edit.claim is not None:
        # The editor owns the weights now: pulumi-canary says so instead of forcing its way over it.
        manager, _operation = edit.claim
        with pytest.raises(CommandError) as refused:
            stack.up(**QUIET)
        message = str(refused.value)
        assert f"field manager {manager!r}" in message
        assert edit.claimed_field in message and "does not force" in message
        assert harness.routing() == changed, "pulumi-canary wrote over another owner"
        assert edit.owners() == [edit.claim]
        edit.release()  # once the editor lets go of its claim, the next `pulumi up` sets the declared weights

    stack.up(**QUIET)
    assert harness.routing() == declared


def test_promotion_to_a_new_label_value_with_a_policy_owned_canary_deployment(
    inline_stack: StackFactory,
    stack_env: dict[str, str],
    harness: GatewayHarness,
    program: Program,
    workload: Workload,
) -> None:
    program.policy = {
        "stable_version": "v1",
        "canary_version": "v2",
        "canary_deployment": canary.CanaryDeployment(image="demo:2.0", replicas=1),
    }
    stack = inline_stack(program, env=stack_env)
    up = stack.up(**QUIET)
    assert up.outputs["canary_deployment_name"].value == "demo-service-v2"
    canary_deployment = workload.deployment("demo-service-v2")
    assert canary_deployment.spec.template.metadata.labels["version"] == "v2"
    assert canary_deployment.spec.template.spec.containers[0].image == "demo:2.0"
    assert harness.routing() == Routing.of({"v1": 100, "v2": 0})

    workload.wait_ready("demo-service-v2", 1)
    program.split = {"canary_weight": 30}
    stack.up(**QUIET)
    assert harness.routing() == Routing.of({"v1": 70, "v2": 30})

    # promote v2, and v3 is the next canary: v1's version goes, v3's comes, v2 takes everything
    program.policy = {
        "stable_version": "v2",
        "canary_version": "v3",
        "canary_deployment": canary.CanaryDeployment(image="demo:3.0", replicas=1),
    }
    program.split = {"canary_weight": 0}
    stack.up(**QUIET)
    assert harness.routing() == Routing.of({"v2": 100, "v3": 0})
    assert harness.versions() == ["v2", "v3"]
    assert workload.deployment("demo-service-v3").spec.template.spec.containers[0].image == "demo:3.0"
    assert workload.pulumi_canary_marks("demo-service-v2") == NO_MARKS, "the promotion released it"

    since = harness.checkpoint()
    stack.destroy(**QUIET)
    harness.assert_destroyed(since, stable="v2", canary="v3")
    assert "demo-service-v3" not in workload.deployment_names()
    assert workload.pulumi_canary_marks("demo-service-v2") == NO_MARKS  # it serves stable: left running


def test_an_existing_route_is_adopted_and_restored_as_it_was(
    inline_stack: StackFactory,
    stack_env: dict[str, str],
    harness: GatewayHarness,
    program: Program,
    workload: Workload,
) -> None:
    adoptable = harness.make_route_to_adopt()
    workload.wait_ready(workload.deploy("v2", replicas=1, image="demo:2.0"), 1)
    program.route = canary.RouteMatch(**adoptable.match, canary_headers={"x-canary": "always"})
    program.split = {"weights": {"v1": 90, "v2": 10}}
    stack = inline_stack(program, env=stack_env)

    up = stack.up(**QUIET)
    assert up.outputs["route_id"].value == adoptable.route_id, "the existing route is adopted, not duplicated"
    always = headers_of(harness, **{"x-canary": "always"})
    harness.assert_adopted(adoptable, Routing.of({"v1": 90, "v2": 10}, "v2", always))

    stack.destroy(**QUIET)
    harness.assert_restored(adoptable)
