"""The stage every bench measurement shares: the programs it runs, the cluster's Services and
Deployments they route to, the MSE emulator's process and the stacks' environment."""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.gateways import GATEWAY_API_GATEWAY, GATEWAY_ID, NAMESPACE, BenchedGateway
from rig.cluster import (
    LocalCluster,
    Process,
    apply_gateways,
    free_port,
    gateway_api_gateway,
    http_ok,
    spawn_logged,
    stop_process,
    wait_until,
)

ACCESS_KEY_ID, ACCESS_KEY_SECRET = "LTAI-bench", "bench-secret-not-a-real-key"


CREDENTIALS_ENV = {
    "ALIBABA_CLOUD_ACCESS_KEY_ID": ACCESS_KEY_ID,
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET": ACCESS_KEY_SECRET,
}


def canary_program(
    gateway: BenchedGateway, count: int, endpoint: str, weights: dict[int, int]
) -> Callable[[], None]:
    def program() -> None:
        import pulumi_canary as canary

        arguments = gateway.arguments(endpoint)
        for index in range(count):
            policy = canary.CanaryPolicy(
                f"p{index}",
                gateway=arguments,
                service=canary.ServiceRef(name=f"svc-{index}", namespace=NAMESPACE, port=80),
                route=canary.RouteMatch(path=f"/p{index}"),
                label_key="version",
                stable_version="v1",
                canary_version="v2",
            )
            canary.TrafficSplit(f"s{index}", policy=policy, canary_weight=weights.get(index, 0))

    return program


def floor_program(
    count: int, objects: bool = False, weights: dict[int, int] | None = None
) -> Callable[[], None]:
    """2N no-op resources whose properties mirror a policy's and a split's, value for value; with
    ``objects``, the policies' stand-ins write the Gateway API objects (see ``bench.objects_only``).
    ``weights`` (read when the program runs) sets a split stand-in's ``canary_weight``, as in
    ``canary_program``: the floor of one weight change."""
    weights = {} if weights is None else weights

    def program() -> None:
        from bench.noop import Noop
        from bench.objects_only import ObjectsOnly

        stand_in = ObjectsOnly if objects else Noop
        for index in range(count):
            shared = {
                "gateway": {
                    "kind": "mse",
                    "gateway_id": GATEWAY_ID,
                    "region": "cn-hangzhou",
                    "endpoint": "x",
                },
                "service": {"name": f"svc-{index}", "namespace": NAMESPACE, "port": 80},
                "route": {"path": f"/p{index}"},
                "label_key": "version",
                "stable_version": "v1",
                "canary_version": "v2",
                "__owner": f"bench/floor/p{index}",
            }
            stand_in(
                f"p{index}",
                {
                    **shared,
                    "canary_deployment": None,
                    "readiness_timeout_seconds": None,
                    "allow_unready": None,
                    "owner": None,
                    "route_id": None,
                    "weights": None,
                    "canary_deployment_name": None,
                    "original_route": None,
                },
            )
            stand_in(
                f"s{index}",
                {
                    **shared,
                    "policy": f"bench/floor/p{index}",
                    "route_id": f"r{index}",
                    "weights": None,
                    "canary_weight": weights.get(index, 0),
                    "readiness_timeout_seconds": None,
                    "allow_unready": None,
                    "live_weights": None,
                },
            )

    return program


def deploy_services(kubeconfig: Path, count: int) -> None:
    """N Services, each with a ready Deployment labelled version=v1 (one replica)."""
    from lightkube import Client, KubeConfig, codecs
    from lightkube.resources.apps_v1 import Deployment

    client = Client(config=KubeConfig.from_file(kubeconfig), field_manager="bench")
    apply_gateways(client, [gateway_api_gateway(NAMESPACE, GATEWAY_API_GATEWAY)])  # its namespace too
    for index in range(count):
        for manifest in service_manifests(f"svc-{index}", "v1"):
            client.apply(codecs.from_dict(manifest))
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        ready = sum(
            1 for d in client.list(Deployment, namespace=NAMESPACE) if d.status and d.status.readyReplicas
        )
        if ready >= count:
            return
        time.sleep(1)
    raise RuntimeError(f"only {ready} of {count} bench Deployments became ready")


