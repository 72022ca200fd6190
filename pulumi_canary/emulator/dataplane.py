"""The emulated gateway's data plane: its published routes, served by a real proxy.

The real MSE gateway is Envoy programmed by the control plane: a published route matches requests by
path, headers, query parameters and methods, and spreads them over each version's ready endpoints by
the route's percentages. Here the proxy is Traefik, programmed through its file provider: this module
renders the published routes into a Traefik dynamic configuration (routers, weighted services, one
load balancer per version over the pod addresses the cluster watch knows) and rewrites the file
whenever a route is applied or taken offline, a version's labels change, or endpoints come and go.

A route that is not published has no router, so its requests get Traefik's 404, as on a gateway. A
route edited but not applied keeps serving what was last applied. ``Mock`` and ``Redirect`` routes are
not rendered.

Example::

    with TraefikFileDataPlane(server.backend, Path("/tmp/traefik-dynamic")) as plane:
        ...  # Traefik runs with providers.file.directory=/tmp/traefik-dynamic
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pulumi_canary.emulator.endpoints import AddressSource, PodAddress
from pulumi_canary.emulator.models import (
    GatewayService,
    KeyValuePredicate,
    MseBackend,
    PathPredicate,
    Predicates,
    RouteService,
    ServedRoute,
)

__all__ = [
    "DEFAULT_ENTRYPOINT",
    "TraefikFileDataPlane",
    "render",
    "router_rule",
    "version_of_service",
    "version_service_name",
]

DEFAULT_ENTRYPOINT = "mse"
# JSON is YAML, and Traefik's file provider reads only .yaml, .yml and .toml files.
CONFIG_FILE = "mse-emulator.yaml"
# Endpoint changes arrive through the cluster watch, which does not call back: look this often.
REFRESH_SECONDS = 0.2

Addresses = Callable[[GatewayService, int], list[PodAddress]]

_REGEX_META = set("\\.+*?()|[]{}^$")


def _quote_meta(text: str) -> str:
    """Go's regexp.QuoteMeta: Traefik's matchers use Go (RE2) syntax, not Python's."""
    return "".join(f"\\{char}" if char in _REGEX_META else char for char in text)


def _literal(text: str) -> str:
    # A JSON string is a valid Go string literal, which Traefik's rule parser accepts.
    return json.dumps(text)


def _path_rule(path: PathPredicate) -> str:
    if path.ignore_case or path.type == "ERGULAR":
        pattern = {"PRE": f"^{_quote_meta(path.path)}", "EQUAL": f"^{_quote_meta(path.path)}$"}.get(
            path.type, f"^(?:{path.path})$"
        )
        return f"PathRegexp({_literal(('(?i)' if path.ignore_case else '') + pattern)})"
    matcher = "PathPrefix" if path.type == "PRE" else "Path"
    return f"{matcher}({_literal(path.path)})"


def _key_value_rule(kind: str, predicate: KeyValuePredicate) -> str:
    if predicate.type == "EQUAL":
        return f"{kind}({_literal(predicate.key)}, {_literal(predicate.value)})"
    pattern = f"^{_quote_meta(predicate.value)}" if predicate.type == "PRE" else f"^(?:{predicate.value})$"
    return f"{kind}Regexp({_literal(predicate.key)}, {_literal(pattern)})"


def router_rule(predicates: Predicates) -> str:
    """The Traefik rule that matches what the MSE predicates match."""
    parts = [_path_rule(predicates.path)]
    parts += [_key_value_rule("Header", predicate) for predicate in predicates.headers]
    parts += [_key_value_rule("Query", predicate) for predicate in predicates.queries]
    if predicates.methods:
        parts.append("(" + " || ".join(f"Method({_literal(method)})" for method in predicates.methods) + ")")
    return " && ".join(parts)


def _route_key(route: ServedRoute) -> str:
    return f"mse-{route.gateway_unique_id}-{route.id}"


def version_service_name(route: ServedRoute, destination: RouteService) -> str:
    """The Traefik service of one destination: per version, so metrics carry the version. The route's
    part has no dot (gateway ids and numbers), so the first dot ends it; a version may contain dots."""
    suffix = destination.version or f"service-{destination.service_id}"
    return f"{_route_key(route)}.{suffix}"


