"""What the invariants need to know about one gateway, read from the gateway's own objects.

The live route of a policy is read through the product's driver (``invariants.Release.live``); a view
adds what no driver reports, read straight from the gateway as users and gateways see it:

- ``unsafe``: every route of the gateway (the policy's or not, published or not) that would send
  traffic to a version that does not exist or has no ready endpoints;
- ``unconverged``: gateway-level signs of an unfinished run (an unpublished MSE route, two routes of
  the policy's path);
- ``leftovers``: after a destroy, anything still carrying the policy's marks;
- ``route_shape``: the one route as an adopted route must be restored (to compare before and after).

``MseView`` reads the emulator's state; ``GatewayApiView`` and ``IstioView`` read the apiserver with
the rig's admin client, never through the fault proxy, so that no injected fault touches the check.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from lightkube.generic_resource import create_namespaced_resource
from lightkube.resources.core_v1 import Pod, Service

from pulumi_canary.drivers.k8s_routes import (
    ORIGINAL_ANNOTATION,
    OWNER_ANNOTATION,
    OWNER_LABEL,
    created_labels,
)
from pulumi_canary.drivers.mse import OWNER_PREFIX, owner_marker
from pulumi_canary.model import LiveRoute
from sdk_tests.engine.conftest import ACCESS_KEY_ID, ACCESS_KEY_SECRET, SERVICE
from sdk_tests.engine.mse_program import gateway_routes

if TYPE_CHECKING:
    from pulumi_canary.emulator import EmulatorServer
    from sdk_tests.engine.invariants import Release

MSE_PUBLISHED = 3

HTTPRoute = create_namespaced_resource("gateway.networking.k8s.io", "v1", "HTTPRoute", "httproutes")
VirtualService = create_namespaced_resource("networking.istio.io", "v1", "VirtualService", "virtualservices")
DestinationRule = create_namespaced_resource(
    "networking.istio.io", "v1", "DestinationRule", "destinationrules"
)


class FaultTarget(Protocol):
    """Where a scenario's faults are armed: the MSE emulator, or the fault proxy before the apiserver."""

    def add_faults(self, rules: Iterable[Any]) -> None: ...
    def clear_faults(self) -> None: ...
    def pending_faults(self) -> list[Any]: ...
    def clear_requests(self) -> None: ...


class GatewayView(Protocol):
    @property
    def faults(self) -> FaultTarget: ...

    def config(self) -> dict[str, str]:
        """The stack configuration the product's drivers are opened with to read the live route."""
        ...

    def unsafe(self, release: Release, live: LiveRoute) -> list[str]: ...
    def unconverged(self, release: Release) -> list[str]: ...
    def leftovers(self, release: Release, live: LiveRoute, *, adopted: bool) -> list[str]: ...
    def route_shape(self) -> Any: ...


# ---- MSE -------------------------------------------------------------------------------------------


@dataclass
class MseView:
    """The MSE emulator's routes of one gateway."""

    emulator: EmulatorServer
    gateway_id: str

    @property
    def faults(self) -> FaultTarget:
        return self.emulator

    def config(self) -> dict[str, str]:
        return {"alicloud:accessKey": ACCESS_KEY_ID, "alicloud:secretKey": ACCESS_KEY_SECRET}

    def routes(self) -> list[dict[str, Any]]:
        return gateway_routes(self.emulator, self.gateway_id)

    def unsafe(self, release: Release, live: LiveRoute) -> list[str]:
        problems: list[str] = []
        for route in self.routes():
            if route["DestinationType"] != "VersionOriented":
                continue
            entries = route["RouteServices"]
            total = sum(int(entry["Percent"] or 0) for entry in entries)
            if total != 100:
                problems.append(f"route {route['Name']}: percentages sum to {total}: {entries}")
            for entry in entries:
                version, percent = entry.get("Version"), int(entry["Percent"] or 0)
                if version not in live.versions:
                    problems.append(f"route {route['Name']}: version {version!r} does not exist")
                elif percent > 0 and live.ready(version) < 1 and not release.allow_unready:
                    problems.append(
                        f"route {route['Name']}: version {version!r} has {percent}% and no endpoints"
                    )
        return problems

    def unconverged(self, release: Release) -> list[str]:
        ours = [r for r in self.routes() if str(r["Description"]).startswith(owner_marker(release.owner))]
        problems = [
            f"route {r['Name']} is unpublished (status {r['Status']})"
            for r in ours
            if r["Status"] != MSE_PUBLISHED
        ]
        path = release.program.route.path
        same_path = [
            r["Name"]
            for r in self.routes()
            if r["Predicates"]["PathPredicates"]["Path"] == path
            and not r["Predicates"].get("HeaderPredicates")
        ]
        if path is not None and len(same_path) != 1:
            problems.append(f"{len(same_path)} routes match {path}: {same_path}")
        return problems

    def leftovers(self, release: Release, live: LiveRoute, *, adopted: bool) -> list[str]:
        marked = [r["Name"] for r in self.routes() if str(r["Description"]).startswith(OWNER_PREFIX)]
        problems = [f"routes still marked by pulumi-canary: {marked}"] if marked else []
        versions = set(live.versions) - set(release.foreign_versions)
        if versions:
            problems.append(f"versions left on the gateway: {sorted(versions)}")
        if not adopted and self.routes():
            problems.append(f"routes left: {[r['Name'] for r in self.routes()]}")
        return problems

    def route_shape(self) -> dict[str, Any]:
        """What restoring an adopted route must bring back exactly (published, as it was)."""
        (route,) = self.routes()
        keys = ("ServiceId", "Percent", "Version", "ServicePort")
        return {
            "Name": route["Name"],
            "Description": route["Description"],
            "DestinationType": route["DestinationType"],
            "Status": route["Status"],
            "Services": [{key: entry.get(key) for key in keys} for entry in route["RouteServices"]],
            "Predicates": json.loads(json.dumps(route["Predicates"])),
        }


