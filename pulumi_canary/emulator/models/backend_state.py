"""The shared state every backend mixin builds on: one lock, the resource dicts, id counters, the clock.

:class:`BackendState` also holds what several mixins need: change notification, the gateway and
service-source lookups, which endpoint source answers for a cluster, and the state dump.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from typing import Any

from pulumi_canary.emulator.endpoints import EndpointSource, StaticEndpoints
from pulumi_canary.emulator.exceptions import NotFoundError
from pulumi_canary.emulator.models.routes import GatewayRoute
from pulumi_canary.emulator.models.services import Gateway, GatewayService, ServiceSource

__all__ = ["BackendState"]


class BackendState:
    """The state of :class:`~pulumi_canary.emulator.models.MseBackend`, guarded by one lock.

    Every mixin subclasses this, so the attributes below are all a mixin may rely on besides its own.
    """

    # Assigned by reset().
    _gateways: dict[str, Gateway]
    _sources: dict[int, ServiceSource]
    _services: dict[int, GatewayService]
    _routes: dict[int, GatewayRoute]
    _gateway_ids: itertools.count[int]
    _source_ids: itertools.count[int]
    _service_ids: itertools.count[int]
    _route_ids: itertools.count[int]

    def __init__(
        self, *, endpoints: EndpointSource | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self._lock = threading.RLock()
        self._clock = clock
        self.default_endpoints = endpoints
        self._clusters: dict[str, EndpointSource] = {}
        self._listeners: list[Callable[[], None]] = []
        self.reset()

    # ------------------------------------------------------------ administration

    def reset(self) -> None:
        """Forget every resource (connected clusters stay connected)."""
        with self._lock:
            self._gateways = {}
            self._sources = {}
            self._services = {}
            self._routes = {}
            self._gateway_ids = itertools.count(1)
            self._source_ids = itertools.count(101)
            self._service_ids = itertools.count(1001)
            self._route_ids = itertools.count(5001)
        self._notify()

    def snapshot(self) -> dict[str, list[dict[str, Any]]]:
        """Everything, described in the API's shapes (for the state dump)."""
        with self._lock:
            return {
                "Gateways": [gateway.describe() for gateway in self._gateways.values()],
                "ServiceSources": [source.describe() for source in self._sources.values()],
                "Services": [
                    {**service.describe(), "Versions": [version.describe() for version in service.versions]}
                    for service in self._services.values()
                ],
                "Routes": [route.describe() for route in self._routes.values()],
            }

    def _notify(self) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener()

    # ------------------------------------------------------------ clusters

    def connect_cluster(self, cluster_id: str, endpoints: EndpointSource) -> None:
        """Answer endpoint questions about ``cluster_id`` (a service source's Address) from ``endpoints``."""
        with self._lock:
            self._clusters[cluster_id] = endpoints

    def static_endpoints(self) -> StaticEndpoints:
        """The in-memory cluster answering for unconnected clusters, created on first use.

        Raises ``ValueError`` when a real cluster answers instead.
        """
        with self._lock:
            if self.default_endpoints is None:
                self.default_endpoints = StaticEndpoints()
            if not isinstance(self.default_endpoints, StaticEndpoints):
                raise ValueError(
                    "a real cluster is connected; its Services cannot be set through the emulator"
                )
            return self.default_endpoints

    def endpoints_for(self, cluster_id: str) -> EndpointSource | None:
        with self._lock:
            return self._clusters.get(cluster_id, self.default_endpoints)

    # ------------------------------------------------------------ shared by the mixins

    def _stamp(self) -> str:
        return _timestamp(self._clock())

    def _gateway(self, gateway_unique_id: str) -> Gateway:
        gateway = self._gateways.get(gateway_unique_id)
        if gateway is None:
            raise NotFoundError(f"gateway {gateway_unique_id}")
        return gateway

    def _source(self, gateway_unique_id: str, source_id: int) -> ServiceSource:
        found = self._sources.get(source_id)
        if found is None or found.gateway_unique_id != gateway_unique_id:
            raise NotFoundError(f"service source {source_id} of gateway {gateway_unique_id}")
        return found


def _timestamp(now: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now))