def version_of_service(name: str) -> str:
    """The version of a service named by :func:`version_service_name` (Traefik may append ``@file``)."""
    return name.split("@", 1)[0].split(".", 1)[1]


def _servers(route: ServedRoute, destination: RouteService, addresses: Addresses) -> list[dict[str, str]]:
    service = route.services.get(destination.service_id)
    if service is None or destination.service_port is None:
        return []
    version = service.version(destination.version) if destination.version else None
    if destination.version and version is None:
        return []  # the version was deleted after the route was applied: nothing can serve it
    found = addresses(service, destination.service_port)
    selected = [address for address in found if version is None or version.matches(address.labels)]
    return [{"url": f"http://{address.ip}:{address.port}"} for address in sorted(selected, key=_by_address)]


def _by_address(address: PodAddress) -> tuple[str, int]:
    return address.ip, address.port


def _render_route(
    route: ServedRoute, addresses: Addresses, entrypoint: str
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    spec = route.spec
    if spec.destination_type not in ("Single", "Multiple", "VersionOriented"):
        return None
    services: dict[str, Any] = {}
    weighted = []
    for destination in spec.services:
        name = version_service_name(route, destination)
        services[name] = {"loadBalancer": {"servers": _servers(route, destination, addresses)}}
        weight = 100 if spec.destination_type == "Single" else (destination.percent or 0)
        if weight > 0:
            weighted.append({"name": name, "weight": weight})
    key = _route_key(route)
    services[key] = {"weighted": {"services": weighted}}
    router = {"entryPoints": [entrypoint], "rule": router_rule(spec.predicates), "service": key}
    return {key: router}, services


def render(
    routes: Iterable[ServedRoute], addresses: Addresses, entrypoint: str = DEFAULT_ENTRYPOINT
) -> dict[str, Any]:
    """A Traefik dynamic configuration serving ``routes`` (pure: ``addresses`` answers for the cluster)."""
    routers: dict[str, Any] = {}
    services: dict[str, Any] = {}
    for route in sorted(routes, key=lambda served: served.id):
        rendered = _render_route(route, addresses, entrypoint)
        if rendered is not None:
            routers.update(rendered[0])
            services.update(rendered[1])
    if not routers:
        return {}
    return {"http": {"routers": routers, "services": services}}


class TraefikFileDataPlane:
    """Keeps ``directory/mse-emulator.yaml`` equal to what the backend's published routes serve.

    Traefik watches the directory (``providers.file.directory``, ``watch: true``). The file is replaced
    atomically, and only when its content changes.
    """

    def __init__(self, backend: MseBackend, directory: Path, *, entrypoint: str = DEFAULT_ENTRYPOINT) -> None:
        self.backend = backend
        self.path = Path(directory) / CONFIG_FILE
        self.entrypoint = entrypoint
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._written: str | None = None
        self._write_lock = threading.Lock()
        self.writes = 0
        self.last_error: Exception | None = None

    def __enter__(self) -> TraefikFileDataPlane:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.backend.subscribe(self._wake.set)
        self.sync()
        self._thread = threading.Thread(target=self._run, name="mse-data-plane", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.backend.unsubscribe(self._wake.set)
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def sync(self) -> bool:
        """Render now and write if anything changed; returns whether the file was written."""
        text = json.dumps(self.configuration(), indent=1, sort_keys=True)
        with self._write_lock:
            if text == self._written:
                return False
            staging = self.path.with_name(f".{self.path.name}.tmp")
            staging.write_text(text)
            os.replace(staging, self.path)
            self._written = text
            self.writes += 1
            return True

    def configuration(self) -> dict[str, Any]:
        return render(self.backend.served_routes(), self._addresses, self.entrypoint)

    def _addresses(self, service: GatewayService, port: int) -> list[PodAddress]:
        source = self.backend.endpoints_for(service.cluster_id)
        if not isinstance(source, AddressSource):
            return []
        return source.ready_addresses(service.namespace, service.name, port) or []

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(REFRESH_SECONDS)
            self._wake.clear()
            if self._stopping.is_set():
                return
            try:
                self.sync()
            except Exception as error:  # a failed render must not end the data plane: the next tick retries
                self.last_error = error
