"""A real Kubernetes control plane on loopback, with fake nodes: etcd, kube-apiserver,
kube-controller-manager, kube-scheduler and kwok.

Deployments really produce ReplicaSets and Pods, the scheduler binds them to kwok's fake nodes, kwok
marks them Running and Ready (no container runs), and the EndpointSlice controller fills the slices.
The Gateway API (standard and experimental channels) and Istio CRDs are installed with server-side
apply, so their OpenAPI and CEL validation is the real thing.

As a command: ``python -m rig.cluster [--kubeconfig PATH]`` starts the cluster, writes the kubeconfig,
and runs until interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from rig import tools

FAKE_NODES = 3
CLIENT_USER = "pulumi-canary-client"
FIELD_MANAGER = "pulumi-canary-rig"
STARTUP_TIMEOUT_SECONDS = 120.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    def tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def spawn_logged(
    name: str, argv: list[str], log_path: Path, env: Mapping[str, str] | None = None
) -> Process:
    """Start ``argv`` with its output in ``log_path``, in a session of its own: Ctrl-C in a terminal
    reaches only us, and we stop children ourselves."""
    with log_path.open("wb") as log:
        popen = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env
        )
    return Process(name, popen, log_path)


class ClusterError(RuntimeError):
    """The local control plane did not come up; the message carries the failing process's log."""


