"""Gateways, service sources, imported services and their versions, as state.

Each resource is a dataclass whose ``describe()`` returns the shape the real API returns (PascalCase);
``ServiceVersion`` also parses and validates its lowercase wire parameter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from pulumi_canary.emulator.exceptions import InvalidParameterError
from pulumi_canary.emulator.models.values import as_list, as_mapping, as_str

__all__ = [
    "SOURCE_TYPE_K8S",
    "Gateway",
    "GatewayService",
    "GatewayStatus",
    "Label",
    "ServiceDetail",
    "ServiceSource",
    "ServiceVersion",
    "VersionEndpoints",
]

SOURCE_TYPE_K8S = "K8S"

_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


class GatewayStatus(IntEnum):
    """``Status`` of a gateway instance; seeded gateways are always running (``StatusDesc`` "Running")."""

    RUNNING = 2


def _check_label_key(key: str, what: str) -> None:
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        raise InvalidParameterError(f"{what} {key!r} has an invalid prefix")
    if len(name) > 63 or not _LABEL_NAME.match(name):
        raise InvalidParameterError(f"{what} {key!r} is not a valid Kubernetes label key")


def _check_label_value(value: str, what: str) -> None:
    if len(value) > 63 or not _LABEL_NAME.match(value):
        raise InvalidParameterError(f"{what} {value!r} is not a valid, non-empty Kubernetes label value")


@dataclass
class Gateway:
    """A cloud-native gateway instance (seeded: the emulator does not create gateways)."""

    id: int
    gateway_unique_id: str
    name: str
    region: str
    gmt_create: str
    gmt_modified: str

    def describe(self) -> dict[str, Any]:
        return {
            "Id": self.id,
            "GatewayUniqueId": self.gateway_unique_id,
            "InstanceId": self.gateway_unique_id,
            "Name": self.name,
            "Region": self.region,
            "Status": int(GatewayStatus.RUNNING),
            "StatusDesc": "Running",
            "GatewayType": "Ingress",
            "ChargeType": "POSTPAY",
            "Spec": "MSE_GTW_2_4_200_c",
            "Replica": 2,
            "TotalReplica": 2,
            "GmtCreate": self.gmt_create,
            "GmtModified": self.gmt_modified,
        }


@dataclass
class ServiceSource:
    """An ACK cluster added to a gateway as a service source (``Address`` is the cluster id)."""

    id: int
    gateway_unique_id: str
    gateway_id: int
    name: str
    address: str
    type: str
    source: str
    ingress_options: dict[str, Any]
    gmt_create: str
    gmt_modified: str

    @property
    def cluster_id(self) -> str:
        return self.address

    def describe(self) -> dict[str, Any]:
        return {
            "Id": self.id,
            "GatewayUniqueId": self.gateway_unique_id,
            "GatewayId": self.gateway_id,
            "Name": self.name,
            "Address": self.address,
            "Type": self.type,
            "Source": self.source,
            "SourceUniqueId": self.address,
            "BindingWithGateway": 1,
            "Invalid": False,
            "GroupList": [],
            "PathList": [],
            "IngressOptions": dict(self.ingress_options),
            "GmtCreate": self.gmt_create,
            "GmtModified": self.gmt_modified,
        }


@dataclass(frozen=True)
class Label:
    """One ``key=value`` pod label of a service version."""

    key: str
    value: str

    def describe(self) -> dict[str, str]:
        return {"Key": self.key, "Value": self.value}


def _label_from_wire(value: Any) -> Label:
    body = as_mapping(value, "ServiceVersion.labels[]")
    return Label(
        key=as_str(body.get("key"), "ServiceVersion.labels[].key"),
        value=as_str(body.get("value"), "ServiceVersion.labels[].value"),
    )


@dataclass(frozen=True)
class ServiceVersion:
    """A named subset of a service's pods: those carrying all of ``labels``."""

    name: str
    labels: tuple[Label, ...]

    @classmethod
    def from_wire(cls, value: Any) -> ServiceVersion:
        """Parse the ``ServiceVersion`` JSON parameter, whose keys are lowercase (a quirk of the API)."""
        body = as_mapping(value, "ServiceVersion")
        name = as_str(body.get("name"), "ServiceVersion.name")
        labels = tuple(
            _label_from_wire(item) for item in as_list(body.get("labels"), "ServiceVersion.labels")
        )
        return cls(name=name, labels=labels)

    def validate(self) -> None:
        _check_label_value(self.name, "version name")
        if not self.labels:
            raise InvalidParameterError(f"version {self.name!r} needs at least one label")
        keys = [label.key for label in self.labels]
        if len(set(keys)) != len(keys):
            raise InvalidParameterError(f"version {self.name!r} repeats a label key: {keys}")
        for label in self.labels:
            _check_label_key(label.key, "label key")
            _check_label_value(label.value, "label value")

    def matches(self, pod_labels: Mapping[str, str]) -> bool:
        return all(pod_labels.get(label.key) == label.value for label in self.labels)

    def describe(self) -> dict[str, Any]:
        return {"Name": self.name, "Labels": [label.describe() for label in self.labels]}


