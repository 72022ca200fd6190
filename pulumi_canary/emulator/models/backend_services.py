"""Backend actions on imported services and their versions.

Questions to a cluster (a Service's ports, the ready pods) are asked outside the lock, so that a slow
API server does not stall other calls.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from pulumi_canary.emulator.endpoints import EndpointSource
from pulumi_canary.emulator.exceptions import (
    BusinessError,
    InternalError,
    InvalidParameterError,
    NotFoundError,
)
from pulumi_canary.emulator.models.backend_state import BackendState
from pulumi_canary.emulator.models.listing import ListQuery, Page, contains, equals, paginate
from pulumi_canary.emulator.models.services import (
    SOURCE_TYPE_K8S,
    Gateway,
    GatewayService,
    ServiceDetail,
    ServiceSource,
    ServiceVersion,
)
from pulumi_canary.emulator.models.values import as_int, as_mapping, as_str

__all__ = ["ServiceBackend"]

T = TypeVar("T")


class ServiceBackend(BackendState):
    """Importing, seeding, listing and describing services; adding, updating, deleting versions."""

    # ------------------------------------------------------------ services

    def import_services(
        self,
        gateway_unique_id: str,
        *,
        source_type: str,
        source_id: int,
        services: Sequence[Mapping[str, Any]],
    ) -> None:
        """Import Kubernetes Services; already imported ones are left as they are. Returns no ids."""
        if source_type.upper() != SOURCE_TYPE_K8S:
            raise InvalidParameterError(
                f"SourceType {source_type!r} cannot be imported: only K8S services can"
            )
        if not services:
            raise InvalidParameterError("ServiceList is empty")
        wanted = [_import_entry(entry) for entry in services]
        with self._lock:
            self._gateway(gateway_unique_id)
            source = copy.deepcopy(self._source(gateway_unique_id, source_id))
        # Asking the cluster happens outside the lock: a slow API server must not stall other calls.
        endpoints = self.endpoints_for(source.cluster_id)
        ports = {
            (ns, name): self._cluster_ports(endpoints, source, ns, name, port) for ns, name, port, _ in wanted
        }
        with self._lock:
            gateway = self._gateway(gateway_unique_id)
            for namespace, name, _port, protocol in wanted:
                if self._find_service(gateway_unique_id, source_id, namespace, name) is None:
                    self._insert_service(gateway, source, namespace, name, ports[(namespace, name)], protocol)

    def add_gateway_service(
        self,
        gateway_unique_id: str,
        *,
        source_id: int,
        name: str,
        namespace: str,
        ports: Iterable[int] = (),
    ) -> int:
        """Seed an imported service directly (no cluster lookup); returns its id."""
        with self._lock:
            gateway = self._gateway(gateway_unique_id)
            source = self._source(gateway_unique_id, source_id)
            existing = self._find_service(gateway_unique_id, source_id, namespace, name)
            if existing is not None:
                return existing.id
            return self._insert_service(gateway, source, namespace, name, list(ports), "HTTP").id

    def list_gateway_service(self, query: ListQuery, filters: Mapping[str, Any]) -> Page[dict[str, Any]]:
        with self._lock:
            items = [
                service.describe()
                for service in self._services.values()
                if equals(service.gateway_unique_id, filters.get("GatewayUniqueId"))
                and contains(service.name, filters.get("Name"))
                and equals(service.namespace, filters.get("Namespace"))
                and equals(service.source_type, filters.get("SourceType"))
                and equals(service.group_name, filters.get("GroupName"))
                and equals(service.service_protocol, filters.get("ServiceProtocol"))
            ]
        return paginate(items, query, ("Id", "Name", "Namespace", "GmtCreate", "GmtModified"))

    def get_gateway_service_detail(self, gateway_unique_id: str, service_id: int) -> ServiceDetail:
        with self._lock:
            service = copy.deepcopy(self._service(gateway_unique_id, service_id))
        # Reading the cluster happens outside the lock: a slow API server must not stall other calls.
        endpoints = self.endpoints_for(service.cluster_id)
        pods = _read_cluster(
            lambda: endpoints.ready_pod_labels(service.namespace, service.name) if endpoints else [],
            f"the ready pods of {service.namespace}/{service.name} in cluster {service.cluster_id}",
        )
        return ServiceDetail.build(service, pods or [])

    def _service(self, gateway_unique_id: str, service_id: int) -> GatewayService:
        self._gateway(gateway_unique_id)
        service = self._services.get(service_id)
        if service is None or service.gateway_unique_id != gateway_unique_id:
            raise NotFoundError(f"service {service_id} of gateway {gateway_unique_id}")
        return service

    def _find_service(
        self, gateway_unique_id: str, source_id: int, namespace: str, name: str
    ) -> GatewayService | None:
        return next(
            (
                service
                for service in self._services.values()
                if (service.gateway_unique_id, service.source_id, service.namespace, service.name)
                == (gateway_unique_id, source_id, namespace, name)
            ),
            None,
        )

    def _insert_service(
        self,
        gateway: Gateway,
        source: ServiceSource,
        namespace: str,
        name: str,
        ports: list[int],
        protocol: str,
    ) -> GatewayService:
        now = self._stamp()
        service = GatewayService(
            id=next(self._service_ids),
            gateway_unique_id=gateway.gateway_unique_id,
            gateway_id=gateway.id,
            source_id=source.id,
            cluster_id=source.cluster_id,
            name=name,
            namespace=namespace,
            ports=ports,
            service_protocol=protocol,
            group_name="",
            gmt_create=now,
            gmt_modified=now,
        )
        self._services[service.id] = service
        return service

    @staticmethod
    def _cluster_ports(
        endpoints: EndpointSource | None,
        source: ServiceSource,
        namespace: str,
        name: str,
        given_port: int | None,
    ) -> list[int]:
        if endpoints is None:
            return [given_port] if given_port is not None else []
        ports = _read_cluster(
            lambda: endpoints.service_ports(namespace, name),
            f"Service {namespace}/{name} in cluster {source.cluster_id}",
        )
        if ports is None:
            raise InvalidParameterError(
                f"Service {namespace}/{name} does not exist in cluster {source.cluster_id}"
            )
        return ports

    # ------------------------------------------------------------ service versions

    def add_gateway_service_version(
        self, gateway_unique_id: str, service_id: int, version: ServiceVersion
    ) -> int:
        version.validate()
        with self._lock:
            service = self._service(gateway_unique_id, service_id)
            if service.version(version.name) is not None:
                raise BusinessError(
                    "Duplicate.ServiceVersion", f"service {service_id} already has a version {version.name!r}"
                )
            service.versions.append(version)
            service.gmt_modified = self._stamp()
            return service.id

    def update_gateway_service_version(
        self, gateway_unique_id: str, service_id: int, version: ServiceVersion
    ) -> int:
        version.validate()
        with self._lock:
            service = self._service(gateway_unique_id, service_id)
            index = self._version_index(service, version.name)
            service.versions[index] = version
            service.gmt_modified = self._stamp()
        self._notify()
        return service_id

    def delete_gateway_service_version(
        self, gateway_unique_id: str, service_id: int, version_name: str
    ) -> int:
        with self._lock:
            service = self._service(gateway_unique_id, service_id)
            index = self._version_index(service, version_name)
            users = sorted(
                route.name
                for route in self._routes.values()
                if route.references_version(service_id, version_name)
            )
            if users:
                raise InvalidParameterError(
                    f"version {version_name!r} of service {service_id} is still used by "
                    f"route(s) {', '.join(users)}"
                )
            del service.versions[index]
            service.gmt_modified = self._stamp()
        self._notify()
        return service_id

    @staticmethod
    def _version_index(service: GatewayService, name: str) -> int:
        for index, version in enumerate(service.versions):
            if version.name == name:
                return index
        raise NotFoundError(f"version {name!r} of service {service.id}")


def _import_entry(entry: Mapping[str, Any]) -> tuple[str, str, int | None, str]:
    body = as_mapping(entry, "ServiceList[]")
    name = as_str(body.get("Name"), "ServiceList[].Name")
    namespace = as_str(body.get("Namespace"), "ServiceList[].Namespace")
    port = body.get("ServicePort")
    protocol = as_str(body.get("ServiceProtocol"), "ServiceList[].ServiceProtocol", required=False)
    return (
        namespace,
        name,
        None if port is None else as_int(port, "ServiceList[].ServicePort", minimum=1, maximum=65535),
        protocol or "HTTP",
    )


def _read_cluster(read: Callable[[], T], what: str) -> T:
    try:
        return read()
    except Exception as error:
        raise InternalError(f"could not read {what}: {error}") from error