def service_manifests(name: str, version: str) -> list[dict[str, Any]]:
    labels = {"app": name, "version": version}
    return [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": f"{name}-{version}", "namespace": NAMESPACE},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "app", "image": f"{name}:{version}"}]},
                },
            },
        },
    ]


def wait_ready(kubeconfig: Path, name: str) -> None:
    from lightkube import Client, KubeConfig
    from lightkube.resources.apps_v1 import Deployment

    client = Client(config=KubeConfig.from_file(kubeconfig))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = client.get(Deployment, name, namespace=NAMESPACE).status
        if status and status.readyReplicas:
            return
        time.sleep(0.5)
    raise RuntimeError(f"{name} did not become ready")


class EmulatorProcess:
    """The MSE emulator in a process of its own, seeded with the bench's gateway and the cluster as its
    service source. MSE is a remote service: run inside the bench's process, the emulator's threads would
    take the GIL from the Automation API program, a cost the floor does not pay and no user pays."""

    def __init__(self, kubeconfig: Path, workdir: Path) -> None:
        self.kubeconfig = kubeconfig
        self.workdir = workdir
        self.port = 0
        self.process: Process | None = None

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> EmulatorProcess:
        self.port = free_port()
        argv = [sys.executable, "-m", "pulumi_canary.emulator", "--port", str(self.port)]
        argv += ["--seed-gateway", GATEWAY_ID, "--cluster-id", "c-bench"]
        argv += ["--kubeconfig", str(self.kubeconfig)]
        environment = os.environ | CREDENTIALS_ENV
        self.process = spawn_logged("MSE emulator", argv, self.workdir / "emulator.log", environment)
        wait_until(self.process, lambda: http_ok(self._control("health")), "the MSE emulator's health")
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.process is not None:
            stop_process(self.process.popen)

    def actions(self) -> list[str]:
        """The actions of the API calls logged since the last ``clear_requests``, in order."""
        with urllib.request.urlopen(self._control("requests"), timeout=30) as response:
            return [str(record["action"]) for record in json.load(response)["requests"]]

    def clear_requests(self) -> None:
        request = urllib.request.Request(self._control("requests"), method="DELETE")
        urllib.request.urlopen(request, timeout=30).close()

    def _control(self, path: str) -> str:
        return f"http://{self.endpoint}/_emulator/{path}"


def stack_env(cluster: LocalCluster, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The stacks' environment. The timed runs reach the cluster as an identity the audit log leaves out:
    logging a request costs the API server about 0.6 ms of CPU (1.4 ms for a plain GET without, 2.0 ms
    with, measured here), a cost of counting that the floor does not pay. ``counted`` switches a stack to
    the audited identity."""
    return {
        "KUBECONFIG": str(cluster.kubeconfig_path),
        **CREDENTIALS_ENV,
        **(extra or {}),
    }


@contextmanager
def counted(stack: Any, cluster: LocalCluster) -> Iterator[None]:
    """Within: the stack's provider reaches the cluster as the identity the audit log records."""
    from pulumi.automation import ConfigValue

    stack.set_config("kubernetes:kubeconfig", ConfigValue(str(cluster.client_kubeconfig_path)))
    try:
        yield
    finally:
        stack.remove_config("kubernetes:kubeconfig")


def apply_manifest(kubeconfig: Path, manifest: dict[str, Any]) -> None:
    from lightkube import Client, KubeConfig, codecs

    Client(config=KubeConfig.from_file(kubeconfig), field_manager="bench").apply(codecs.from_dict(manifest))