@dataclass
class GatewayService:
    """A Kubernetes Service imported into a gateway, with its named versions."""

    id: int
    gateway_unique_id: str
    gateway_id: int
    source_id: int
    cluster_id: str
    name: str
    namespace: str
    ports: list[int]
    service_protocol: str
    group_name: str
    gmt_create: str
    gmt_modified: str
    versions: list[ServiceVersion] = field(default_factory=list)
    source_type: str = SOURCE_TYPE_K8S

    @property
    def first_port(self) -> int | None:
        return self.ports[0] if self.ports else None

    def version(self, name: str) -> ServiceVersion | None:
        return next((version for version in self.versions if version.name == name), None)

    def describe(self) -> dict[str, Any]:
        return {
            "Id": self.id,
            "GatewayUniqueId": self.gateway_unique_id,
            "GatewayId": self.gateway_id,
            "SourceId": self.source_id,
            "SourceType": self.source_type,
            "Name": self.name,
            "Namespace": self.namespace,
            "GroupName": self.group_name,
            "ServiceNameInRegistry": self.name,
            "ServiceFQDN": f"{self.name}.{self.namespace}.svc.cluster.local",
            "Ports": list(self.ports),
            "ServicePort": self.first_port,
            "ServiceProtocol": self.service_protocol,
            "HealthCheck": False,
            "HealthStatus": "NO_HEALTH_CHECK",
            "Versions": [{"Name": version.name} for version in self.versions],
            "GmtCreate": self.gmt_create,
            "GmtModified": self.gmt_modified,
        }


@dataclass(frozen=True)
class VersionEndpoints:
    """How many ready endpoints a version has, and what share of the service's ready endpoints."""

    version: ServiceVersion
    endpoint_num: int
    total: int

    def describe(self) -> dict[str, Any]:
        percent = round(100 * self.endpoint_num / self.total) if self.total else 0
        return {
            "ServiceVersion": self.version.describe(),
            "EndpointNum": self.endpoint_num,
            "EndpointNumPercent": f"{percent}%",
        }


@dataclass(frozen=True)
class ServiceDetail:
    """A service plus what the gateway currently sees of its pods (GetGatewayServiceDetail)."""

    service: GatewayService
    version_endpoints: tuple[VersionEndpoints, ...]
    label_details: tuple[tuple[str, tuple[str, ...]], ...]
    ready_endpoints: int

    @classmethod
    def build(cls, service: GatewayService, ready_pods: Sequence[Mapping[str, str]]) -> ServiceDetail:
        counts = tuple(
            VersionEndpoints(version, sum(1 for pod in ready_pods if version.matches(pod)), len(ready_pods))
            for version in service.versions
        )
        values: dict[str, set[str]] = {}
        for pod in ready_pods:
            for key, value in pod.items():
                values.setdefault(key, set()).add(value)
        labels = tuple((key, tuple(sorted(values[key]))) for key in sorted(values))
        return cls(service, counts, labels, len(ready_pods))

    def describe(self) -> dict[str, Any]:
        described = self.service.describe()
        described.pop("Versions")  # the detail answers with VersionDetails instead
        described["HealthStatus"] = "HEALTHY" if self.ready_endpoints else "UNHEALTHY"
        described["VersionDetails"] = [counts.describe() for counts in self.version_endpoints]
        described["LabelDetails"] = [
            {"Key": key, "Values": list(values)} for key, values in self.label_details
        ]
        return described
