"""Backend side of the data plane: change subscriptions and the published routes it serves."""

from __future__ import annotations

import copy
from collections.abc import Callable

from pulumi_canary.emulator.models.backend_state import BackendState
from pulumi_canary.emulator.models.routes import ServedRoute

__all__ = ["DataPlaneBackend"]


class DataPlaneBackend(BackendState):
    """What a data plane (:mod:`pulumi_canary.emulator.dataplane`) subscribes to and reads."""

    def subscribe(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` (with no lock held) after every change of what the data plane serves."""
        with self._lock:
            self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[], None]) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def served_routes(self) -> list[ServedRoute]:
        """The published routes, each with the services it names as they are now."""
        with self._lock:
            served = []
            for route in self._routes.values():
                if route.published is None:
                    continue
                ids = {entry.service_id for entry in route.published.services}
                services = {id_: copy.deepcopy(self._services[id_]) for id_ in ids if id_ in self._services}
                served.append(ServedRoute(route.id, route.gateway_unique_id, route.published, services))
            return served
