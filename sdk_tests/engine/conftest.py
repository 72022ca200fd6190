"""Fixtures for end-to-end tests: the MSE emulator connected to the real cluster, and a stable workload."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from lightkube.models.apps_v1 import DeploymentSpec
from lightkube.models.core_v1 import Container, PodSpec, PodTemplateSpec, ServicePort, ServiceSpec
from lightkube.models.meta_v1 import LabelSelector, ObjectMeta
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Service

from pulumi_canary.emulator import EmulatorServer
from pulumi_canary.emulator.endpoints import WatchedEndpoints

ACCESS_KEY_ID = "LTAI-test-key-id"
ACCESS_KEY_SECRET = "test-secret-must-never-leak-0123456789"
GATEWAY_ID = "gw-e2e0123456789"
SERVICE = "demo-service"


@pytest.fixture(scope="session")
def emulator(kubeconfig: Path) -> Iterator[EmulatorServer]:
    with WatchedEndpoints(str(kubeconfig)) as endpoints, EmulatorServer(
        credentials={ACCESS_KEY_ID: ACCESS_KEY_SECRET}, endpoints=endpoints
    ) as server:
        yield server


@pytest.fixture
def gateway_id(emulator: EmulatorServer) -> str:
    """A fresh gateway per test, with the real cluster as its Kubernetes service source."""
    emulator.reset()
    emulator.seed_gateway(GATEWAY_ID)
    emulator.seed_service_source(GATEWAY_ID, "c-rig")
    return GATEWAY_ID


@pytest.fixture
def stack_env(kubeconfig: Path) -> dict[str, str]:
    return {
        "KUBECONFIG": str(kubeconfig),
        "ALIBABA_CLOUD_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": ACCESS_KEY_SECRET,
    }


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 90.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


NO_MARKS: dict[str, Any] = {"labels": {}, "annotations": {}, "managers": []}
"""``Workload.pulumi_canary_marks`` of a Deployment pulumi-canary never touched or has released."""


@dataclass
class Workload:
    kube: Any
    namespace: str

    def deploy(self, version: str, replicas: int = 2, image: str = "demo:1.0", name: str = "") -> str:
        name = name or f"{SERVICE}-{version}"
        labels = {"app": "demo", "version": version}
        self.kube.apply(
            Deployment(
                metadata=ObjectMeta(name=name, namespace=self.namespace),
                spec=DeploymentSpec(
                    replicas=replicas,
                    selector=LabelSelector(matchLabels=labels),
                    template=PodTemplateSpec(
                        metadata=ObjectMeta(labels=labels),
                        spec=PodSpec(containers=[Container(name="app", image=image)]),
                    ),
                ),
            )
        )
        return name

    def wait_ready(self, name: str, replicas: int) -> None:
        def ready() -> bool:
            status = self.kube.get(Deployment, name, namespace=self.namespace).status
            return bool(status and (status.readyReplicas or 0) == replicas)

        wait_for(ready, f"{replicas} ready replicas of {name}")

    def deployment(self, name: str) -> Any:
        return self.kube.get(Deployment, name, namespace=self.namespace)

    def pulumi_canary_marks(self, name: str) -> dict[str, Any]:
        """Every trace pulumi-canary can leave on a Deployment: labels, annotations, field-manager entries."""
        metadata = self.deployment(name).metadata
        return {
            "labels": {k: v for k, v in (metadata.labels or {}).items() if v == "pulumi-canary"},
            "annotations": {k: v for k, v in (metadata.annotations or {}).items() if "pulumi-canary" in k},
            "managers": [e.manager for e in metadata.managedFields or [] if e.manager == "pulumi-canary"],
        }

    def deployment_names(self) -> set[str]:
        return {d.metadata.name for d in self.kube.list(Deployment, namespace=self.namespace)}


@pytest.fixture
def workload(kube: Any, namespace: str) -> Workload:
    """``demo-service`` (selector app=demo) with a ready stable Deployment labelled version=v1."""
    kube.apply(
        Service(
            metadata=ObjectMeta(name=SERVICE, namespace=namespace),
            spec=ServiceSpec(selector={"app": "demo"}, ports=[ServicePort(port=80, targetPort=8080)]),
        )
    )
    made = Workload(kube, namespace)
    made.wait_ready(made.deploy("v1"), 2)
    return made


@pytest.fixture
def program(emulator: EmulatorServer, gateway_id: str, namespace: str, workload: Workload) -> Any:
    from sdk_tests.engine.mse_program import Program

    return Program(emulator, gateway_id, namespace)


@pytest.fixture
def console(emulator: EmulatorServer) -> Any:
    """The official SDK client, as a person working in the MSE console (or a script) would use it."""
    from alibabacloud_mse20190531.client import Client
    from alibabacloud_tea_openapi.models import Config

    return Client(Config(access_key_id=ACCESS_KEY_ID, access_key_secret=ACCESS_KEY_SECRET,
                         endpoint=emulator.endpoint, protocol="http", region_id="cn-hangzhou"))
