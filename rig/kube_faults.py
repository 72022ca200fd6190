"""A fault-injecting HTTP proxy on loopback in front of the rig's real kube-apiserver.

The code under test gets a kubeconfig that points at the proxy (plain http on 127.0.0.1, see
``FaultProxy.write_kubeconfig``); the proxy forwards every request to the apiserver over TLS with the
rig's admin token. Armed rules (``KubeFault``) match a request by method and path pattern and, a given
number of times, answer with an error status (a Kubernetes ``Status`` body, as the apiserver writes
them) or hold the request longer than the client waits, before or after forwarding it. Every other
request passes through unchanged; streamed answers (watches) are relayed chunk by chunk as they come.

Rules are consumed in the order they were added: a request fires the first pending rule that matches
it, and that rule's ``count`` goes down by one; at zero it is gone (as the MSE emulator's faults do).
"""

from __future__ import annotations

import http.client
import json
import re
import select
import socket
import ssl
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from rig.cluster import LocalCluster

__all__ = ["FaultProxy", "KubeFault", "ProxiedRequest"]

REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    409: "Conflict",
    410: "Expired",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}
# Hop-by-hop headers (RFC 9110 7.6.1) and the ones the proxy sets itself.
NOT_RELAYED = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "transfer-encoding", "upgrade", "host", "authorization", "content-length",
}
UPSTREAM_TIMEOUT_SECONDS = 60.0  # a stuck apiserver must not hang a test forever; watches reset it per chunk
CHUNK = 64 * 1024


@dataclass(frozen=True)
class KubeFault:
    """One injected fault: which requests it hits, how often, and what they get instead.

    * ``method``: ``GET``, ``PATCH``, ``DELETE``... or ``"*"``; a server-side apply and a JSON patch are
      both ``PATCH`` (tell them apart with ``content_type``: ``"apply-patch"``, ``"json-patch"``).
    * ``path``: a regular expression searched in the URL path (without the query), e.g.
      ``r"/httproutes(/|$)"``. A list and a watch of a kind are ``GET`` on the same path.
    * ``status``: answer this status (400..599) with a ``Status`` body instead of forwarding;
      ``retry_after_seconds`` adds ``Retry-After`` (and ``details.retryAfterSeconds``) to it.
    * ``delay_seconds``: hold the request this long first. With ``forward_first`` the request is
      forwarded (the apiserver makes the change) and only its answer is held: a client that gave up
      must find what its attempt did. Without a status and a delay the rule only lets the request
      through, so that the next rule hits a later request.

    Example: ``KubeFault("PATCH", r"/httproutes/", status=503, count=2)``.
    """

    method: str = "*"
    path: str = ""
    status: int | None = None
    count: int = 1
    retry_after_seconds: int | None = None
    delay_seconds: float = 0.0
    forward_first: bool = False
    content_type: str = ""
    message: str = "injected fault"

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError(f"count must be at least 1, got {self.count}")
        if self.status is not None and not 400 <= self.status <= 599:
            raise ValueError(f"status must be 400..599, got {self.status}")
        if self.delay_seconds < 0:
            raise ValueError(f"delay_seconds must be >= 0, got {self.delay_seconds}")
        if self.forward_first and self.status is not None:
            raise ValueError("forward_first forwards the request, so it cannot also answer a status")
        if self.retry_after_seconds is not None and self.status is None:
            raise ValueError("retry_after_seconds goes with a status (429 or 503)")
        re.compile(self.path)

    def matches(self, method: str, path: str, content_type: str) -> bool:
        return (
            self.method in ("*", method)
            and re.search(self.path, path) is not None
            and self.content_type in content_type
        )

    @property
    def reason(self) -> str:
        return REASONS.get(self.status or 0, "InternalError")

    def __str__(self) -> str:
        effect = f"{self.status}" if self.status is not None else "pass"
        if self.delay_seconds:
            effect += f" after {self.delay_seconds}s" + (" (forwarded first)" if self.forward_first else "")
        return f"{self.method} {self.path!r} -> {effect} x{self.count}"


@dataclass(frozen=True)
class ProxiedRequest:
    """One request the proxy handled: what was asked, what was answered, and the rule that fired."""

    method: str
    path: str
    query: str
    status: int
    fault: KubeFault | None = None

    @property
    def faulted(self) -> bool:
        """Whether an error status was injected (a pass-through or delay-only rule does not count)."""
        return self.fault is not None and self.fault.status is not None