# ---- Kubernetes gateways ----------------------------------------------------------------------------


def ready_pods(kube: Any, namespace: str, selector: Mapping[str, str]) -> int:
    """Pods matching ``selector`` that are Ready and not going away: what a Service's endpoints serve."""
    if not selector:
        return 0
    count = 0
    for pod in kube.list(Pod, namespace=namespace, labels=dict(selector)):
        conditions = (pod.status.conditions if pod.status else None) or []
        ready = any(c.type == "Ready" and c.status == "True" for c in conditions)
        count += 1 if ready and pod.metadata.deletionTimestamp is None else 0
    return count


def with_headers(matches: Iterable[Mapping[str, Any]] | None) -> bool:
    """Header routing sends testers to the canary on purpose, even before it is ready (see the README)."""
    return any(match.get("headers") for match in matches or [])


def marked_by(obj: Mapping[str, Any], owner: str) -> bool:
    metadata = obj["metadata"]
    annotations, labels = metadata.get("annotations") or {}, metadata.get("labels") or {}
    return (
        annotations.get(OWNER_ANNOTATION) == owner
        or labels.get(OWNER_LABEL) == created_labels(owner)[OWNER_LABEL]
        or ORIGINAL_ANNOTATION in annotations
    )


def as_it_was(obj: Mapping[str, Any]) -> dict[str, Any]:
    """What restore must give back: spec, labels, annotations and who owns which field."""
    metadata = obj["metadata"]
    managed = sorted(
        (entry["manager"], entry["operation"], json.dumps(entry.get("fieldsV1"), sort_keys=True))
        for entry in metadata.get("managedFields") or []
    )
    return {
        "spec": obj["spec"],
        "labels": metadata.get("labels"),
        "annotations": metadata.get("annotations"),
        "managed": managed,
    }


@dataclass
class KubeView:
    """A Kubernetes gateway's objects in the test's namespace; subclasses say which kinds and how they
    route."""

    kube: Any
    namespace: str
    kubeconfig: Path
    faults: FaultTarget

    route_resource: ClassVar[Any] = None
    route_kind: ClassVar[str] = ""
    entries_field: ClassVar[str] = ""

    def config(self) -> dict[str, str]:
        return {"kubernetes:kubeconfig": str(self.kubeconfig)}

    def objects(self, resource: Any) -> list[dict[str, Any]]:
        return [item.to_dict() for item in self.kube.list(resource, namespace=self.namespace)]

    def routes(self) -> list[dict[str, Any]]:
        return self.objects(self.route_resource)

    def entries(self, route: Mapping[str, Any]) -> list[dict[str, Any]]:
        return list((route.get("spec") or {}).get(self.entries_field) or [])

    def selector(self, service_name: str) -> dict[str, str] | None:
        """The selector of a Service of the namespace; None when the Service does not exist."""
        services = self.kube.list(Service, namespace=self.namespace)
        found = [service for service in services if service.metadata.name == service_name]
        return dict(found[0].spec.selector or {}) if found else None

    def serving_problem(
        self, where: str, what: str, percent: int, selector: Mapping[str, str] | None, release: Release
    ) -> list[str]:
        if selector is None:
            return [f"{where}: sends {percent} to {what}, which does not exist"]
        if ready_pods(self.kube, self.namespace, selector) < 1 and not release.allow_unready:
            return [f"{where}: sends {percent} to {what}, which has no ready endpoints"]
        return []

    def unsafe(self, release: Release, live: LiveRoute) -> list[str]:
        raise NotImplementedError

    def plain_path_entries(self, path: str) -> list[str]:
        raise NotImplementedError

    def unconverged(self, release: Release) -> list[str]:
        path = release.program.route.path
        if path is None:
            return []
        same_path = self.plain_path_entries(path)
        if len(same_path) != 1:
            return [f"{len(same_path)} {self.route_kind} entries match {path}: {same_path}"]
        return []

    def owned_kinds(self) -> list[Any]:
        return [self.route_resource, Service]

    def leftovers(self, release: Release, live: LiveRoute, *, adopted: bool) -> list[str]:
        problems = [
            f"{obj['kind']} {obj['metadata']['name']} still carries pulumi-canary's marks"
            for resource in self.owned_kinds()
            for obj in self.objects(resource)
            if marked_by(obj, release.owner)
        ]
        if live.versions:
            problems.append(f"versions left: {sorted(live.versions)}")
        if not adopted and self.routes():
            problems.append(f"{self.route_kind}s left: {[r['metadata']['name'] for r in self.routes()]}")
        return problems

    def route_shape(self) -> dict[str, Any]:
        (route,) = self.routes()
        return {"name": route["metadata"]["name"], **as_it_was(route)}


