"""examples/stack-per-environment: one program, three stacks, each configured by its own file.

Each environment has its own gateway (the ids are those of the committed ``Pulumi.<env>.yaml`` files) and
its own namespace; the test only points the stacks at the emulator and at fresh namespaces. Promotion is
an edit of ``Pulumi.prod.yaml``, as a pull request would make it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from lightkube.models.core_v1 import ServicePort, ServiceSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Namespace, Service

from pulumi_canary.emulator import EmulatorServer
from sdk_tests.engine.conftest import SERVICE, Workload
from sdk_tests.engine.mse_program import gateway_routes, route_weights, versions_on_gateway
from sdk_tests.examples import workflows
from sdk_tests.examples.conftest import EXAMPLES, QUIET

ENVIRONMENTS = ("dev", "staging", "prod")
PROJECT = "canary-environments"


def committed(env: str) -> dict[str, str]:
    """The committed config of one environment, without the project prefix."""
    text = (EXAMPLES / "stack-per-environment" / f"Pulumi.{env}.yaml").read_text()
    return {key.removeprefix(f"{PROJECT}:"): value for key, value in yaml.safe_load(text)["config"].items()}


@pytest.fixture
def environments(kube: Any, emulator: EmulatorServer) -> Iterator[dict[str, Workload]]:
    """Per environment: its gateway on the emulator, and a namespace running demo-service at v1."""
    emulator.reset()
    made: dict[str, Workload] = {}
    for env in ENVIRONMENTS:
        gateway = committed(env)["gatewayId"]
        emulator.seed_gateway(gateway)
        emulator.seed_service_source(gateway, f"c-{env}")
        namespace = f"t-{env}-{uuid.uuid4().hex[:6]}"
        kube.create(Namespace(metadata=ObjectMeta(name=namespace)))
        kube.apply(Service(
            metadata=ObjectMeta(name=SERVICE, namespace=namespace),
            spec=ServiceSpec(selector={"app": "demo"}, ports=[ServicePort(port=80, targetPort=8080)]),
        ))
        made[env] = Workload(kube, namespace)
        made[env].deploy("v1", replicas=1)
    for workload in made.values():
        workload.wait_ready(f"{SERVICE}-v1", 1)
    yield made
    for workload in made.values():
        kube.delete(Namespace, workload.namespace)


def test_each_stack_runs_at_the_weights_of_its_file_and_prod_is_promoted_by_config_only(
    environments: dict[str, Workload], example, emulator: EmulatorServer, tmp_path: Path
) -> None:
    assert {env: committed(env)["canaryWeight"] for env in ENVIRONMENTS} == {
        "dev": "100", "staging": "50", "prod": "10"
    }
    project = example("stack-per-environment")
    stacks = {
        env: project.stack(env, {"endpoint": emulator.url, "namespace": environments[env].namespace})
        for env in ENVIRONMENTS
    }
    for env, stack in stacks.items():
        up = stack.up(**QUIET)
        assert up.outputs["environment"].value == env

    live = {env: route_weights(emulator, committed(env)["gatewayId"]) for env in ENVIRONMENTS}
    assert live == {
        "dev": {"v1": 0, "v2": 100},
        "staging": {"v1": 50, "v2": 50},
        "prod": {"v1": 90, "v2": 10},
    }
    for workload in environments.values():
        assert workload.deployment(f"{SERVICE}-v2").spec.template.spec.containers[0].image == "demo:2.0"

    # The promotion pull request: Pulumi.prod.yaml says v2 is stable, v3 the next canary, 0% to it.
    prod_file = project.stack_file("prod")
    settings = yaml.safe_load(prod_file.read_text())
    prefixed = settings["config"]
    del prefixed[f"{PROJECT}:canaryImage"]
    prefixed.update({f"{PROJECT}:stableVersion": "v2", f"{PROJECT}:canaryVersion": "v3",
                     f"{PROJECT}:canaryWeight": "0"})
    prod_file.write_text(yaml.safe_dump(settings))

    # The pull request's preview, through the report step of examples/ci/preview.yml
    preview = stacks["prod"].preview(json=True, **QUIET)
    assert preview.change_summary == {"same": 1, "update": 2}  # the stack itself, policy and split
    runner_temp = workflows.run_step(
        "preview.yml", "Canary report", project=project.folder, stack="prod", pulumi_stdout=preview.stdout,
        expected_pulumi_args="preview --stack prod --json", scratch=tmp_path / "ci",
    )
    report = (runner_temp / "report.md").read_text()
    assert "### CanaryPolicy `shop` (update)" in report
    assert "`v2` becomes stable, next canary `v3`" in report
    assert "### TrafficSplit `shop` (update)" in report
    assert (runner_temp / "summary.md").read_text() == report
    stacks["prod"].up(**QUIET)
    prod_gateway = committed("prod")["gatewayId"]
    assert route_weights(emulator, prod_gateway) == {"v2": 100, "v3": 0}
    # v2's Deployment now serves stable traffic: the policy keeps it; the other environments are untouched
    assert f"{SERVICE}-v2" in environments["prod"].deployment_names()
    assert route_weights(emulator, committed("staging")["gatewayId"]) == {"v1": 50, "v2": 50}
    assert route_weights(emulator, committed("dev")["gatewayId"]) == {"v1": 0, "v2": 100}

    for stack in stacks.values():
        stack.destroy(**QUIET)
    assert all(gateway_routes(emulator, committed(env)["gatewayId"]) == [] for env in ENVIRONMENTS)
    assert versions_on_gateway(emulator) == set()
