"""The executor builds the cluster's workloads only for a step that needs them: an MSE weight change has
none, and building a Kubernetes client costs a kubeconfig parse, the decoders and a TLS context."""

from __future__ import annotations

from typing import Any, cast

import pytest

from pulumi_canary.drivers.context import DriverContext
from pulumi_canary.drivers.executor import GatewayDriver
from pulumi_canary.drivers.factory import Session
from pulumi_canary.drivers.workloads import ServiceTarget, Workloads
from pulumi_canary.errors import ConfigurationError
from pulumi_canary.model import (
    ApplyCanaryDeployment,
    CanaryDeploymentSpec,
    DeleteCanaryDeployment,
    DeploymentStep,
    Plan,
    ReleaseCanaryDeployment,
    ScaleCanary,
    SetWeights,
    WaitReady,
)

TARGET = ServiceTarget("default", "demo", "version")


class Recorder:
    """Records every call made on it, by method name."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        def record(*_args: Any, **_kwargs: Any) -> int:
            self.calls.append(name)
            return 1

        return record


class Cluster:
    """A ``DriverContext`` whose workloads record when they are built (the real one makes a client)."""

    def __init__(self) -> None:
        self.built: list[Recorder] = []

    @property
    def workloads(self) -> Workloads:
        self.built.append(Recorder())
        return cast(Workloads, self.built[-1])


def run(plan: Plan) -> tuple[Recorder, list[Recorder]]:
    gateway, cluster = Recorder(), Cluster()
    Session(cast(GatewayDriver, gateway), TARGET, cast(DriverContext, cluster)).run(plan, "route-1")
    return gateway, cluster.built


def test_a_weight_change_builds_no_workloads() -> None:
    gateway, built = run(
        (WaitReady(version="v2", minimum=1, timeout_seconds=5), SetWeights(weights={"v1": 90, "v2": 10}))
    )
    assert gateway.calls == ["wait_ready", "set_weights"]
    assert built == []


def test_a_deployment_step_builds_them_and_uses_them() -> None:
    gateway, built = run((ScaleCanary(version="v2", replicas=2), SetWeights(weights={"v1": 50, "v2": 50})))
    assert gateway.calls == ["set_weights"]
    assert [recorder.calls for recorder in built] == [["scale_canary"]]


# Each deployment step and the workloads method the executor calls for it.
EVERY_DEPLOYMENT_STEP: list[tuple[DeploymentStep, str]] = [
    (
        ApplyCanaryDeployment(CanaryDeploymentSpec(image="demo:2.0"), "v2", "v1", {"version": "v2"}),
        "apply_canary",
    ),
    (ScaleCanary(version="v2", replicas=3), "scale_canary"),
    (DeleteCanaryDeployment(version="v2"), "delete_canary"),
    (ReleaseCanaryDeployment(version="v2"), "release_canary"),
]


def test_every_deployment_step_is_listed_here() -> None:
    assert {type(step) for step, _ in EVERY_DEPLOYMENT_STEP} == set(DeploymentStep.__subclasses__())


@pytest.mark.parametrize(("step", "method"), EVERY_DEPLOYMENT_STEP, ids=lambda value: type(value).__name__)
def test_each_deployment_step_builds_the_workloads_it_calls(step: DeploymentStep, method: str) -> None:
    gateway, built = run((step,))
    assert gateway.calls == []
    assert [recorder.calls for recorder in built] == [[method]]


class BrokenCluster:
    @property
    def workloads(self) -> Workloads:
        raise ConfigurationError("cannot load the kubeconfig")


def test_a_cluster_that_cannot_be_reached_fails_a_deployment_plan_before_its_first_step() -> None:
    gateway = Recorder()
    session = Session(cast(GatewayDriver, gateway), TARGET, cast(DriverContext, BrokenCluster()))
    plan = (SetWeights(weights={"v1": 100, "v2": 0}), ScaleCanary(version="v2", replicas=0))
    with pytest.raises(ConfigurationError):
        session.run(plan, "route-1")
    assert gateway.calls == []
