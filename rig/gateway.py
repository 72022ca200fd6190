"""A real gateway in the rig: Traefik v3, serving the Gateway API and the MSE emulator's data plane.

One Traefik process has three entrypoints on loopback:

- ``web``: the listener of the rig's Gateway API ``Gateway`` (GatewayClass ``traefik``), fed by
  Traefik's ``kubernetesGateway`` provider from the HTTPRoutes the plugin writes;
- ``mse``: the emulated MSE gateway, fed by Traefik's ``file`` provider from the files the emulator's
  data plane writes (:class:`pulumi_canary.emulator.dataplane.TraefikFileDataPlane`);
- ``traefik``: ping, the API (which routers are loaded) and Prometheus metrics.

Both providers route to pod IPs, which answer only inside the private network namespace the rig makes
(``rig.netns``), where :mod:`rig.backends` serves them.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from rig import tools
from rig.cluster import LocalCluster, Process, free_port, http_ok, spawn_logged, stop_process, wait_until

GATEWAY_CLASS = "traefik"
CONTROLLER_NAME = "traefik.io/gateway-controller"
GATEWAY_NAME = "rig-gateway"
GATEWAY_NAMESPACE = "rig-gateway"
FIELD_MANAGER = "pulumi-canary-rig"
# Latency buckets (seconds) fine enough for a p99 of backends that answer in milliseconds.
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
# How long Traefik gathers provider events before it applies a new configuration (its default is 2 s).
THROTTLE = "100ms"


@dataclass
class Traefik:
    """Start with ``with Traefik(cluster, workdir) as traefik:``; it stops on exit."""

    cluster: LocalCluster
    workdir: Path
    web_port: int = field(default_factory=free_port)
    mse_port: int = field(default_factory=free_port)
    admin_port: int = field(default_factory=free_port)
    process: Process | None = None

    @property
    def dynamic_dir(self) -> Path:
        """Where the MSE data plane writes its files (Traefik's file provider watches it)."""
        return self.workdir / "dynamic"

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def mse_url(self) -> str:
        return f"http://127.0.0.1:{self.mse_port}"

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    @property
    def metrics_url(self) -> str:
        return f"{self.admin_url}/metrics"

    def __enter__(self) -> Traefik:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.dynamic_dir.mkdir(exist_ok=True)
        config = self.workdir / "traefik.json"
        config.write_text(json.dumps(self.static_config(), indent=1))
        config.chmod(0o600)  # it carries the cluster token
        install_gateway(self.cluster.kubeconfig_path, self.web_port)
        self.process = spawn_logged(
            "traefik",
            [str(tools.TRAEFIK.folder / "traefik"), f"--configFile={config}"],
            self.workdir / "traefik.log",
        )
        wait_until(self.process, lambda: http_ok(f"{self.admin_url}/ping"), "traefik /ping")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process.popen)
            self.process = None

    def static_config(self) -> dict[str, Any]:
        ca_path = self.cluster.workdir / "certs" / "apiserver.crt" if self.cluster.workdir else None
        return {
            "global": {"checkNewVersion": False, "sendAnonymousUsage": False},
            "log": {"level": "INFO"},
            "entryPoints": {
                "web": {"address": f"127.0.0.1:{self.web_port}"},
                "mse": {"address": f"127.0.0.1:{self.mse_port}"},
                "traefik": {"address": f"127.0.0.1:{self.admin_port}"},
            },
            "ping": {"entryPoint": "traefik"},
            "api": {"insecure": True},
            "metrics": {
                "prometheus": {
                    "entryPoint": "traefik",
                    "addServicesLabels": True,
                    "addRoutersLabels": True,
                    "addEntryPointsLabels": True,
                    "buckets": list(LATENCY_BUCKETS),
                }
            },
            "providers": {
                "providersThrottleDuration": THROTTLE,
                "file": {"directory": str(self.dynamic_dir), "watch": True},
                "kubernetesGateway": {
                    "endpoint": self.cluster.server,
                    "token": self.cluster.token,
                    "certAuthFilePath": str(ca_path),
                },
            },
        }

    def routers(self) -> list[dict[str, Any]]:
        """The HTTP routers Traefik has loaded (its API), each with ``name``, ``rule`` and ``status``."""
        loaded: list[dict[str, Any]] = self.api("http/routers")
        return loaded

    def api(self, path: str) -> Any:
        with urllib.request.urlopen(f"{self.admin_url}/api/{path}", timeout=5) as response:
            return json.load(response)

    def served_weights(self, provider: str, contains: str) -> dict[str, int]:
        """The weighted services the routers of ``provider`` whose rule contains ``contains`` (and matches
        no header: header routes are not weighted) send to: child service name -> weight, as Traefik has
        loaded them (empty when no such router is loaded)."""
        weights: dict[str, int] = {}
        for router in self.routers():
            rule = router.get("rule", "")
            if router.get("provider") != provider or contains not in rule or "Header" in rule:
                continue
            if router.get("status") != "enabled":
                continue
            service = router["service"] if "@" in router["service"] else f"{router['service']}@{provider}"
            for child in (
                self.api(f"http/services/{urllib.parse.quote(service)}")
                .get("weighted", {})
                .get("services", [])
            ):
                weights[child["name"]] = weights.get(child["name"], 0) + int(child.get("weight", 1))
        return weights

    def wait_for_weights(
        self,
        provider: str,
        contains: str,
        expected: Mapping[str, int],
        version_of: Callable[[str], str],
        timeout: float = 30.0,
    ) -> None:
        """Wait until Traefik serves ``expected`` (version -> percent; versions at 0 get no share) on the
        routers of ``provider`` whose rule contains ``contains``; ``version_of`` names the version of a
        child service."""
        wanted = {version: weight for version, weight in expected.items() if weight > 0}
        deadline = time.monotonic() + timeout
        served: dict[str, int] = {}
        while time.monotonic() < deadline:
            try:
                served = {
                    version_of(name): weight
                    for name, weight in self.served_weights(provider, contains).items()
                    if weight > 0
                }
            except (urllib.error.URLError, OSError):
                served = {}
            if served == wanted:
                return
            time.sleep(0.1)
        raise TimeoutError(f"Traefik serves {served} on {contains!r}, not {wanted}, after {timeout:.0f}s")

    def wait_for_no_router(self, provider: str, contains: Sequence[str], timeout: float = 30.0) -> None:
        """Until Traefik has no router of ``provider`` whose rule contains every one of ``contains``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not [router for router in self.routers() if _matches(router, provider, contains)]:
                return
            time.sleep(0.1)
        raise TimeoutError(
            f"Traefik still serves a {provider} router with {list(contains)} after {timeout:.0f}s"
        )

    def wait_for_router(
        self, provider: str, contains: Sequence[str], timeout: float = 30.0
    ) -> dict[str, Any]:
        """The first loaded router of ``provider`` (``file``, ``kubernetesgateway``) whose rule contains
        every one of ``contains``: a request sent after this is routed by it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                for router in self.routers():
                    if _matches(router, provider, contains):
                        return router
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise TimeoutError(f"Traefik loaded no {provider} router with {list(contains)} within {timeout:.0f}s")


