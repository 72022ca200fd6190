"""Where the emulated gateway learns a Kubernetes Service's ports and ready pods.

The real gateway watches the Services and Endpoints of every ACK cluster added as a service source;
``GetGatewayServiceDetail`` counts, per service version, the ready endpoints whose pod labels match
the version. An :class:`EndpointSource` answers the two questions the emulator needs for that:
which ports a Service exposes, and the labels of the ready pods it selects.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from lightkube import Client

__all__ = ["EndpointSource", "KubernetesEndpoints", "StaticEndpoints"]


@runtime_checkable
class EndpointSource(Protocol):
    """What the emulator asks a cluster; ``None`` means the Service does not exist."""

    def ready_pod_labels(self, namespace: str, service_name: str) -> list[dict[str, str]] | None:
        """Labels of the READY pods the Service's selector selects."""
        ...

    def service_ports(self, namespace: str, service_name: str) -> list[int] | None:
        """The Service's ports (``spec.ports[].port``), in declaration order."""
        ...


@dataclass
class _StaticService:
    ports: list[int]
    ready_pods: list[dict[str, str]] = field(default_factory=list)


class StaticEndpoints:
    """An in-memory cluster for tests: Services with their ports and the labels of their ready pods.

    Example::

        endpoints = StaticEndpoints()
        endpoints.set_service("shop", "cart", ports=[8080],
                              ready_pods=[{"app": "cart", "version": "v1"}] * 2)
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._services: dict[tuple[str, str], _StaticService] = {}

    def set_service(
        self,
        namespace: str,
        name: str,
        *,
        ports: Iterable[int] = (80,),
        ready_pods: Iterable[Mapping[str, str]] = (),
    ) -> None:
        """Create or replace a Service and the labels of its ready pods."""
        service = _StaticService(ports=list(ports), ready_pods=[dict(pod) for pod in ready_pods])
        with self._lock:
            self._services[(namespace, name)] = service

    def remove_service(self, namespace: str, name: str) -> None:
        """Forget a Service (later lookups answer ``None``)."""
        with self._lock:
            self._services.pop((namespace, name), None)

    def ready_pod_labels(self, namespace: str, service_name: str) -> list[dict[str, str]] | None:
        with self._lock:
            service = self._services.get((namespace, service_name))
            return None if service is None else [dict(pod) for pod in service.ready_pods]

    def service_ports(self, namespace: str, service_name: str) -> list[int] | None:
        with self._lock:
            service = self._services.get((namespace, service_name))
            return None if service is None else list(service.ports)


class KubernetesEndpoints:
    """Reads Services and Pods from a real cluster through lightkube (imported on first use).

    ``transport`` replaces the HTTP transport (an ``httpx2`` transport) so tests can answer for the
    API server. The lightkube client is built lazily, once per instance.

    Example::

        endpoints = KubernetesEndpoints("~/.kube/config", context="kind-dev")
        endpoints.ready_pod_labels("shop", "cart")
    """

    def __init__(
        self,
        kubeconfig_path: str | os.PathLike[str],
        *,
        context: str | None = None,
        transport: Any = None,
    ) -> None:
        self.kubeconfig_path = os.fspath(kubeconfig_path)
        self.context = context
        self._transport = transport
        self._client_lock = threading.Lock()
        self._client_instance: Client | None = None

    def load(self) -> None:
        """Read the kubeconfig now, so a broken one fails at start rather than at the first call."""
        self._client()

    def ready_pod_labels(self, namespace: str, service_name: str) -> list[dict[str, str]] | None:
        from lightkube.resources.core_v1 import Pod

        service = self._get_service(namespace, service_name)
        if service is None:
            return None
        selector = dict(service.spec.selector or {}) if service.spec else {}
        if not selector:
            # A Service without a selector is backed by hand-written Endpoints, not by pods.
            return []
        pods = self._client().list(Pod, namespace=namespace, labels=dict(selector))
        return [
            dict(pod.metadata.labels or {}) for pod in pods if pod.metadata is not None and _is_ready(pod)
        ]

    def service_ports(self, namespace: str, service_name: str) -> list[int] | None:
        service = self._get_service(namespace, service_name)
        if service is None:
            return None
        return [port.port for port in (service.spec.ports or [])] if service.spec else []

    def _get_service(self, namespace: str, name: str) -> Any:
        from lightkube import ApiError
        from lightkube.resources.core_v1 import Service

        try:
            return self._client().get(Service, name, namespace=namespace)
        except ApiError as error:
            if error.status.code == 404:
                return None
            raise

    def _client(self) -> Client:
        with self._client_lock:
            if self._client_instance is None:
                self._client_instance = self._build_client()
            return self._client_instance

    def _build_client(self) -> Client:
        from lightkube import Client, KubeConfig

        config = KubeConfig.from_file(self.kubeconfig_path)
        single = config.get(context_name=self.context) if self.context else config
        # The emulator only reads; field_manager names it should anything ever be written.
        return Client(config=single, field_manager="pulumi-canary-emulator", transport=self._transport)


def _is_ready(pod: Any) -> bool:
    # The endpoints controller stops routing to a terminating pod even while its Ready condition is
    # still True, so a pod being deleted does not count.
    if pod.metadata is not None and pod.metadata.deletionTimestamp is not None:
        return False
    conditions = (pod.status.conditions if pod.status else None) or []
    return any(condition.type == "Ready" and condition.status == "True" for condition in conditions)
