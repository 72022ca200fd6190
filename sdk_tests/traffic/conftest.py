"""Fixtures for the real-traffic tests: pods that answer (rig.backends), Traefik serving the Gateway API
and the MSE emulator's data plane, and Prometheus scraping Traefik.

Everything runs inside the private network namespace of ``rig.netns`` (``make test`` enters it), where
kwok's pod IPs are local addresses; outside it these tests fail, naming the way in.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pulumi_canary.emulator import EmulatorServer
from pulumi_canary.emulator.dataplane import TraefikFileDataPlane
from rig.backends import Backends
from rig.cluster import LocalCluster
from rig.gateway import Traefik
from rig.metrics import Prometheus

# The engine layer's fixtures (the emulator watching the cluster, a gateway per test, the stable workload).
from sdk_tests.engine.conftest import console, emulator, gateway_id, stack_env, workload  # noqa: F401


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