def _matches(router: Mapping[str, Any], provider: str, contains: Sequence[str]) -> bool:
    rule = str(router.get("rule", ""))
    return router.get("provider") == provider and all(part in rule for part in contains)


def install_gateway(kubeconfig: Path, port: int) -> None:
    """The GatewayClass Traefik controls and one Gateway whose HTTP listener is Traefik's ``web``
    entrypoint, open to routes from every namespace."""
    from lightkube import Client, KubeConfig, codecs
    from lightkube.generic_resource import create_global_resource, create_namespaced_resource

    # Registered so that codecs.from_dict knows the kinds of the Gateway API CRDs.
    create_global_resource("gateway.networking.k8s.io", "v1", "GatewayClass", "gatewayclasses")
    create_namespaced_resource("gateway.networking.k8s.io", "v1", "Gateway", "gateways")
    client = Client(config=KubeConfig.from_file(kubeconfig), field_manager=FIELD_MANAGER)
    manifests = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": GATEWAY_NAMESPACE}},
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "GatewayClass",
            "metadata": {"name": GATEWAY_CLASS},
            "spec": {"controllerName": CONTROLLER_NAME},
        },
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "Gateway",
            "metadata": {"name": GATEWAY_NAME, "namespace": GATEWAY_NAMESPACE},
            "spec": {
                "gatewayClassName": GATEWAY_CLASS,
                "listeners": [
                    {
                        "name": "http",
                        "protocol": "HTTP",
                        "port": port,
                        "allowedRoutes": {"namespaces": {"from": "All"}},
                    }
                ],
            },
        },
    ]
    for manifest in manifests:
        client.apply(codecs.from_dict(manifest), force=True)