@dataclass
class GatewayApiView(KubeView):
    """HTTPRoutes whose rules send traffic to a Service per version."""

    route_resource: ClassVar[Any] = HTTPRoute
    route_kind: ClassVar[str] = "HTTPRoute"
    entries_field: ClassVar[str] = "rules"

    def unsafe(self, release: Release, live: LiveRoute) -> list[str]:
        problems: list[str] = []
        for route in self.routes():
            for index, rule in enumerate(self.entries(route)):
                if with_headers(rule.get("matches")):
                    continue
                where = f"HTTPRoute {route['metadata']['name']} rule {index}"
                refs = [
                    ref for ref in rule.get("backendRefs") or []
                    if ref.get("kind", "Service") == "Service" and not ref.get("group")
                ]
                if refs and sum(int(ref.get("weight", 1)) for ref in refs) == 0:
                    problems.append(f"{where}: every backend has weight 0, so every request fails")
                for ref in refs:
                    name, percent = str(ref["name"]), int(ref.get("weight", 1))
                    if percent > 0 and name.startswith(SERVICE):
                        selector = self.selector(name)
                        problems += self.serving_problem(where, f"Service {name}", percent, selector, release)
        return problems

    def plain_path_entries(self, path: str) -> list[str]:
        return [
            f"{route['metadata']['name']}[{index}]"
            for route in self.routes()
            for index, rule in enumerate(self.entries(route))
            if any(
                (match.get("path") or {}).get("value") == path and not match.get("headers")
                for match in rule.get("matches") or []
            )
        ]


@dataclass
class IstioView(KubeView):
    """VirtualServices whose http entries send traffic to subsets of the Service's DestinationRule."""

    route_resource: ClassVar[Any] = VirtualService
    route_kind: ClassVar[str] = "VirtualService"
    entries_field: ClassVar[str] = "http"

    def hosts(self) -> set[str]:
        return {SERVICE, f"{SERVICE}.{self.namespace}", f"{SERVICE}.{self.namespace}.svc",
                f"{SERVICE}.{self.namespace}.svc.cluster.local"}

    def subsets(self) -> tuple[dict[str, dict[str, str]], list[str]]:
        """Subset name -> labels over the DestinationRules of the Service's host, and any name defined
        twice (Istio then picks one of them)."""
        labels: dict[str, dict[str, str]] = {}
        twice: list[str] = []
        for rule in self.objects(DestinationRule):
            if rule["spec"].get("host") not in self.hosts():
                continue
            for subset in rule["spec"].get("subsets") or []:
                if subset["name"] in labels:
                    twice.append(subset["name"])
                labels[subset["name"]] = dict(subset.get("labels") or {})
        return labels, twice

    def unsafe(self, release: Release, live: LiveRoute) -> list[str]:
        subsets, twice = self.subsets()
        problems = [f"subset {name} is defined by two DestinationRules" for name in twice]
        base = self.selector(SERVICE)
        for service in self.routes():
            for index, entry in enumerate(self.entries(service)):
                if with_headers(entry.get("match")):
                    continue
                where = f"VirtualService {service['metadata']['name']} http {index}"
                destinations = entry.get("route") or []
                default = 100 if len(destinations) == 1 else 0
                weights = [int(d.get("weight", default)) for d in destinations]
                if destinations and sum(weights) != 100:
                    problems.append(f"{where}: weights sum to {sum(weights)}, not 100")
                for target, percent in zip(destinations, weights, strict=True):
                    destination = target.get("destination") or {}
                    if percent == 0 or destination.get("host") not in self.hosts():
                        continue
                    subset = destination.get("subset")
                    if subset is None:
                        problems += self.serving_problem(where, f"Service {SERVICE}", percent, base, release)
                        continue
                    selector = None if subset not in subsets or base is None else {**base, **subsets[subset]}
                    problems += self.serving_problem(where, f"subset {subset}", percent, selector, release)
        return problems

    def plain_path_entries(self, path: str) -> list[str]:
        return [
            f"{service['metadata']['name']}[{index}]"
            for service in self.routes()
            for index, entry in enumerate(self.entries(service))
            if any(
                path in (match.get("uri") or {}).values() and not match.get("headers")
                for match in entry.get("match") or []
            )
        ]

    def owned_kinds(self) -> list[Any]:
        return [VirtualService, DestinationRule, Service]
