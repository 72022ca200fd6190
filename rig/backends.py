"""Processes that behave like pods: an HTTP listener on the IP and ports of every Ready pod.

kwok marks pods Running and Ready and gives them IPs, but no container runs, so nothing answers there.
:class:`Backends` watches the cluster's pods and, for every Ready pod that is not terminating, listens on
``status.podIP`` and each declared TCP ``containerPort`` (a default port when it declares none). Every
request is answered with the pod's name, namespace and version label, as JSON and in the headers
``X-Pod`` and ``X-Version``. The listener closes the moment the pod is deleted, gets a deletion
timestamp or stops being Ready, cutting the connections it has open, so traffic still routed to a
removed version fails as it would against a real pod that is gone.

Two annotations let a pod play a bad release; they are read on every request, so a patch takes effect
as soon as the watch delivers it:

- ``rig.pulumi-canary.io/error-rate``: 0..1, that fraction of requests (at random) answers 500;
- ``rig.pulumi-canary.io/latency-ms``: a delay before each answer.

Pod IPs are only listenable inside the private network namespace of :mod:`rig.netns`.

As a command: ``python -m rig.backends --kubeconfig PATH`` serves until interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from rig.netns import in_private_namespace

if TYPE_CHECKING:
    from lightkube import Client

__all__ = [
    "DEFAULT_PORT",
    "ERROR_RATE_ANNOTATION",
    "LATENCY_ANNOTATION",
    "Address",
    "Backends",
    "PodInfo",
    "pod_info",
]

ERROR_RATE_ANNOTATION = "rig.pulumi-canary.io/error-rate"
LATENCY_ANNOTATION = "rig.pulumi-canary.io/latency-ms"
DEFAULT_PORT = 8080
DEFAULT_VERSION_LABEL = "version"
RELIST_PAUSE_SECONDS = 1.0
# The accept loop checks for a stop this often; close() wakes it at once anyway (see _PodServer.close).
POLL_SECONDS = 0.05
# A client that sends nothing must not hold a handler thread for ever.
REQUEST_READ_TIMEOUT_SECONDS = 30.0

Address = tuple[str, int]


@dataclass(frozen=True)
class PodInfo:
    """What a listener needs to know of its pod, as of the latest watch event."""

    namespace: str
    name: str
    uid: str
    ip: str | None
    ports: tuple[int, ...]
    version: str | None
    ready: bool
    terminating: bool
    annotations: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return self.namespace, self.name

    @property
    def serving(self) -> bool:
        return self.ready and not self.terminating and bool(self.ip)

    @property
    def endpoints(self) -> list[Address]:
        return [(self.ip, port) for port in self.ports] if self.serving and self.ip else []

    @property
    def error_rate(self) -> float:
        return min(1.0, _annotation_number(self.annotations, ERROR_RATE_ANNOTATION))

    @property
    def latency_seconds(self) -> float:
        return _annotation_number(self.annotations, LATENCY_ANNOTATION) / 1000.0


ServedPredicate = Callable[[dict[Address, PodInfo]], bool]


def _annotation_number(annotations: Mapping[str, str], key: str) -> float:
    # A malformed value must not break the backend: it counts as absent.
    try:
        value = float(annotations.get(key, "0"))
    except ValueError:
        return 0.0
    return value if value > 0 else 0.0


def pod_info(
    pod: Any, version_label: str = DEFAULT_VERSION_LABEL, default_port: int = DEFAULT_PORT
) -> PodInfo:
    """The facts of a lightkube ``Pod`` a backend needs."""
    metadata, status = pod.metadata, pod.status
    labels = dict(metadata.labels or {})
    return PodInfo(
        namespace=str(metadata.namespace),
        name=str(metadata.name),
        uid=str(metadata.uid),
        ip=(status.podIP if status else None) or None,
        ports=declared_tcp_ports(pod) or (default_port,),
        version=labels.get(version_label),
        ready=has_ready_condition(pod),
        terminating=metadata.deletionTimestamp is not None,
        annotations=dict(metadata.annotations or {}),
    )


def declared_tcp_ports(pod: Any) -> tuple[int, ...]:
    containers = (pod.spec.containers if pod.spec else None) or []
    ports = {
        port.containerPort
        for container in containers
        for port in container.ports or []
        if (port.protocol or "TCP") == "TCP"
    }
    return tuple(sorted(ports))


def has_ready_condition(pod: Any) -> bool:
    conditions = (pod.status.conditions if pod.status else None) or []
    return any(condition.type == "Ready" and condition.status == "True" for condition in conditions)


class _PodHandler(BaseHTTPRequestHandler):
    # HTTP/1.0: the connection closes after each answer, so no client or gateway keeps an idle
    # connection that would outlive the pod without being noticed.
    protocol_version = "HTTP/1.0"
    server_version = "rig-backend"
    timeout = REQUEST_READ_TIMEOUT_SECONDS
    server: _PodServer

    def do_GET(self) -> None:
        self._answer(with_body=True)

    # Every method gets the same answer.
    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET  # noqa: N815 (http.server's names)

    def do_HEAD(self) -> None:
        self._answer(with_body=False)

    def _answer(self, with_body: bool) -> None:
        self._discard_request_body()
        pod = self.server.pod
        if pod.latency_seconds and self.server.closed.wait(pod.latency_seconds):
            return  # the pod went away meanwhile: close() cuts this connection
        pod = self.server.pod  # the annotations may have changed during the delay
        status = 500 if random.random() < pod.error_rate else 200
        payload = json.dumps({"pod": pod.name, "namespace": pod.namespace, "version": pod.version}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-Pod", pod.name)
        if pod.version is not None:
            self.send_header("X-Version", pod.version)
        self.end_headers()
        if with_body:
            self.wfile.write(payload)

    def _discard_request_body(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > 0:
            self.rfile.read(length)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # thousands of requests per test: the load generator keeps the record


class _PodServer(ThreadingHTTPServer):
    """One listener (pod IP and port) that can be closed together with the connections it has open."""

    daemon_threads = True
    # Every request opens a connection (HTTP/1.0): a burst from a gateway must not overflow the
    # listen backlog, whose dropped SYNs would come back as one-second stalls.
    request_queue_size = 256

    def __init__(self, address: Address, pod: PodInfo) -> None:
        self.pod = pod
        self.closed = threading.Event()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _PodHandler)
        threading.Thread(
            target=self.serve_forever, args=(POLL_SECONDS,), name=f"backend-{address[0]}:{address[1]}",
            daemon=True,
        ).start()

    def server_bind(self) -> None:
        # HTTPServer.server_bind would look the address up in DNS (getfqdn), which only fails slowly or
        # not at all inside the namespace; the name is never used.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError):
            return  # the connection was cut (by close() or the client): nothing to report
        super().handle_error(request, client_address)

    def open_connections(self) -> int:
        with self._connections_lock:
            return len(self._connections)

    def close(self) -> None:
        self.closed.set()
        # On Linux, shutting a listening socket down refuses new connections at once and wakes the
        # accept loop, so shutdown() below returns without waiting for its poll.
        with contextlib.suppress(OSError):
            self.socket.shutdown(socket.SHUT_RDWR)
        self.shutdown()
        self.server_close()
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class Backends:
    """Serve every Ready pod of the cluster (all namespaces) on its pod IP, from a watch of pods.

    Example::

        with Backends(kubeconfig) as backends:
            backends.wait_serving(lambda served: any(pod.version == "v2" for pod in served.values()))
            httpx.get(f"http://{ip}:8080/")  # {"pod": ..., "namespace": ..., "version": "v2"}
    """

    def __init__(
        self,
        kubeconfig: str | os.PathLike[str],
        *,
        version_label: str = DEFAULT_VERSION_LABEL,
        default_port: int = DEFAULT_PORT,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.kubeconfig = os.fspath(kubeconfig)
        self.version_label = version_label
        self.default_port = default_port
        self._log = log or (lambda _message: None)
        self._changed = threading.Condition()
        self._listeners: dict[Address, _PodServer] = {}
        self._bind_errors: dict[Address, tuple[tuple[str, str], str]] = {}
        self._stopping = threading.Event()
        self._client: Client | None = None

    def __enter__(self) -> Backends:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """List the pods and open their listeners, then follow changes from a daemon thread."""
        from lightkube import Client, KubeConfig

        self._client = Client(config=KubeConfig.from_file(self.kubeconfig), field_manager="rig-backends")
        # The first list runs here, before the thread: lightkube's decoders must not see their first
        # use from two threads at once (see pulumi_canary/adapter/serial.py).
        version = self._relist()
        threading.Thread(target=self._follow, args=(version,), name="backends-watch", daemon=True).start()

    def stop(self) -> None:
        """Close every listener; the watch thread ends at its next event (it never holds up exit)."""
        self._stopping.set()
        with self._changed:
            for address in list(self._listeners):
                self._close(address)
            self._changed.notify_all()

    def served(self) -> dict[Address, PodInfo]:
        """The pod behind each listener open now."""
        with self._changed:
            return {address: listener.pod for address, listener in self._listeners.items()}

    def connections(self) -> dict[Address, int]:
        """How many connections each listener has open now (requests in flight)."""
        with self._changed:
            return {address: listener.open_connections() for address, listener in self._listeners.items()}

    def bind_errors(self) -> dict[Address, str]:
        """Endpoints that could not be listened on (outside the private namespace: all of them)."""
        with self._changed:
            return {address: message for address, (_, message) in self._bind_errors.items()}

    def wait_serving(
        self, expected: int | ServedPredicate, timeout: float = 30.0
    ) -> dict[Address, PodInfo]:
        """Wait until exactly ``expected`` endpoints are served, or until ``expected(served)`` is true;
        answer what is served then. Raises ``TimeoutError`` (with what is served) after ``timeout``."""
        satisfied = _as_predicate(expected)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                served = {address: listener.pod for address, listener in self._listeners.items()}
                if satisfied(served):
                    return served
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(self._describe_wait_failure(expected, served, timeout))
                self._changed.wait(remaining)

    def _describe_wait_failure(
        self, expected: int | ServedPredicate, served: dict[Address, PodInfo], timeout: float
    ) -> str:
        wanted = f"{expected} endpoints" if isinstance(expected, int) else "the condition"
        listing = ", ".join(f"{ip}:{port}={pod.namespace}/{pod.name}" for (ip, port), pod in served.items())
        failed = {f"{ip}:{port}": message for (ip, port), (_, message) in self._bind_errors.items()}
        errors = f"; cannot listen: {failed}" if failed else ""
        return f"backends: no {wanted} after {timeout:.0f}s; serving [{listing}]{errors}"

    # ---- following the pods ----------------------------------------------------------------------

    def _relist(self) -> str:
        from lightkube.resources.core_v1 import Pod

        assert self._client is not None
        listing = self._client.list(Pod, namespace="*")
        pods = [pod_info(pod, self.version_label, self.default_port) for pod in listing]
        with self._changed:
            listed = {pod.key for pod in pods}
            for key in {listener.pod.key for listener in self._listeners.values()} - listed:
                self._update(key, None)
            for pod in pods:
                self._update(pod.key, pod)
            self._changed.notify_all()
        return str(listing.resourceVersion)

    def _follow(self, version: str) -> None:
        from lightkube.resources.core_v1 import Pod

        assert self._client is not None
        # A broken watch (410 Gone, the API server away) may have missed a deletion: list anew.
        while not self._stopping.is_set():
            try:
                for event, pod in self._client.watch(Pod, namespace="*", resource_version=version):
                    info = pod_info(pod, self.version_label, self.default_port)
                    with self._changed:
                        self._update(info.key, None if event == "DELETED" else info)
                        self._changed.notify_all()
            except Exception:  # any failure of the stream means: list again, then watch
                if self._stopping.wait(RELIST_PAUSE_SECONDS):
                    return
                try:
                    version = self._relist()
                except Exception:  # the API server is away: try again after the pause
                    continue

    def _update(self, key: tuple[str, str], pod: PodInfo | None) -> None:
        """Make the listeners of pod ``key`` match ``pod`` (None: the pod is gone). Holds the lock."""
        wanted = pod.endpoints if pod is not None and not self._stopping.is_set() else []
        for address in [address for address, listener in self._listeners.items() if listener.pod.key == key]:
            if address not in wanted:
                self._close(address)
        for address in [address for address, (owner, _) in self._bind_errors.items() if owner == key]:
            if address not in wanted:
                del self._bind_errors[address]
        if pod is not None:
            for address in wanted:
                self._serve(address, pod)

    def _serve(self, address: Address, pod: PodInfo) -> None:
        listener = self._listeners.get(address)
        if listener is not None and listener.pod.uid == pod.uid:
            listener.pod = pod  # new annotations take effect with the next request
            return
        if listener is not None:
            self._close(address)  # the IP went to a new pod: the old one's listener must not answer
        try:
            self._listeners[address] = _PodServer(address, pod)
        except OSError as error:
            if address not in self._bind_errors:
                self._log(f"cannot listen on {address[0]}:{address[1]} ({pod.namespace}/{pod.name}): {error}")
            # Tried again at the pod's next event (or relist).
            self._bind_errors[address] = (pod.key, str(error))
            return
        self._bind_errors.pop(address, None)
        self._log(f"serving {pod.namespace}/{pod.name} ({pod.version}) on {address[0]}:{address[1]}")

    def _close(self, address: Address) -> None:
        listener = self._listeners.pop(address)
        listener.close()
        self._log(f"closed {listener.pod.namespace}/{listener.pod.name} on {address[0]}:{address[1]}")


def _as_predicate(expected: int | ServedPredicate) -> ServedPredicate:
    if isinstance(expected, int):
        count = expected
        return lambda served: len(served) == count
    return expected


def wait_for_interrupt() -> None:
    stop = threading.Event()
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda _signum, _frame: stop.set())
    stop.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve every Ready pod of a cluster on its pod IP.")
    parser.add_argument("--kubeconfig", required=True, help="the cluster's kubeconfig")
    parser.add_argument("--default-port", type=int, default=DEFAULT_PORT,
                        help="the port of pods that declare no containerPort (default %(default)s)")
    parser.add_argument("--version-label", default=DEFAULT_VERSION_LABEL,
                        help="the pod label answered as the version (default %(default)s)")
    args = parser.parse_args(argv)
    if not in_private_namespace():
        print("[rig] backends listen on pod IPs, which are local only inside the private network "
              "namespace: run under `python -m rig.netns`", file=sys.stderr)
        return 2

    def say(message: str) -> None:
        print(f"[rig] backends: {message}", flush=True)

    with Backends(args.kubeconfig, version_label=args.version_label, default_port=args.default_port,
                  log=say):
        wait_for_interrupt()
    return 0


if __name__ == "__main__":
    sys.exit(main())
