"""The emulator's HTTP server: the MSE RPC endpoint on ``/`` and a JSON control plane on ``/_emulator/``.

Control plane (no signature needed; the server listens on loopback):

=========  ===========================  ==================================================================
method     path                         what
=========  ===========================  ==================================================================
GET        /_emulator/health            ``{"ok": true}``
POST       /_emulator/reset             forget all resources, faults and logged requests
POST       /_emulator/seed              ``{"Gateways": [{GatewayUniqueId, Name?, Region?}],
                                        "ServiceSources": [{GatewayUniqueId, ClusterId, Name?}],
                                        "Services": [{GatewayUniqueId, SourceId, Name, Namespace, Ports?}]}``
GET        /_emulator/state             every resource in the API's shapes
GET        /_emulator/requests          ``{"requests": [{action, time, status, ...}]}`` (``?action=`` filters)
DELETE     /_emulator/requests          clear the request log
GET        /_emulator/faults            pending fault rules
POST       /_emulator/faults            add rules: a list (or ``{"rules": [...]}``) of FaultRule dicts
DELETE     /_emulator/faults            drop all pending rules
PUT        /_emulator/endpoints         ``{namespace, name, ports, ready_pods}`` into the in-memory cluster
=========  ===========================  ==================================================================
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

from pulumi_canary.emulator.endpoints import EndpointSource
from pulumi_canary.emulator.exceptions import InvalidVersionError, MseApiError
from pulumi_canary.emulator.faults import FaultInjector, FaultRule
from pulumi_canary.emulator.models import MseBackend
from pulumi_canary.emulator.responses import (
    MseResponses,
    error_response,
    hard_error_body,
    new_request_id,
    soft_error_body,
)
from pulumi_canary.emulator.signature import IncomingRequest, SignatureVerifier

__all__ = [
    "API_VERSION",
    "DEFAULT_ACCESS_KEY_ID",
    "DEFAULT_ACCESS_KEY_SECRET",
    "EmulatorServer",
    "RequestRecord",
]

API_VERSION = "2019-05-31"
# Well-known credentials for local runs that configure none; they open nothing but this emulator.
DEFAULT_ACCESS_KEY_ID = "emulator-access-key-id"
DEFAULT_ACCESS_KEY_SECRET = "emulator-access-key-secret"
CONTROL_PREFIX = "/_emulator/"


@dataclass(frozen=True)
class RequestRecord:
    """One API call as the request log keeps it (no parameters, so no secrets or signatures)."""

    action: str
    time: float
    status: int
    success: bool
    code: str
    request_id: str
    duration_ms: float
    fault: bool
    signature: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _RequestLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []

    def append(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    def records(self, action: str | None = None) -> list[RequestRecord]:
        with self._lock:
            return [record for record in self._records if action is None or record.action == action]

    def clear(self) -> None:
        with self._lock:
            self._records.clear()


@dataclass
class ApiAnswer:
    """What the HTTP layer sends back for one API call."""

    status: int
    body: Any
    headers: dict[str, str]
    fault: bool = False


class EmulatorServer:
    """A threaded MSE emulator on ``host:port`` (port 0 picks a free one).

    Point the SDK at ``Config(endpoint=server.endpoint, protocol="http", access_key_id=...,
    access_key_secret=...)``. ``credentials`` maps AccessKeyId to secret; by default only
    :data:`DEFAULT_ACCESS_KEY_ID` / :data:`DEFAULT_ACCESS_KEY_SECRET` are accepted.

    Example::

        with EmulatorServer(endpoints=StaticEndpoints()) as server:
            server.seed_gateway("gw-demo")
            ...  # SDK calls against server.endpoint
            assert server.requests(action="ApplyGatewayRoute")
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        credentials: Mapping[str, str] | None = None,
        backend: MseBackend | None = None,
        endpoints: EndpointSource | None = None,
    ) -> None:
        self.host = host
        self._requested_port = port
        self.backend = backend if backend is not None else MseBackend(endpoints=endpoints)
        self.responses = MseResponses(self.backend)
        self.faults = FaultInjector()
        self._credentials = dict(credentials or {DEFAULT_ACCESS_KEY_ID: DEFAULT_ACCESS_KEY_SECRET})
        self._verifier = SignatureVerifier(self._credentials)
        self._log = _RequestLog()
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None
        self.ready = threading.Event()

    # ------------------------------------------------------------ lifecycle

    def start(self) -> EmulatorServer:
        """Bind and serve in a background thread; returns once requests are accepted."""
        if self._httpd is not None:
            raise RuntimeError("the emulator is already running")
        self._httpd = _HttpServer((self.host, self._requested_port), _Handler, self)
        # A short poll interval keeps stop() fast; an idle poll costs next to nothing.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="mse-emulator", daemon=True
        )
        self._thread.start()
        self.ready.set()
        return self

    def stop(self) -> None:
        """Stop serving and release the port (idempotent)."""
        httpd, thread = self._httpd, self._thread
        self._httpd, self._thread = None, None
        self.ready.clear()
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the emulator is not running: call start() first")
        return int(self._httpd.server_address[1])

    @property
    def endpoint(self) -> str:
        """``host:port`` without a scheme, as the SDK's ``Config(endpoint=...)`` wants it."""
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.endpoint}"

    # ------------------------------------------------------------ control (also served under /_emulator/)

    def reset(self) -> None:
        """Forget every resource, pending fault and logged request."""
        self.backend.reset()
        self.faults.clear()
        self._log.clear()

    def seed_gateway(self, gateway_unique_id: str, *, name: str = "", region: str = "cn-hangzhou") -> str:
        self.backend.add_gateway(gateway_unique_id, name=name, region=region)
        return gateway_unique_id

    def seed_service_source(self, gateway_unique_id: str, cluster_id: str, *, name: str = "") -> int:
        """Add a K8S service source for ``cluster_id``; returns its id."""
        return self.backend.add_service_source(gateway_unique_id, name=name or cluster_id, address=cluster_id)

    def seed_service(
        self, gateway_unique_id: str, source_id: int, namespace: str, name: str, *, ports: Iterable[int] = ()
    ) -> int:
        """Put an imported service in place without asking the cluster; returns its id."""
        return self.backend.add_gateway_service(
            gateway_unique_id, source_id=source_id, name=name, namespace=namespace, ports=ports
        )

    def seed(self, spec: Mapping[str, Any]) -> dict[str, list[Any]]:
        """Seed several resources at once (the ``/_emulator/seed`` body); returns their ids."""
        created: dict[str, list[Any]] = {"Gateways": [], "ServiceSources": [], "Services": []}
        for gateway in spec.get("Gateways", []):
            created["Gateways"].append(
                self.seed_gateway(
                    gateway["GatewayUniqueId"],
                    name=gateway.get("Name", ""),
                    region=gateway.get("Region", "cn-hangzhou"),
                )
            )
        for source in spec.get("ServiceSources", []):
            created["ServiceSources"].append(
                self.seed_service_source(
                    source["GatewayUniqueId"], source["ClusterId"], name=source.get("Name", "")
                )
            )
        for service in spec.get("Services", []):
            created["Services"].append(
                self.seed_service(
                    service["GatewayUniqueId"],
                    int(service["SourceId"]),
                    service["Namespace"],
                    service["Name"],
                    ports=[int(port) for port in service.get("Ports", [])],
                )
            )
        return created

    def state(self) -> dict[str, list[dict[str, Any]]]:
        return self.backend.snapshot()

    def requests(self, action: str | None = None) -> list[RequestRecord]:
        """Logged API calls, oldest first (optionally of one action)."""
        return self._log.records(action)

    def clear_requests(self) -> None:
        self._log.clear()

    def add_faults(self, rules: Iterable[FaultRule | Mapping[str, Any]]) -> None:
        self.faults.add(rule if isinstance(rule, FaultRule) else FaultRule.from_dict(rule) for rule in rules)

    def clear_faults(self) -> None:
        self.faults.clear()

    def pending_faults(self) -> list[FaultRule]:
        return self.faults.pending()

    def set_endpoints(
        self,
        namespace: str,
        name: str,
        *,
        ports: Iterable[int] = (80,),
        ready_pods: Iterable[Mapping[str, str]] = (),
    ) -> None:
        """Define a Service of the in-memory cluster (created on first use when no cluster is connected)."""
        self.backend.static_endpoints().set_service(namespace, name, ports=ports, ready_pods=ready_pods)

    # ------------------------------------------------------------ request handling

    def handle_api(self, request: IncomingRequest, host_id: str) -> ApiAnswer:
        started = time.time()
        request_id = new_request_id()
        action = request.header("x-acs-action") or request.query_value("Action") or ""
        scheme = ""
        try:
            scheme = self._verifier.verify(request).scheme
            version = request.header("x-acs-version") or request.query_value("Version") or ""
            if version != API_VERSION:
                raise InvalidVersionError(
                    f"Specified parameter Version {version!r} is not valid; use {API_VERSION}."
                )
            answer = self._run(action, request, request_id, host_id)
        except MseApiError as error:
            status, body = error_response(error, request_id, host_id)
            answer = ApiAnswer(status, body, {})
        answer.headers["x-acs-request-id"] = request_id
        self._log.append(_record(action, started, answer, request_id, scheme))
        return answer

    def _run(self, action: str, request: IncomingRequest, request_id: str, host_id: str) -> ApiAnswer:
        fault = self.faults.take(action)
        if fault is not None and fault.latency_seconds and not fault.latency_after_action:
            time.sleep(fault.latency_seconds)
        if fault is not None and fault.error_shape != "none":
            return _fault_answer(fault, request_id, host_id)
        params = {key: value for key, value in request.query}
        status, body = self.responses.handle(action, params, request_id, host_id)
        if fault is not None and fault.latency_after_action:
            time.sleep(fault.latency_seconds)
        return ApiAnswer(status, body, {}, fault=fault is not None)

    def handle_control(self, method: str, path: str, query: str, body: Any) -> tuple[int, Any]:
        route = self._control_routes().get((method, path.removeprefix(CONTROL_PREFIX).strip("/")))
        if route is None:
            return 404, {"error": f"no control endpoint {method} {path}; see pulumi_canary.emulator.server"}
        try:
            return 200, route(body, parse_qs(query))
        except (KeyError, TypeError, ValueError, MseApiError) as error:
            return 400, {"error": f"{type(error).__name__}: {error}"}

    def _control_routes(self) -> dict[tuple[str, str], Callable[[Any, dict[str, list[str]]], Any]]:
        return {
            ("GET", "health"): lambda _body, _query: {"ok": True},
            ("POST", "reset"): self._control_reset,
            ("POST", "seed"): lambda body, _query: self.seed(body or {}),
            ("GET", "state"): lambda _body, _query: self.state(),
            ("GET", "requests"): self._control_requests,
            ("DELETE", "requests"): self._control_clear_requests,
            ("GET", "faults"): lambda _body, _query: {
                "rules": [rule.to_dict() for rule in self.pending_faults()]
            },
            ("POST", "faults"): lambda body, _query: self._post_faults(body),
            ("DELETE", "faults"): self._control_clear_faults,
            ("PUT", "endpoints"): lambda body, _query: self._put_endpoints(body),
        }

    def _control_reset(self, _body: Any, _query: dict[str, list[str]]) -> dict[str, Any]:
        self.reset()
        return {}

    def _control_requests(self, _body: Any, query: dict[str, list[str]]) -> dict[str, Any]:
        actions = query.get("action")
        action = actions[0] if actions else None
        return {"requests": [record.to_dict() for record in self.requests(action)]}

    def _control_clear_requests(self, _body: Any, _query: dict[str, list[str]]) -> dict[str, Any]:
        self.clear_requests()
        return {}

    def _control_clear_faults(self, _body: Any, _query: dict[str, list[str]]) -> dict[str, Any]:
        self.clear_faults()
        return {}

    def _post_faults(self, body: Any) -> dict[str, int]:
        rules = body.get("rules") if isinstance(body, Mapping) else body
        if not isinstance(rules, list) or not all(isinstance(rule, Mapping) for rule in rules):
            raise ValueError('POST /_emulator/faults wants a list of rule objects or {"rules": [...]}')
        self.add_faults(rules)
        return {"pending": len(self.pending_faults())}

    def _put_endpoints(self, body: Any) -> dict[str, bool]:
        if not isinstance(body, Mapping):
            raise ValueError("PUT /_emulator/endpoints wants {namespace, name, ports, ready_pods}")
        self.set_endpoints(
            body["namespace"],
            body["name"],
            ports=[int(port) for port in body.get("ports", [80])],
            ready_pods=body.get("ready_pods", []),
        )
        return {"ok": True}


