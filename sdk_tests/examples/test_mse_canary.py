"""examples/mse-canary: the release of the README, step by step through stack config only."""

from __future__ import annotations

from pulumi_canary.emulator import EmulatorServer
from sdk_tests.engine.conftest import Workload
from sdk_tests.engine.mse_program import gateway_routes, route_weights, versions_on_gateway
from sdk_tests.examples.conftest import QUIET, configure


def test_the_release_step_by_step(example, emulator: EmulatorServer, gateway_id: str, namespace: str,
                                  workload: Workload) -> None:
    project = example("mse-canary")
    stack = project.stack("dev", {"gatewayId": gateway_id, "endpoint": emulator.url, "namespace": namespace})

    # the policy alone: the route /demo sends everything to v1 (region, path and versions: Pulumi.yaml)
    up = stack.up(**QUIET)
    assert route_weights(emulator, gateway_id) == {"v1": 100, "v2": 0}
    assert up.outputs["weights"].value == {"v1": 100, "v2": 0}
    (route,) = gateway_routes(emulator, gateway_id)
    assert route["Predicates"]["PathPredicates"]["Path"] == "/demo"

    # canaryImage: the policy deploys demo-service-v2; traffic does not move
    configure(stack, {"canaryImage": "demo:2.0"})
    up = stack.up(**QUIET)
    assert up.outputs["canary_deployment"].value == "demo-service-v2"
    canary = workload.deployment("demo-service-v2")
    assert canary.spec.template.metadata.labels == {"app": "demo", "version": "v2"}
    assert canary.spec.template.spec.containers[0].image == "demo:2.0"
    assert route_weights(emulator, gateway_id) == {"v1": 100, "v2": 0}

    # canaryWeight: a TrafficSplit, 10% then 50%
    for weight in (10, 50):
        configure(stack, {"canaryWeight": str(weight)})
        up = stack.up(**QUIET)
        assert route_weights(emulator, gateway_id) == {"v1": 100 - weight, "v2": weight}
        assert up.outputs["weights"].value == {"v1": 100 - weight, "v2": weight}

    # promotion: v2 becomes stable, the next canary is v3 (demo:3.0), all traffic to v2
    configure(stack, {"stableVersion": "v2", "canaryVersion": "v3", "canaryImage": "demo:3.0",
                      "canaryWeight": "0"})
    stack.up(**QUIET)
    assert route_weights(emulator, gateway_id) == {"v2": 100, "v3": 0}
    assert versions_on_gateway(emulator) == {"v2", "v3"}
    assert workload.deployment("demo-service-v3").spec.template.spec.containers[0].image == "demo:3.0"

    # delete: the route and the policy's canary Deployment go; the released v2 keeps running
    stack.destroy(**QUIET)
    assert gateway_routes(emulator, gateway_id) == []
    assert "demo-service-v3" not in workload.deployment_names()
    assert {"demo-service-v1", "demo-service-v2"} <= workload.deployment_names()
