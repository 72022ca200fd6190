"""The MSE canary flow of the product, every step through the real engine, emulator and cluster."""

from __future__ import annotations

import pulumi_canary as canary
from pulumi_canary.emulator import EmulatorServer
from sdk_tests.engine.conftest import Workload
from sdk_tests.engine.mse_program import QUIET, Program, gateway_routes, route_weights, versions_on_gateway


def test_the_whole_flow_with_a_user_deployed_canary_and_rotation(
    inline_stack, stack_env, program: Program, emulator: EmulatorServer, gateway_id: str, workload: Workload
) -> None:
    stack = inline_stack(program, env=stack_env)

    # 3. creation: 100% to stable, 0% to canary
    up = stack.up(**QUIET)
    assert route_weights(emulator, gateway_id) == {"v1": 100, "v2": 0}
    assert up.outputs["weights"].value == {"v1": 100, "v2": 0}
    assert up.outputs["route_id"].value
    actions = [record.action for record in emulator.requests()]
    defined = [index for index, action in enumerate(actions) if action == "AddGatewayServiceVersion"]
    assert len(defined) == 2
    # one read of the service's versions serves both definitions
    assert "GetGatewayServiceDetail" not in actions[defined[0] : defined[1]]

    # 4-5. the user deploys the canary; nothing changes for traffic
    workload.wait_ready(workload.deploy("v2", replicas=1, image="demo:2.0"), 1)
    up = stack.up(**QUIET)
    assert up.summary.resource_changes == {"same": 2}
    assert route_weights(emulator, gateway_id) == {"v1": 100, "v2": 0}

    # 6. a TrafficSplit sets 90/10
    program.split = {"weights": {"v1": 90, "v2": 10}}
    stack.up(**QUIET)
    assert route_weights(emulator, gateway_id) == {"v1": 90, "v2": 10}

    # 7. complete the release by rotation: v2 stable, v1 the next canary; 100% to the new stable
    program.policy = {"stable_version": "v2", "canary_version": "v1"}
    program.split = {"canary_weight": 0}
    stack.up(**QUIET)
    assert route_weights(emulator, gateway_id) == {"v2": 100, "v1": 0}

    # 8. delete: traffic to stable first, then the canary version goes; no route is left behind
    stack.destroy(**QUIET)
    assert [r for r in emulator.state()["Routes"] if r["GatewayUniqueId"] == gateway_id] == []
    assert versions_on_gateway(emulator) == set()


def test_promotion_to_a_new_label_value_with_a_policy_owned_canary_deployment(
    inline_stack, stack_env, program: Program, emulator: EmulatorServer, gateway_id: str, workload: Workload
) -> None:
    program.policy = {
        "stable_version": "v1", "canary_version": "v2",
        "canary_deployment": canary.CanaryDeployment(image="demo:2.0", replicas=1),
    }
    stack = inline_stack(program, env=stack_env)
    up = stack.up(**QUIET)
    assert up.outputs["canary_deployment_name"].value == "demo-service-v2"
    canary_deployment = workload.deployment("demo-service-v2")
    assert canary_deployment.spec.template.metadata.labels["version"] == "v2"
    assert canary_deployment.spec.template.spec.containers[0].image == "demo:2.0"
    assert route_weights(emulator, gateway_id) == {"v1": 100, "v2": 0}

    workload.wait_ready("demo-service-v2", 1)
    program.split = {"canary_weight": 30}
    stack.up(**QUIET)
    assert route_weights(emulator, gateway_id) == {"v1": 70, "v2": 30}

    # promote v2 and take a new label value v3 for the next canary
    program.policy = {
        "stable_version": "v2", "canary_version": "v3",
        "canary_deployment": canary.CanaryDeployment(image="demo:3.0", replicas=1),
    }
    program.split = {"canary_weight": 0}
    stack.up(**QUIET)
    assert route_weights(emulator, gateway_id) == {"v2": 100, "v3": 0}
    assert "v1" not in versions_on_gateway(emulator)
    assert workload.deployment("demo-service-v3").spec.template.spec.containers[0].image == "demo:3.0"

    stack.destroy(**QUIET)
    assert [r for r in emulator.state()["Routes"] if r["GatewayUniqueId"] == gateway_id] == []
    assert "demo-service-v3" not in workload.deployment_names()


def test_canary_headers_send_tagged_requests_to_the_canary_and_follow_promotion(
    inline_stack, stack_env, program: Program, emulator: EmulatorServer, gateway_id: str, workload: Workload
) -> None:
    workload.wait_ready(workload.deploy("v2", replicas=1), 1)
    program.route = canary.RouteMatch(path="/demo", canary_headers={"x-canary": "always"})
    stack = inline_stack(program, env=stack_env)
    stack.up(**QUIET)

    def header_route() -> dict:
        routes = gateway_routes(emulator, gateway_id)
        (found,) = [r for r in routes if r["Predicates"].get("HeaderPredicates")]
        return found

    route = header_route()
    expected_header = {"Key": "x-canary", "Type": "EQUAL", "Value": "always"}
    assert route["Predicates"]["HeaderPredicates"] == [expected_header]
    assert route["Predicates"]["PathPredicates"]["Path"] == "/demo"
    assert [(s["Version"], s["Percent"]) for s in route["RouteServices"]] == [("v2", 100)]
    assert route["Status"] == 3
    assert route_weights(emulator, gateway_id) == {"v1": 100, "v2": 0}, "weights are untouched"

    program.policy = {"stable_version": "v2", "canary_version": "v1"}
    stack.up(**QUIET)
    assert [(s["Version"], s["Percent"]) for s in header_route()["RouteServices"]] == [("v1", 100)]
    assert route_weights(emulator, gateway_id) == {"v2": 100, "v1": 0}

    stack.destroy(**QUIET)
    assert gateway_routes(emulator, gateway_id) == []