def _fault_answer(fault: FaultRule, request_id: str, host_id: str) -> ApiAnswer:
    if fault.error_shape == "success_false":
        return ApiAnswer(
            200, soft_error_body(request_id, fault.http_status, fault.code, fault.message), {}, True
        )
    headers = {"x-acs-retry-after": str(fault.retry_after_ms)} if fault.retry_after_ms else {}
    return ApiAnswer(
        fault.http_status, hard_error_body(request_id, fault.code, fault.message, host_id), headers, True
    )


def _record(action: str, started: float, answer: ApiAnswer, request_id: str, scheme: str) -> RequestRecord:
    body = answer.body if isinstance(answer.body, Mapping) else {}
    success = answer.status == 200 and body.get("Success") is True
    return RequestRecord(
        action=action,
        time=started,
        status=answer.status,
        success=success,
        code=str(body.get("ErrorCode") or body.get("Code", "")),
        request_id=request_id,
        duration_ms=round((time.time() - started) * 1000, 3),
        fault=answer.fault,
        signature=scheme,
    )


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], emulator: EmulatorServer
    ) -> None:
        self.emulator = emulator
        super().__init__(address, handler)


class _Handler(BaseHTTPRequestHandler):
    # Keep-alive: the SDK pools connections per host, as it does against the real endpoint.
    protocol_version = "HTTP/1.1"
    # An idle pooled connection must not pin a handler thread forever.
    timeout = 60
    # Headers and body leave in two writes; with Nagle's algorithm the second waits for a delayed ACK
    # (~40 ms per call), which would distort the latency benchmarks count on.
    disable_nagle_algorithm = True
    server: _HttpServer

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        # Silent on purpose: request lines carry AccessKeyIds and signatures; see the request log instead.
        return

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        body = self._read_body()
        emulator = self.server.emulator
        if parts.path.startswith(CONTROL_PREFIX):
            try:
                payload = json.loads(body) if body.strip() else None
            except ValueError as error:
                self._send(400, {"error": f"the body is not JSON: {error}"}, {})
                return
            self._send(*emulator.handle_control(method, parts.path, parts.query, payload), {})
            return
        request = IncomingRequest(
            method=method,
            query=parse_qsl(parts.query, keep_blank_values=True),
            headers={name.lower(): self.headers.get_all(name) or [] for name in set(self.headers.keys())},
            body=body,
        )
        answer = emulator.handle_api(request, self.headers.get("host", ""))
        self._send(answer.status, answer.body, answer.headers)

    def _read_body(self) -> bytes:
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, status: int, payload: Any, headers: Mapping[str, str]) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        try:
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (a latency fault beyond its read timeout): nobody to answer
