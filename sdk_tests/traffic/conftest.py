"""Fixtures for the real-traffic tests: pods that answer (rig.backends), Traefik serving the Gateway API
and the MSE emulator's data plane, and Prometheus scraping Traefik.

Everything runs inside the private network namespace of ``rig.netns`` (``make test`` enters it), where
kwok's pod IPs are local addresses; outside it these tests fail, naming the way in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pulumi_canary.emulator import EmulatorServer
from pulumi_canary.emulator.dataplane import TraefikFileDataPlane
from rig.backends import Backends
from rig.cluster import LocalCluster
from rig.gateway import Traefik
from rig.metrics import Prometheus

# The engine layer's fixtures (the emulator watching the cluster, a gateway per test, the stable workload).
from sdk_tests.engine.conftest import (  # noqa: F401
    Workload,
    console,
    emulator,
    gateway_id,
    stack_env,
    workload,
)
from sdk_tests.traffic.release import Deployed, Release, target


@pytest.fixture(autouse=True)
def _in_private_network(private_network: None) -> None:
    """Every traffic test needs the namespace (see ``private_network``)."""


@pytest.fixture(scope="session")
def backends(kubeconfig: Path) -> Iterator[Backends]:
    with Backends(kubeconfig) as running:
        yield running


@pytest.fixture(scope="session")
def traefik(
    cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory, backends: Backends
) -> Iterator[Traefik]:
    with Traefik(cluster, tmp_path_factory.mktemp("traefik")) as running:
        yield running


@pytest.fixture(scope="session")
def mse_data_plane(emulator: EmulatorServer, traefik: Traefik) -> Iterator[TraefikFileDataPlane]:  # noqa: F811
    with TraefikFileDataPlane(emulator.backend, traefik.dynamic_dir) as plane:
        yield plane


@pytest.fixture(scope="session")
def prometheus(traefik: Traefik, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    target = traefik.metrics_url.removeprefix("http://").removesuffix("/metrics")
    with Prometheus(tmp_path_factory.mktemp("prometheus"), targets=[target]) as running:
        yield running


@pytest.fixture
def route_path(namespace: str) -> str:
    """A path of this test's own, so that a route another test left behind can never answer for it."""
    return f"/{namespace}"


@pytest.fixture
def launch(
    request: pytest.FixtureRequest,
    inline_stack: Any,
    stack_env: dict[str, str],  # noqa: F811 (the engine fixture, imported above)
    namespace: str,
    workload: Workload,  # noqa: F811
    route_path: str,
) -> Callable[..., Deployed]:
    """``launch(kind, canary_replicas=0)``: the release program on the gateway of ``kind``, over the
    stable workload and, with ``canary_replicas``, a ready v2 Deployment of the user's."""

    def make(kind: str, canary_replicas: int = 0) -> Deployed:
        gateway = target(request, kind)
        if canary_replicas:
            workload.wait_ready(
                workload.deploy("v2", replicas=canary_replicas, image="demo:2.0"), canary_replicas
            )
        release = Release(gateway.gateway, namespace, route_path)
        return Deployed(gateway, release, inline_stack(release, env=stack_env), route_path)

    return make
