"""examples/with-pulumi-kubernetes: pulumi-kubernetes owns the Service and the stable track, pulumi-canary
the canary track and the traffic, in one program through the real engine and both providers.

The provider plugin ``pulumi-resource-kubernetes`` is not on PyPI: ``rig.tools`` builds it from its Go
module (an optional component; the first build takes minutes, later runs reuse it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Service

from pulumi_canary.emulator import EmulatorServer
from rig import tools
from rig.netns import in_private_namespace
from sdk_tests.engine.mse_program import gateway_routes, route_weights
from sdk_tests.examples.conftest import QUIET, configure

NAME = "demo-service"


@pytest.fixture(scope="session")
def kubernetes_plugin() -> Path:
    """The folder holding ``pulumi-resource-kubernetes`` (built once, then cached): ``make test`` builds it
    before the tests enter their network namespace, which has no route to the Go module proxy."""
    if in_private_namespace() and not tools.PULUMI_KUBERNETES.is_ready():
        pytest.fail(
            "the pulumi-kubernetes plugin is not built, and the private network namespace cannot reach the "
            "Go module proxy: run `make test`, or `.venv/bin/python -m rig.tools --with pulumi-kubernetes` "
            "before entering the namespace",
            pytrace=False,
        )
    return tools.PULUMI_KUBERNETES.ensure() / "bin"


def managers(obj: Any) -> set[str]:
    return {entry.manager for entry in obj.metadata.managedFields or []}


def names(kube: Any, resource: Any, namespace: str) -> set[str]:
    return {item.metadata.name for item in kube.list(resource, namespace=namespace)}


@pytest.mark.timeout(3600)  # the first run builds the provider plugin
def test_pulumi_kubernetes_owns_the_stable_track_and_pulumi_canary_the_canary(
    kubernetes_plugin: Path, example, emulator: EmulatorServer, gateway_id: str, kube: Any, namespace: str
) -> None:
    project = example("with-pulumi-kubernetes", path=[kubernetes_plugin])
    stack = project.stack("dev", {"gatewayId": gateway_id, "endpoint": emulator.url, "namespace": namespace})

    # pulumi-kubernetes creates the Service and rolls out the stable track; then the policy takes the route
    up = stack.up(**QUIET)
    assert up.summary.resource_changes == {"create": 4}  # the stack, Service, Deployment, policy
    # the engine ran the plugin built by the rig (and says so), as the version the SDK asked for
    assert f"using pulumi-resource-kubernetes from $PATH at {kubernetes_plugin}" in up.stdout
    (provider,) = [r for r in stack.export_stack().deployment["resources"]
                   if r["type"] == "pulumi:providers:kubernetes"]
    assert provider["outputs"]["version"] == tools.PULUMI_KUBERNETES_VERSION
    stable = kube.get(Deployment, f"{NAME}-stable", namespace=namespace)
    assert stable.status.readyReplicas == 2
    assert any(manager.startswith("pulumi-kubernetes") for manager in managers(stable)), managers(stable)
    assert kube.get(Service, NAME, namespace=namespace).spec.selector == {"app": "demo"}
    assert route_weights(emulator, gateway_id) == {"stable": 100, "canary": 0}

    # a canary: pulumi-canary clones the stable Deployment as the canary track and moves 20% to it
    configure(stack, {"canaryImage": "demo:2.0", "canaryWeight": "20"})
    up = stack.up(**QUIET)
    assert up.outputs["canary_deployment"].value == f"{NAME}-canary"
    canary = kube.get(Deployment, f"{NAME}-canary", namespace=namespace)
    assert canary.spec.template.metadata.labels == {"app": "demo", "track": "canary"}
    assert canary.spec.template.spec.containers[0].image == "demo:2.0"
    assert "pulumi-canary" in managers(canary)
    assert not any(manager.startswith("pulumi-kubernetes") for manager in managers(canary))
    assert route_weights(emulator, gateway_id) == {"stable": 80, "canary": 20}

    # promotion: pulumi-kubernetes rolls the stable track to the canary's image, the canary gets 0%...
    configure(stack, {"stableImage": "demo:2.0", "canaryWeight": "0"})
    stack.up(**QUIET)
    stable = kube.get(Deployment, f"{NAME}-stable", namespace=namespace)
    assert stable.spec.template.spec.containers[0].image == "demo:2.0"
    assert route_weights(emulator, gateway_id) == {"stable": 100, "canary": 0}

    # ... and without canaryImage the policy removes its canary Deployment
    configure(stack, {"canaryImage": None})
    stack.up(**QUIET)
    assert names(kube, Deployment, namespace) == {f"{NAME}-stable"}

    # destroy: the policy goes first (route deleted), then pulumi-kubernetes' Deployment and Service
    stack.destroy(**QUIET)
    assert gateway_routes(emulator, gateway_id) == []
    assert names(kube, Deployment, namespace) == set()
    assert NAME not in names(kube, Service, namespace)
