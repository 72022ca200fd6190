"""The gateway's copy of the Kubernetes service and its versions (a name and a pod label set each).

The service is found by name, or imported from the gateway's Kubernetes service source when a write
needs it; reads never import anything. Versions are defined, redefined and removed here, and their ready
endpoints polled until a version can take traffic.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ...errors import ApiError, NotReadyError, PreconditionError
from ...model import ServiceRefSpec
from ..retry import wait_for_count
from .client import MseApi
from .errors import is_not_found
from .wire import service_id_in, version_json

POLL_SECONDS = 1.0


class GatewayService:
    """One Kubernetes service as one gateway knows it; remembers its id once found."""

    def __init__(self, api: MseApi, service: ServiceRefSpec, sleep: Callable[[float], None]) -> None:
        self.api = api
        self.service = service
        self._sleep = sleep
        self._service_id: int | None = None

    # ---- the service --------------------------------------------------------------------------------

    def service_id(self) -> int:
        """The gateway's id of the Kubernetes service, importing it from the cluster source if needed."""
        if self._service_id is None:
            found = self._find_service()
            if found is None:
                self._import_service()
                found = self._find_service()
            if found is None:
                raise PreconditionError(
                    f"service {self.service.namespace}/{self.service.name} could not be imported into "
                    "MSE gateway "
                    f"{self.api.gateway.gateway_id}: check that it exists in the cluster connected to the "
                    "gateway"
                )
            self._service_id = found
        return self._service_id

    def known_service_id(self) -> int | None:
        """The service's id if the gateway has it already: reading never imports anything (a delete of a
        policy whose Service is gone from the cluster must not fail trying to import it)."""
        if self._service_id is None:
            self._service_id = self._find_service()
        return self._service_id

    def learn_id_from(self, route: Mapping[str, Any]) -> None:
        """Take the service's id from a route to it, if not known yet: saves looking it up by name."""
        if self._service_id is None:
            self._service_id = service_id_in(route, self.service)

    def _find_service(self) -> int | None:
        filters = {
            "GatewayUniqueId": self.api.gateway.gateway_id,
            "Name": self.service.name,
            "Namespace": self.service.namespace,
            "SourceType": "K8S",
        }
        for item in self.api.pages("ListGatewayService", {"FilterParams": filters}):
            if item.get("Name") == self.service.name and item.get("Namespace") == self.service.namespace:
                return int(item["Id"])
        return None

    def _import_service(self) -> None:
        sources = self.api.call("ListServiceSource", {**self.api.base(), "Source": "K8S"}) or []
        kubernetes_sources = [s for s in sources if str(s.get("Type", "K8S")).upper() == "K8S"]
        if not kubernetes_sources:
            raise PreconditionError(
                f"MSE gateway {self.api.gateway.gateway_id} has no Kubernetes (ACK) service source: "
                "canary releases "
                "work only on Kubernetes services; add the cluster as a service source first"
            )
        service_list = [{"Name": self.service.name, "Namespace": self.service.namespace}]
        self.api.call(
            "ImportServices",
            {
                **self.api.base(),
                "SourceType": "K8S",
                "SourceId": kubernetes_sources[0]["Id"],
                "ServiceList": service_list,
            },
        )

    def service_detail(self, *, fresh: bool = False) -> dict[str, Any]:
        params = {**self.api.base(), "ServiceId": self.service_id()}
        return dict(self.api.call("GetGatewayServiceDetail", params, fresh=fresh) or {})

    # ---- its versions -------------------------------------------------------------------------------

    def versions_and_endpoints(
        self, *, fresh: bool = False
    ) -> tuple[dict[str, dict[str, str]], dict[str, int]]:
        """Versions of the service and their ready endpoints; both empty while it is not imported."""
        if self.known_service_id() is None:
            return {}, {}
        versions: dict[str, dict[str, str]] = {}
        ready: dict[str, int] = {}
        for detail in self.service_detail(fresh=fresh).get("VersionDetails") or []:
            version = detail.get("ServiceVersion") or {}
            name = str(version.get("Name"))
            versions[name] = {label["Key"]: label["Value"] for label in version.get("Labels") or []}
            ready[name] = int(detail.get("EndpointNum") or 0)
        return versions, ready

    def ensure_versions(self, wanted: Mapping[str, Mapping[str, str]]) -> None:
        # One read serves every version: defining one version leaves the others as they were read.
        versions, _ = self.versions_and_endpoints()
        for name, labels in wanted.items():
            if versions.get(name) != dict(labels):
                self._define_version(name, labels, exists=name in versions)

    def _define_version(self, name: str, labels: Mapping[str, str], *, exists: bool) -> None:
        action = "UpdateGatewayServiceVersion" if exists else "AddGatewayServiceVersion"
        params = {
            **self.api.base(),
            "ServiceId": self.service_id(),
            "ServiceVersion": version_json(name, labels),
        }
        try:
            self.api.call(action, params)
        except ApiError:
            # An attempt that timed out may have defined it after all (its retry then reads Duplicate).
            if self.versions_and_endpoints()[0].get(name) != dict(labels):
                raise

    def delete_version(self, name: str, labels: Mapping[str, str]) -> None:
        """Delete a version as it was read; one already gone is fine."""
        params = {
            **self.api.base(),
            "ServiceId": self.service_id(),
            "ServiceVersion": version_json(name, labels),
        }
        try:
            self.api.call("DeleteGatewayServiceVersion", params)
        except ApiError as error:
            if not is_not_found(error):
                raise

    def wait_ready(self, version: str, minimum: int, timeout_seconds: float) -> int:
        def too_few(count: int) -> NotReadyError:
            return NotReadyError(
                f"version {version} of service {self.service.namespace}/{self.service.name} "
                f"has {count} ready "
                f"endpoint(s) on MSE gateway {self.api.gateway.gateway_id}, needs {minimum}, after "
                f"waiting {timeout_seconds:.0f}s; traffic was not moved: check that pods labelled with "
                "it are Ready, raise readiness_timeout_seconds, or set allow_unready=True"
            )

        return wait_for_count(
            lambda fresh: self.versions_and_endpoints(fresh=fresh)[1].get(version, 0),
            minimum,
            timeout_seconds,
            too_few=too_few,
            sleep=self._sleep,
            every_seconds=POLL_SECONDS,
        )
