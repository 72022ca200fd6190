"""The whole rig with a real data plane, for work by hand: ``make rig`` (``python -m rig.serve``).

Inside the private network namespace (``rig.netns``) it starts the cluster, the pod backends, Traefik
(the Gateway API ``Gateway`` and the MSE emulator's data plane), the MSE emulator with a seeded gateway,
and Prometheus, prints where each one answers, and runs until interrupted. Pod IPs exist only in that
namespace, so commands that send requests join it with ``nsenter``, as printed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rig import tools
from rig.backends import Backends
from rig.cluster import LocalCluster
from rig.gateway import GATEWAY_NAME, GATEWAY_NAMESPACE, Traefik
from rig.metrics import Prometheus

WORKDIR = tools.ROOT / ".demo" / "rig"
GATEWAY_ID = "gw-local"
CLUSTER_ID = "c-local"
ACCESS_KEY_ID, ACCESS_KEY_SECRET = "LTAI-local", "local-secret-not-a-real-key"


@dataclass
class Rig:
    """What :func:`running_rig` started."""

    cluster: LocalCluster
    traefik: Traefik
    emulator: Any
    prometheus: Prometheus | None


@contextlib.contextmanager
def running_rig(workdir: Path, *, gateway_id: str, with_prometheus: bool = True) -> Iterator[Rig]:
    """Start everything (the emulator with ``gateway_id`` seeded and the cluster as its service source)
    and stop it all on exit."""
    from pulumi_canary.emulator import EmulatorServer
    from pulumi_canary.emulator.dataplane import TraefikFileDataPlane
    from pulumi_canary.emulator.endpoints import WatchedEndpoints

    with contextlib.ExitStack() as stack:
        cluster = stack.enter_context(LocalCluster(workdir=workdir / "cluster"))
        kubeconfig = str(cluster.kubeconfig_path)
        stack.enter_context(Backends(kubeconfig))
        traefik = stack.enter_context(Traefik(cluster, workdir / "traefik"))
        endpoints = stack.enter_context(WatchedEndpoints(kubeconfig))
        emulator = stack.enter_context(
            EmulatorServer(credentials={ACCESS_KEY_ID: ACCESS_KEY_SECRET}, endpoints=endpoints)
        )
        stack.enter_context(TraefikFileDataPlane(emulator.backend, traefik.dynamic_dir))
        emulator.seed_gateway(gateway_id)
        emulator.seed_service_source(gateway_id, CLUSTER_ID)
        prometheus = None
        if with_prometheus:
            admin = traefik.admin_url.removeprefix("http://")
            prometheus = stack.enter_context(Prometheus(workdir / "prometheus", targets=[admin]))
        yield Rig(cluster, traefik, emulator, prometheus)


def describe(rig: Rig) -> str:
    join = f"nsenter --net=/proc/{os.getpid()}/ns/net"
    lines = [
        f"KUBECONFIG={rig.cluster.kubeconfig_path}",
        f"MSE emulator: http://{rig.emulator.endpoint} (gateway {GATEWAY_ID}, AccessKey {ACCESS_KEY_ID} / "
        f"{ACCESS_KEY_SECRET}); its published routes answer on {rig.traefik.mse_url}",
        f"Gateway API: Gateway {GATEWAY_NAMESPACE}/{GATEWAY_NAME} answers on {rig.traefik.web_url}",
        f"Traefik API and metrics: {rig.traefik.admin_url}/api/http/routers, {rig.traefik.metrics_url}",
    ]
    if rig.prometheus is not None:
        lines.append(f"Prometheus: {rig.prometheus.url}")
    lines += [
        "Requests reach pods only inside this rig's network namespace; from another terminal, join it:",
        f"  {join} .venv/bin/python -m rig.load {rig.traefik.mse_url}/demo --requests 1000 --seconds 30",
        "Ctrl-C stops everything.",
    ]
    return "\n".join(lines)


def main() -> None:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda _signum, _frame: stop.set())
    with running_rig(WORKDIR, gateway_id=GATEWAY_ID) as rig:
        print(describe(rig), flush=True)
        while not stop.wait(0.5):
            rig.cluster.check_alive()


if __name__ == "__main__":
    main()
