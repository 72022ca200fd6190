"""Where the emulated gateway learns a Kubernetes Service's ports and ready pods.

The real gateway watches the Services and Endpoints of every ACK cluster added as a service source;
``GetGatewayServiceDetail`` counts, per service version, the ready endpoints whose pod labels match
the version. An :class:`EndpointSource` answers the two questions the emulator needs for that:
which ports a Service exposes, and the labels of the ready pods it selects.

:class:`WatchedEndpoints` answers them as the real gateway does, from Services and Pods it keeps in
memory by watching the cluster; :class:`KubernetesEndpoints` asks the API server on every lookup.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from lightkube import Client

__all__ = [
    "AddressSource",
    "EndpointSource",
    "KubernetesEndpoints",
    "PodAddress",
    "StaticEndpoints",
    "WatchedEndpoints",
]

RELIST_PAUSE_SECONDS = 1.0


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
        self.client()

    def ready_pod_labels(self, namespace: str, service_name: str) -> list[dict[str, str]] | None:
        from lightkube.resources.core_v1 import Pod

        service = self._get_service(namespace, service_name)
        if service is None:
            return None
        selector = _service_facts(service).selector
        if not selector:
            # A Service without a selector is backed by hand-written Endpoints, not by pods.
            return []
        pods = self.client().list(Pod, namespace=namespace, labels=dict(selector))
        return [facts.labels for facts in map(_pod_facts, pods) if facts.ready]

    def service_ports(self, namespace: str, service_name: str) -> list[int] | None:
        service = self._get_service(namespace, service_name)
        return None if service is None else _service_facts(service).ports

    def _get_service(self, namespace: str, name: str) -> Any:
        from lightkube import ApiError
        from lightkube.resources.core_v1 import Service

        try:
            return self.client().get(Service, name, namespace=namespace)
        except ApiError as error:
            if error.status.code == 404:
                return None
            raise

    def client(self) -> Client:
        """The lightkube client, built on first use."""
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


@dataclass(frozen=True)
class PodAddress:
    """Where a ready pod serves one port of a Service: its IP, the target port, and its labels."""

    ip: str
    port: int
    labels: Mapping[str, str]


@runtime_checkable
class AddressSource(Protocol):
    """What a data plane asks a cluster: the addresses behind one port of a Service."""

    def ready_addresses(self, namespace: str, service_name: str, port: int) -> list[PodAddress] | None:
        """The ready pods' addresses for the Service's ``port``; ``None`` if the Service does not exist."""
        ...


@dataclass(frozen=True)
class _ServiceFacts:
    selector: dict[str, str]
    ports: list[int]
    # Service port -> the pods' port, a number or the name of a container port.
    target_ports: dict[int, int | str] = field(default_factory=dict)


@dataclass(frozen=True)
class _PodFacts:
    labels: dict[str, str]
    ready: bool
    ip: str | None = None
    named_ports: dict[str, int] = field(default_factory=dict)

    def address(self, target: int | str) -> PodAddress | None:
        port = self.named_ports.get(target) if isinstance(target, str) else target
        if self.ip is None or port is None:
            return None
        return PodAddress(self.ip, port, self.labels)


class WatchedEndpoints:
    """Keeps the cluster's Services and Pods in memory from one list and then a watch of each, as the real
    gateway's service discovery does, so a lookup costs the API server nothing.

    A Service the watch has not delivered yet (one created a moment ago) is read from the API server
    instead, so a lookup right after creating it does not answer "no such Service". Pod changes arrive
    within the watch's delay (milliseconds here), like endpoint changes on a real gateway.

    Example::

        with WatchedEndpoints("~/.kube/config") as endpoints:
            endpoints.ready_pod_labels("shop", "cart")
    """

    def __init__(self, kubeconfig_path: str | os.PathLike[str], *, context: str | None = None) -> None:
        self._direct = KubernetesEndpoints(kubeconfig_path, context=context)
        self._lock = threading.Lock()
        self._services: dict[tuple[str, str], _ServiceFacts] = {}
        self._pods: dict[str, dict[str, _PodFacts]] = {}
        self._stopping = threading.Event()

    def __enter__(self) -> WatchedEndpoints:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """List Services and Pods, then watch both from daemon threads."""
        from lightkube.resources.core_v1 import Pod, Service

        kinds = (
            (Service, self._replace_services, self._put_service, self._drop_service),
            (Pod, self._replace_pods, self._put_pod, self._drop_pod),
        )
        # Both lists come first, one after the other: lightkube's decoders must not see their first use
        # from two threads at once (see drivers/kube.py, prime_decoders).
        versions = [self._relist(resource, replace) for resource, replace, _, _ in kinds]
        for (resource, replace, put, drop), version in zip(kinds, versions, strict=True):
            threading.Thread(
                target=self._follow,
                args=(resource, version, replace, put, drop),
                name=f"watch-{resource.__name__.lower()}s",
                daemon=True,
            ).start()

    def stop(self) -> None:
        """The watch threads end at their next event (they are daemon threads: they never hold up exit)."""
        self._stopping.set()

    def ready_pod_labels(self, namespace: str, service_name: str) -> list[dict[str, str]] | None:
        with self._lock:
            service = self._services.get((namespace, service_name))
            if service is not None:
                if not service.selector:
                    return []  # backed by hand-written Endpoints, not by pods
                pods = self._pods.get(namespace, {}).values()
                selected = (pod for pod in pods if pod.ready and _selects(service.selector, pod.labels))
                return [dict(pod.labels) for pod in selected]
        return self._direct.ready_pod_labels(namespace, service_name)

    def service_ports(self, namespace: str, service_name: str) -> list[int] | None:
        with self._lock:
            service = self._services.get((namespace, service_name))
            if service is not None:
                return list(service.ports)
        return self._direct.service_ports(namespace, service_name)

    def ready_addresses(self, namespace: str, service_name: str, port: int) -> list[PodAddress] | None:
        """From the watched copy only: a data plane learns of a new Service when its watch does."""
        with self._lock:
            service = self._services.get((namespace, service_name))
            if service is None:
                return None
            target = service.target_ports.get(port)
            if target is None or not service.selector:
                return []
            pods = self._pods.get(namespace, {}).values()
            selected = (pod for pod in pods if pod.ready and _selects(service.selector, pod.labels))
            return [address for pod in selected if (address := pod.address(target)) is not None]

    # ---- keeping the copy ----------------------------------------------------------------------------

    def _relist(self, resource: Any, replace: Callable[[list[Any]], None]) -> str:
        listing = self._direct.client().list(resource, namespace="*")
        replace(list(listing))
        return str(listing.resourceVersion)

    def _follow(
        self,
        resource: Any,
        version: str,
        replace: Callable[[list[Any]], None],
        put: Callable[[Any], None],
        drop: Callable[[Any], None],
    ) -> None:
        # A watch that breaks (410 Gone after a long pause, the API server restarting) may have missed a
        # deletion, so the copy is listed anew before watching again.
        while not self._stopping.is_set():
            try:
                events = self._direct.client().watch(resource, namespace="*", resource_version=version)
                for event, item in events:
                    if self._stopping.is_set():
                        return
                    (drop if event == "DELETED" else put)(item)
            except Exception:  # any failure of the stream means: list again, then watch
                if self._stopping.wait(RELIST_PAUSE_SECONDS):
                    return
                try:
                    version = self._relist(resource, replace)
                except Exception:  # the API server is away: try again after the pause
                    continue

    def _replace_services(self, services: list[Any]) -> None:
        fresh = {_key(service): _service_facts(service) for service in services}
        with self._lock:
            self._services = fresh

    def _put_service(self, service: Any) -> None:
        with self._lock:
            self._services[_key(service)] = _service_facts(service)

    def _drop_service(self, service: Any) -> None:
        with self._lock:
            self._services.pop(_key(service), None)

    def _replace_pods(self, pods: list[Any]) -> None:
        fresh: dict[str, dict[str, _PodFacts]] = {}
        for pod in pods:
            namespace, name = _key(pod)
            fresh.setdefault(namespace, {})[name] = _pod_facts(pod)
        with self._lock:
            self._pods = fresh

    def _put_pod(self, pod: Any) -> None:
        namespace, name = _key(pod)
        with self._lock:
            self._pods.setdefault(namespace, {})[name] = _pod_facts(pod)

    def _drop_pod(self, pod: Any) -> None:
        namespace, name = _key(pod)
        with self._lock:
            self._pods.get(namespace, {}).pop(name, None)


def _key(item: Any) -> tuple[str, str]:
    return str(item.metadata.namespace), str(item.metadata.name)


def _service_facts(service: Any) -> _ServiceFacts:
    spec = service.spec
    selector = dict(spec.selector or {}) if spec else {}
    declared = (spec.ports or []) if spec else []
    # An unset targetPort means the same number as the Service port.
    targets = {port.port: port.targetPort if port.targetPort is not None else port.port for port in declared}
    return _ServiceFacts(selector=selector, ports=[port.port for port in declared], target_ports=targets)


def _pod_facts(pod: Any) -> _PodFacts:
    containers = pod.spec.containers if pod.spec else []
    named = {
        port.name: port.containerPort
        for container in containers
        for port in (container.ports or [])
        if port.name
    }
    ip = pod.status.podIP if pod.status else None
    return _PodFacts(labels=dict(pod.metadata.labels or {}), ready=_is_ready(pod), ip=ip, named_ports=named)


def _selects(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def _is_ready(pod: Any) -> bool:
    # The endpoints controller stops routing to a terminating pod even while its Ready condition is
    # still True, so a pod being deleted does not count.
    if pod.metadata is not None and pod.metadata.deletionTimestamp is not None:
        return False
    conditions = (pod.status.conditions if pod.status else None) or []
    return any(condition.type == "Ready" and condition.status == "True" for condition in conditions)