@dataclass
class FaultRules:
    """The pending rules and the request log, shared by the handler threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    rules: list[KubeFault] = field(default_factory=list)
    log: list[ProxiedRequest] = field(default_factory=list)

    def take(self, method: str, path: str, content_type: str) -> KubeFault | None:
        with self.lock:
            for index, rule in enumerate(self.rules):
                if rule.matches(method, path, content_type):
                    if rule.count == 1:
                        del self.rules[index]
                    else:
                        self.rules[index] = replace(rule, count=rule.count - 1)
                    return rule
            return None

    def record(self, request: ProxiedRequest) -> None:
        with self.lock:
            self.log.append(request)


@dataclass(frozen=True)
class Upstream:
    """Where the apiserver is and how to reach it (its CA, the admin token)."""

    host: str
    port: int
    context: ssl.SSLContext
    token: str

    def connect(self) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection(
            self.host, self.port, context=self.context, timeout=UPSTREAM_TIMEOUT_SECONDS
        )


class FaultProxy:
    """Start with ``with FaultProxy.for_cluster(cluster) as proxy:``; arm it with ``add_faults``."""

    def __init__(self, server: str, ca_path: Path, token: str) -> None:
        address = urlsplit(server)
        if address.scheme != "https" or address.hostname is None or address.port is None:
            raise ValueError(f"the upstream must be https://host:port, got {server!r}")
        context = ssl.create_default_context(cafile=str(ca_path))
        self.upstream = Upstream(address.hostname, address.port, context, token)
        self.state = FaultRules()
        self._open: set[http.client.HTTPSConnection] = set()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @classmethod
    def for_cluster(cls, cluster: LocalCluster) -> FaultProxy:
        assert cluster.workdir is not None
        return cls(cluster.server, cluster.workdir / "certs" / "apiserver.crt", cluster.token)

    # ---- lifecycle ---------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None, "the proxy is not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FaultProxy:
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(self))
        server.daemon_threads = True
        server.block_on_close = False  # a watch being relayed must not hold up stop()
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="kube-fault-proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        for connection in list(self._open):
            connection.close()  # ends the watches being relayed
        self._server = None

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def write_kubeconfig(self, path: Path) -> Path:
        """A kubeconfig for the code under test: the proxy, plain http, a token the proxy replaces."""
        path.write_text(
            "apiVersion: v1\nkind: Config\n"
            f"clusters:\n- name: faulty\n  cluster:\n    server: {self.url}\n"
            "users:\n- name: faulty\n  user:\n    token: replaced-by-the-proxy\n"
            "contexts:\n- name: faulty\n  context:\n    cluster: faulty\n    user: faulty\n"
            "current-context: faulty\n"
        )
        path.chmod(0o600)
        return path

    # ---- rules and the log -------------------------------------------------------------------------

    def add_faults(self, rules: Iterable[KubeFault]) -> None:
        with self.state.lock:
            self.state.rules.extend(rules)

    def clear_faults(self) -> None:
        with self.state.lock:
            self.state.rules.clear()

    def pending_faults(self) -> list[KubeFault]:
        with self.state.lock:
            return list(self.state.rules)

    def requests(self, method: str | None = None, path: str = "") -> list[ProxiedRequest]:
        """The requests handled so far, optionally of one method and with ``path`` (a regex) in their path."""
        with self.state.lock:
            logged = list(self.state.log)
        return [
            request
            for request in logged
            if method in (None, request.method) and re.search(path, request.path) is not None
        ]

    def clear_requests(self) -> None:
        with self.state.lock:
            self.state.log.clear()

    # ---- used by the handler -----------------------------------------------------------------------

    def opened(self, connection: http.client.HTTPSConnection) -> None:
        with self.state.lock:
            self._open.add(connection)

    def closed(self, connection: http.client.HTTPSConnection) -> None:
        connection.close()
        with self.state.lock:
            self._open.discard(connection)


def status_body(rule: KubeFault) -> bytes:
    """The ``Status`` object the apiserver sends with an error, so that clients parse it as theirs."""
    body: dict[str, object] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": f"{rule.message} ({rule.status} {rule.reason})",
        "reason": rule.reason,
        "code": rule.status,
    }
    if rule.retry_after_seconds is not None:
        body["details"] = {"retryAfterSeconds": rule.retry_after_seconds}
    return json.dumps(body).encode()


def handler_for(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(ProxyHandler):
        owner = proxy

    return Handler


class ProxyHandler(BaseHTTPRequestHandler):
    """One client connection (kept alive across requests); each request is faulted or forwarded."""

    protocol_version = "HTTP/1.1"
    owner: FaultProxy

    def do_GET(self) -> None:
        self.handle_request()

    def do_POST(self) -> None:
        self.handle_request()

    def do_PUT(self) -> None:
        self.handle_request()

    def do_PATCH(self) -> None:
        self.handle_request()

    def do_DELETE(self) -> None:
        self.handle_request()

    def do_HEAD(self) -> None:
        self.handle_request()

    def do_OPTIONS(self) -> None:
        self.handle_request()

    def log_message(self, format: str, *args: object) -> None:
        pass  # the request log is kept in FaultRules; stderr stays quiet

    def handle_request(self) -> None:
        split = urlsplit(self.path)
        body = self.read_body()
        rule = self.owner.state.take(self.command, split.path, self.headers.get("Content-Type", ""))
        try:
            if rule is not None and rule.delay_seconds and not rule.forward_first:
                time.sleep(rule.delay_seconds)
                if rule.status is None and self.client_gone():
                    # Held past the client's patience: dropped, as a proxy cancels a request whose
                    # client has gone (forwarding it now would land a stale write after the retry).
                    self.close_connection = True
                    self.owner.state.record(ProxiedRequest(self.command, split.path, split.query, 499, rule))
                    return
            if rule is not None and rule.status is not None:
                self.answer_fault(rule)
                status = rule.status
            else:
                hold = rule.delay_seconds if rule is not None and rule.forward_first else 0.0
                status = self.forward(body, hold)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (timed out) or went away
            status = 499
        self.owner.state.record(ProxiedRequest(self.command, split.path, split.query, status, rule))

    def client_gone(self) -> bool:
        """Whether the client closed its end (a read would return end-of-file at once)."""
        readable, _, _ = select.select([self.connection], [], [], 0)
        if not readable:
            return False
        try:
            peeked: bytes = self.connection.recv(1, socket.MSG_PEEK)
            return peeked == b""
        except OSError:
            return True

    def read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length is not None:
            return self.rfile.read(int(length))
        if "chunked" not in self.headers.get("Transfer-Encoding", "").lower():
            return b""
        parts: list[bytes] = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while self.rfile.readline().strip():
                    pass  # trailers
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline()

    def answer_fault(self, rule: KubeFault) -> None:
        payload = status_body(rule)
        self.send_response(rule.status or 500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        if rule.retry_after_seconds is not None:
            self.send_header("Retry-After", str(rule.retry_after_seconds))
        self.end_headers()
        self.wfile.write(payload)

    def forward(self, body: bytes, hold_seconds: float) -> int:
        upstream = self.owner.upstream
        connection = upstream.connect()
        self.owner.opened(connection)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in NOT_RELAYED}
            headers["Authorization"] = f"Bearer {upstream.token}"
            try:
                connection.request(self.command, self.path, body=body or None, headers=headers)
                response = connection.getresponse()
            except (OSError, http.client.HTTPException) as error:
                unreachable = KubeFault(status=502, message=f"the proxy cannot reach the apiserver: {error}")
                self.answer_fault(unreachable)
                return 502
            if hold_seconds:
                payload = response.read()
                time.sleep(hold_seconds)
                self.relay_whole(response, payload)
            elif response.chunked:
                self.relay_stream(response)
            else:
                self.relay_whole(response, response.read())
            return response.status
        finally:
            self.owner.closed(connection)

    def relay_headers(self, response: http.client.HTTPResponse) -> None:
        self.send_response_only(response.status, response.reason)
        for name, value in response.getheaders():
            if name.lower() not in NOT_RELAYED:
                self.send_header(name, value)

    def relay_whole(self, response: http.client.HTTPResponse, payload: bytes) -> None:
        self.relay_headers(response)
        if self.command != "HEAD":
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def relay_stream(self, response: http.client.HTTPResponse) -> None:
        """A streamed answer (a watch): each piece goes on as soon as the apiserver sends it."""
        self.relay_headers(response)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        while True:
            try:
                piece = response.read1(CHUNK)
            except (OSError, ValueError, http.client.HTTPException):
                piece = b""  # the upstream went away (stop() closes it): end the stream cleanly
            if not piece:
                break
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