@dataclass
class LocalCluster:
    """Start with ``with LocalCluster() as cluster:``; everything stops on exit, also on errors."""

    workdir: Path | None = None
    nodes: int = FAKE_NODES
    processes: list[Process] = field(default_factory=list)
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    # A second identity for the code under test, so its requests stand apart in the audit log.
    client_token: str = field(default_factory=lambda: secrets.token_hex(16))
    audit: bool = False
    apiserver_port: int = 0
    _owned_workdir: bool = False

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.apiserver_port}"

    @property
    def kubeconfig_path(self) -> Path:
        assert self.workdir is not None
        return self.workdir / "kubeconfig"

    def __enter__(self) -> LocalCluster:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="pulumi-canary-cluster-"))
            self._owned_workdir = True
        self.workdir.mkdir(parents=True, exist_ok=True)
        try:
            self._start_etcd()
            self._start_apiserver()
            self._write_kubeconfig()
            self._start_controllers()
            install_crds(self.kubeconfig_path)
            create_fake_nodes(self.kubeconfig_path, self.nodes)
            create_platform_gateways(self.kubeconfig_path)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        for process in reversed(self.processes):
            stop_process(process.popen)
        self.processes.clear()
        if self._owned_workdir and self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _spawn(self, name: str, argv: list[str]) -> Process:
        assert self.workdir is not None
        process = spawn_logged(name, argv, self.workdir / f"{name}.log")
        self.processes.append(process)
        return process

    def _start_etcd(self) -> None:
        assert self.workdir is not None
        client, peer = free_port(), free_port()
        self.etcd_url = f"http://127.0.0.1:{client}"
        process = self._spawn(
            "etcd",
            [
                str(tools.ETCD.folder / "etcd"),
                f"--data-dir={self.workdir / 'etcd'}",
                f"--listen-client-urls={self.etcd_url}",
                f"--advertise-client-urls={self.etcd_url}",
                f"--listen-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-cluster=default=http://127.0.0.1:{peer}",
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
        )
        wait_until(process, lambda: http_ok(f"{self.etcd_url}/health"), "etcd /health")

    def _start_apiserver(self) -> None:
        assert self.workdir is not None
        certs = self.workdir / "certs"
        certs.mkdir(exist_ok=True)
        signing_key = certs / "sa.key"
        make_rsa_key(signing_key)
        (self.workdir / "tokens.csv").write_text(
            f'{self.token},rig-admin,rig-admin,"system:masters"\n'
            f'{self.client_token},{CLIENT_USER},{CLIENT_USER},"system:masters"\n'
        )
        self.apiserver_port = free_port()
        process = self._spawn(
            "kube-apiserver",
            [
                str(tools.KUBERNETES.folder / "kube-apiserver"),
                f"--etcd-servers={self.etcd_url}",
                f"--cert-dir={certs}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={self.apiserver_port}",
                "--service-cluster-ip-range=10.0.0.0/16",
                "--authorization-mode=RBAC",
                f"--token-auth-file={self.workdir / 'tokens.csv'}",
                "--service-account-issuer=https://kubernetes.default.svc",
                f"--service-account-key-file={signing_key}",
                f"--service-account-signing-key-file={signing_key}",
                "--disable-admission-plugins=ServiceAccount,TaintNodesByCondition",
                "--allow-privileged=true",
                "--endpoint-reconciler-type=none",
                *self._audit_flags(),
            ],
        )
        wait_until(process, self._apiserver_ready, "kube-apiserver /readyz")

    @property
    def audit_log_path(self) -> Path:
        assert self.workdir is not None
        return self.workdir / "audit.log"

    @property
    def client_kubeconfig_path(self) -> Path:
        """A kubeconfig for the code under test (user ``pulumi-canary-client``)."""
        assert self.workdir is not None
        return self.workdir / "client.kubeconfig"

    def _audit_flags(self) -> list[str]:
        if not self.audit:
            return []
        assert self.workdir is not None
        policy = self.workdir / "audit-policy.yaml"
        # Only the identity whose requests are counted is logged, once per request: logging every
        # controller's and every reader's requests would load the API server the bench measures.
        policy.write_text(
            "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n"
            f"- level: Metadata\n  users: [{CLIENT_USER}]\n- level: None\n"
        )
        return [
            f"--audit-policy-file={policy}",
            f"--audit-log-path={self.audit_log_path}",
            "--audit-log-format=json",
        ]

    def client_requests(self) -> list[dict[str, Any]]:
        """The audit events of the client identity so far (one per request, at stage ResponseComplete)."""
        if not self.audit_log_path.exists():
            return []
        events = [json.loads(line) for line in self.audit_log_path.read_text().splitlines() if line.strip()]
        return [
            event
            for event in events
            if event.get("user", {}).get("username") == CLIENT_USER
            and event.get("stage") == "ResponseComplete"
        ]

    def _apiserver_ready(self) -> bool:
        request = urllib.request.Request(
            f"{self.server}/readyz", headers={"Authorization": f"Bearer {self.token}"}
        )
        return http_ok(request, insecure=True)

    def _write_kubeconfig(self) -> None:
        assert self.workdir is not None
        # The self-signed serving certificate the apiserver generated is its own CA.
        ca_path = self.workdir / "certs" / "apiserver.crt"
        self.kubeconfig_path.write_text(kubeconfig_text(self.server, str(ca_path), self.token))
        self.kubeconfig_path.chmod(0o600)
        self.client_kubeconfig_path.write_text(kubeconfig_text(self.server, str(ca_path), self.client_token))
        self.client_kubeconfig_path.chmod(0o600)

    def _start_controllers(self) -> None:
        assert self.workdir is not None
        kubeconfig = str(self.kubeconfig_path)
        signing_key = self.workdir / "certs" / "sa.key"
        self._spawn(
            "kube-controller-manager",
            [
                str(tools.KUBERNETES.folder / "kube-controller-manager"),
                f"--kubeconfig={kubeconfig}",
                "--leader-elect=false",
                "--secure-port=0",
                f"--service-account-private-key-file={signing_key}",
                "--use-service-account-credentials=false",
                "--controllers=*,-nodeipam,-nodelifecycle,-cloud-node-lifecycle,-route,-service",
            ],
        )
        self._spawn(
            "kube-scheduler",
            [
                str(tools.KUBERNETES.folder / "kube-scheduler"),
                f"--kubeconfig={kubeconfig}",
                "--leader-elect=false",
                "--secure-port=0",
            ],
        )
        self._spawn(
            "kwok",
            [
                str(tools.KWOK.folder / "kwok"),
                f"--kubeconfig={kubeconfig}",
                "--manage-all-nodes=true",
                "--cidr=10.244.0.0/16",
                "--node-ip=127.0.0.1",
            ],
        )

    def check_alive(self) -> None:
        for process in self.processes:
            if process.popen.poll() is not None:
                raise ClusterError(f"{process.name} exited ({process.popen.returncode}):\n{process.tail()}")


def kubeconfig_text(server: str, ca_path: str, token: str) -> str:
    return (
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: rig\n  cluster:\n    server: {server}\n    certificate-authority: {ca_path}\n"
        f"users:\n- name: rig-admin\n  user:\n    token: {token}\n"
        "contexts:\n- name: rig\n  context:\n    cluster: rig\n    user: rig-admin\n"
        "current-context: rig\n"
    )


def make_rsa_key(path: Path) -> None:
    subprocess.run(["openssl", "genrsa", "-out", str(path), "2048"], check=True, capture_output=True)


def http_ok(request: str | urllib.request.Request, insecure: bool = False) -> bool:
    context = ssl._create_unverified_context() if insecure else None  # readiness probe only
    try:
        with urllib.request.urlopen(request, timeout=2, context=context) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def wait_until(
    process: Process, ready: Callable[[], bool], what: str, timeout: float = STARTUP_TIMEOUT_SECONDS
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise ClusterError(f"{process.name} exited before {what}:\n{process.tail()}")
        if ready():
            return
        time.sleep(0.2)
    raise ClusterError(f"timed out after {timeout:.0f}s waiting for {what}:\n{process.tail()}")


def stop_process(popen: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    if popen.poll() is not None:
        return
    popen.send_signal(signal.SIGTERM)
    try:
        popen.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        popen.kill()
        popen.wait()


def crd_files() -> list[Path]:
    crds = tools.CRDS.folder
    # Both channels define the same CRD names and experimental is a superset of standard, so only one
    # can be installed: experimental, which lets tests use every field a gateway may support.
    return [*sorted((crds / "gateway-api" / "experimental").glob("*.yaml")), crds / "istio" / "crds.yaml"]


def install_crds(kubeconfig: Path) -> None:
    from lightkube import Client, KubeConfig, codecs
    from lightkube.resources.apiextensions_v1 import CustomResourceDefinition

    client = Client(config=KubeConfig.from_file(kubeconfig), field_manager=FIELD_MANAGER)
    names: list[str] = []
    for path in crd_files():
        with path.open() as stream:
            for obj in codecs.load_all_yaml(stream):
                if not isinstance(obj, CustomResourceDefinition):
                    continue  # the gateway-api bundle also carries a ValidatingAdmissionPolicy
                client.apply(obj, force=True)
                assert obj.metadata is not None and obj.metadata.name is not None
                names.append(obj.metadata.name)
    for name in names:
        client.wait(CustomResourceDefinition, name, for_conditions=["Established"])


def create_fake_nodes(kubeconfig: Path, count: int) -> None:
    from lightkube import Client, KubeConfig
    from lightkube.models.core_v1 import NodeStatus
    from lightkube.models.meta_v1 import ObjectMeta
    from lightkube.resources.core_v1 import Node

    client = Client(config=KubeConfig.from_file(kubeconfig), field_manager=FIELD_MANAGER)
    capacity = {"cpu": "32", "memory": "256Gi", "pods": "110"}
    for index in range(count):
        node = Node(
            metadata=ObjectMeta(
                name=f"kwok-node-{index}",
                annotations={"kwok.x-k8s.io/node": "fake"},
                labels={"type": "kwok", "kubernetes.io/hostname": f"kwok-node-{index}"},
            ),
            status=NodeStatus(allocatable=capacity, capacity=capacity),
        )
        client.apply(node, force=True)


PLATFORM_GATEWAY_CLASS = "platform"
"""The class of the stand-in platform Gateways: no controller serves it (Traefik serves ``traefik``)."""


def gateway_api_gateway(namespace: str, name: str) -> dict[str, Any]:
    """A Gateway API ``Gateway`` that routes of every namespace may attach to."""
    everywhere = {"namespaces": {"from": "All"}}
    listener = {"name": "http", "port": 80, "protocol": "HTTP", "allowedRoutes": everywhere}
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"gatewayClassName": PLATFORM_GATEWAY_CLASS, "listeners": [listener]},
    }


def istio_gateway(namespace: str, name: str) -> dict[str, Any]:
    """An Istio ``Gateway`` for every host on port 80 of the ingress gateway's pods."""
    server = {"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "Gateway",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"selector": {"istio": "ingressgateway"}, "servers": [server]},
    }


PLATFORM_GATEWAYS = (gateway_api_gateway("infra", "public-gw"), istio_gateway("istio-system", "public"))
"""What a platform team has made before any canary policy: the Gateways the tests and examples name."""


def apply_gateways(client: Any, gateways: Sequence[Mapping[str, Any]]) -> None:
    """Each gateway, and its namespace first (lightkube ``Client``; generic resources for the CRDs)."""
    from lightkube import codecs
    from lightkube.generic_resource import load_in_cluster_generic_resources
    from lightkube.models.meta_v1 import ObjectMeta
    from lightkube.resources.core_v1 import Namespace

    load_in_cluster_generic_resources(client)
    for gateway in gateways:
        client.apply(Namespace(metadata=ObjectMeta(name=gateway["metadata"]["namespace"])))
        client.apply(codecs.from_dict(dict(gateway)), force=True)


def create_platform_gateways(kubeconfig: Path) -> None:
    from lightkube import Client, KubeConfig

    client = Client(config=KubeConfig.from_file(kubeconfig), field_manager=FIELD_MANAGER)
    apply_gateways(client, PLATFORM_GATEWAYS)


@contextlib.contextmanager
def running_cluster(workdir: Path | None = None) -> Iterator[LocalCluster]:
    with LocalCluster(workdir=workdir) as cluster:
        yield cluster


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Start the local Kubernetes rig and keep it running.")
    parser.add_argument("--workdir", type=Path, help="keep data, logs and the kubeconfig here")
    args = parser.parse_args(argv)
    stop = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    with running_cluster(args.workdir) as cluster:
        print(f"cluster ready: KUBECONFIG={cluster.kubeconfig_path}", flush=True)
        while not stop:
            cluster.check_alive()
            time.sleep(0.5)


if __name__ == "__main__":
    main()
