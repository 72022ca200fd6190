"""Backend actions on gateways and their service sources (ACK clusters)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from pulumi_canary.emulator.exceptions import BusinessError, InvalidParameterError
from pulumi_canary.emulator.models.backend_state import BackendState
from pulumi_canary.emulator.models.listing import ListQuery, Page, contains, equals, paginate
from pulumi_canary.emulator.models.services import SOURCE_TYPE_K8S, Gateway, ServiceSource
from pulumi_canary.emulator.models.values import as_str

__all__ = ["GatewayBackend"]


class GatewayBackend(BackendState):
    """Seeding, reading and listing gateways; adding and listing their service sources."""

    # ------------------------------------------------------------ gateways

    def add_gateway(self, gateway_unique_id: str, *, name: str = "", region: str = "cn-hangzhou") -> Gateway:
        """Seed a gateway (the emulator has no action that creates one)."""
        as_str(gateway_unique_id, "GatewayUniqueId")
        with self._lock:
            if gateway_unique_id in self._gateways:
                raise InvalidParameterError(f"gateway {gateway_unique_id} already exists")
            now = self._stamp()
            gateway = Gateway(
                next(self._gateway_ids), gateway_unique_id, name or gateway_unique_id, region, now, now
            )
            self._gateways[gateway_unique_id] = gateway
            return copy.deepcopy(gateway)

    def get_gateway(self, gateway_unique_id: str) -> Gateway:
        with self._lock:
            return copy.deepcopy(self._gateway(gateway_unique_id))

    def list_gateway(self, query: ListQuery, filters: Mapping[str, Any]) -> Page[dict[str, Any]]:
        with self._lock:
            items = [
                gateway.describe()
                for gateway in self._gateways.values()
                if equals(gateway.gateway_unique_id, filters.get("GatewayUniqueId"))
                and contains(gateway.name, filters.get("Name"))
            ]
        return paginate(items, query, ("Id", "Name", "GmtCreate", "GmtModified"))

    # ------------------------------------------------------------ service sources

    def add_service_source(
        self,
        gateway_unique_id: str,
        *,
        name: str,
        address: str,
        source_type: str = SOURCE_TYPE_K8S,
        source: str = SOURCE_TYPE_K8S,
        ingress_options: Mapping[str, Any] | None = None,
    ) -> int:
        """Add an ACK cluster (``address`` = cluster id) as a service source of a gateway."""
        for what, value in (("Type", source_type), ("Source", source)):
            if value.upper() != SOURCE_TYPE_K8S:
                raise InvalidParameterError(
                    f"{what} {value!r} is not supported: only K8S (ACK) service sources are"
                )
        as_str(name, "Name")
        as_str(address, "Address")
        with self._lock:
            gateway = self._gateway(gateway_unique_id)
            if any(
                s.gateway_unique_id == gateway_unique_id and s.address == address
                for s in self._sources.values()
            ):
                raise BusinessError(
                    "Duplicate.ServiceSource", f"cluster {address} is already a source of {gateway_unique_id}"
                )
            now = self._stamp()
            created = ServiceSource(
                id=next(self._source_ids),
                gateway_unique_id=gateway_unique_id,
                gateway_id=gateway.id,
                name=name,
                address=address,
                type=SOURCE_TYPE_K8S,
                source=SOURCE_TYPE_K8S,
                ingress_options=dict(ingress_options or {}),
                gmt_create=now,
                gmt_modified=now,
            )
            self._sources[created.id] = created
            return created.id

    def list_service_source(self, gateway_unique_id: str, source: str = "") -> list[ServiceSource]:
        with self._lock:
            self._gateway(gateway_unique_id)
            return [
                copy.deepcopy(item)
                for item in self._sources.values()
                if item.gateway_unique_id == gateway_unique_id
                and (not source or item.source == source.upper())
            ]
