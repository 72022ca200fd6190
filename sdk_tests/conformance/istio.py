"""The Istio harness: a DestinationRule with a subset per version and a weighted VirtualService, read
back from the apiserver (with Istio's CRDs); and the VirtualService shapes the tests compare with.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from lightkube import Client, KubeConfig

import pulumi_canary as canary
from pulumi_canary.drivers.istio import destination_rule_resource, virtual_service_resource
from pulumi_canary.drivers.k8s_routes import created_labels
from sdk_tests.conformance.kubernetes import (
    as_it_was,
    deleted_at,
    deletions,
    history,
    names,
    only,
    rules_owners,
    take_over_by_hand,
)
from sdk_tests.conformance.observed import OWNER, Adoptable, HandEdit, HeaderRoute, Routing, left_behind
from sdk_tests.engine.conftest import SERVICE

if TYPE_CHECKING:
    from sdk_tests.conformance.harness import Site

__all__ = [
    "DEMO",
    "DestinationRule",
    "IstioHarness",
    "VirtualService",
    "header_entry",
    "host",
    "legacy_service",
    "subset",
    "subsets",
    "weighted",
]

VirtualService = virtual_service_resource()
DestinationRule = destination_rule_resource()
HOSTS = ["demo.example.com"]
GATEWAYS = ["istio-system/public"]
DEMO = {"uri": {"prefix": "/demo"}}
PLATFORM = "platform-team"  # the field manager of the routes made by hand


def host(namespace: str) -> str:
    return f"{SERVICE}.{namespace}.svc.cluster.local"


def dest(namespace: str, version: str, weight: int) -> dict[str, Any]:
    target = {"host": host(namespace), "subset": f"{SERVICE}-{version}", "port": {"number": 80}}
    return {"destination": target, "weight": weight}


def weighted(namespace: str, **weights: int) -> dict[str, Any]:
    return {
        "match": [DEMO],
        "route": [dest(namespace, version, weight) for version, weight in weights.items()],
    }


def header_entry(namespace: str, canary_version: str, **headers: str) -> dict[str, Any]:
    matches = [{**DEMO, "headers": {name: {"exact": value} for name, value in headers.items()}}]
    return {"match": matches, "route": [dest(namespace, canary_version, 100)]}


def subsets(kube: Any, namespace: str) -> list[dict[str, Any]]:
    rule = only(kube, DestinationRule, namespace)
    assert rule["spec"]["host"] == host(namespace)
    found: list[dict[str, Any]] = rule["spec"]["subsets"]
    return found


def subset(version: str) -> dict[str, Any]:
    return {"name": f"{SERVICE}-{version}", "labels": {"version": version}}


def entries_for(namespace: str, routing: Routing) -> list[dict[str, Any]]:
    """The http entries pulumi-canary writes for ``routing``: the header entry first (Istio takes the
    first entry that matches), then the weighted one."""
    header = routing.header
    first = [header_entry(namespace, header.version, **dict(header.headers))] if header else []
    return [*first, weighted(namespace, **dict(routing.weights))]


def version_of(destination: Mapping[str, Any]) -> str:
    name = str(destination["destination"]["subset"])
    assert name.startswith(f"{SERVICE}-"), destination
    return name.removeprefix(f"{SERVICE}-")


def routing_of(namespace: str, http: list[dict[str, Any]]) -> Routing:
    *header_entries, weighted_entry = http
    weights = tuple((version_of(target), int(target["weight"])) for target in weighted_entry["route"])
    header = None
    if header_entries:
        (entry,) = header_entries
        (match,) = entry["match"]
        (target,) = entry["route"]
        headers = {name: value["exact"] for name, value in (match.get("headers") or {}).items()}
        header = HeaderRoute.of(headers, version_of(target))
    found = Routing(weights, header)
    assert http == entries_for(namespace, found), http
    return found


def legacy_service(namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": "legacy", "namespace": namespace},
        "spec": {
            "hosts": list(HOSTS),
            "gateways": list(GATEWAYS),
            "http": [
                {"match": [{"uri": {"prefix": "/shop"}}], "route": [{"destination": {"host": "shop"}}]},
                {
                    "name": "demo",
                    "match": [DEMO],
                    "timeout": "10s",
                    "route": [{"destination": {"host": SERVICE}}],
                },
            ],
        },
    }


class IstioHarness:
    """Istio with a gateway istio-system/public: the VirtualServices and DestinationRules of the test's
    namespace."""

    def __init__(self, site: Site) -> None:
        self.kube = site.kube
        self.kubeconfig = site.kubeconfig
        self.namespace = site.namespace
        self.platform: Any = None

    def argument(self) -> Any:
        return canary.Istio(hosts=list(HOSTS), gateways=list(GATEWAYS))

    def stored_header_name(self, name: str) -> str:
        # Istio wants header keys in lowercase; HTTP header names ignore case.
        return name.lower()

    def _service(self) -> dict[str, Any]:
        return only(self.kube, VirtualService, self.namespace)

    def route_id(self) -> str:
        return str(self._service()["metadata"]["name"])

    def routing(self) -> Routing:
        spec = self._service()["spec"]
        assert set(spec) == {"hosts", "gateways", "http"}, spec
        assert spec["hosts"] == HOSTS
        assert spec["gateways"] == GATEWAYS
        return routing_of(self.namespace, spec["http"])

    def versions(self) -> list[str]:
        found = [
            str(entry["name"]).removeprefix(f"{SERVICE}-") for entry in subsets(self.kube, self.namespace)
        ]
        assert subsets(self.kube, self.namespace) == [subset(version) for version in found]
        return found

    def check_created(self) -> None:
        service = self._service()
        assert service["metadata"]["labels"] == created_labels(OWNER)
        assert service["metadata"]["annotations"] == {"pulumi-canary.io/owner": OWNER}
        assert rules_owners(service, "http") == [("pulumi-canary", "Apply")]
        rule = only(self.kube, DestinationRule, self.namespace)
        assert rule["metadata"]["annotations"] == {"pulumi-canary.io/owner": OWNER}

    def checkpoint(self) -> Any:
        metadata = self._service()["metadata"]
        rule = only(self.kube, DestinationRule, self.namespace)["metadata"]["name"]
        return metadata["resourceVersion"], metadata["name"], rule

    def assert_destroyed(self, since: Any, *, stable: str, canary: str) -> None:
        # the canary leaves the route before its subset leaves the DestinationRule; the VirtualService
        # goes before the DestinationRule that the last subset lived in
        version, service, rule = since
        rules = history(self.kube, DestinationRule, self.namespace, version, deletions(rule))
        routes = history(self.kube, VirtualService, self.namespace, version, deletions(service))
        canary_subset_gone = next(
            rv for rv, kind, obj in rules if kind == "MODIFIED" and obj["spec"]["subsets"] == [subset(stable)]
        )
        last_before = [obj for rv, kind, obj in routes if kind == "MODIFIED" and rv < canary_subset_gone][-1]
        assert last_before["spec"]["http"] == [weighted(self.namespace, **{stable: 100})]
        assert deleted_at(routes, service) < deleted_at(rules, rule)
        left_behind(names(self.kube, VirtualService, self.namespace), set(), "VirtualServices")
        left_behind(names(self.kube, DestinationRule, self.namespace), set(), "DestinationRules")

    def make_route_to_adopt(self) -> Adoptable:
        self.platform = Client(config=KubeConfig.from_file(self.kubeconfig), field_manager=PLATFORM)
        self.platform.apply(VirtualService.from_dict(legacy_service(self.namespace)))
        before = self.kube.get(VirtualService, "legacy", namespace=self.namespace).to_dict()
        return Adoptable(match={"name": "legacy", "path": "/demo"}, route_id="legacy", before=before)

    def assert_adopted(self, adoptable: Adoptable, expected: Routing) -> None:
        adopted = self._service()
        shop, demo = adoptable.before["spec"]["http"]
        *header_entries, weighted_entry = entries_for(self.namespace, expected)
        assert adopted["spec"]["http"] == [
            shop,
            *({**entry, "timeout": "10s"} for entry in header_entries),
            {**weighted_entry, "name": "demo", "timeout": "10s"},
        ]
        assert rules_owners(adopted, "http") == [("pulumi-canary", "Apply")]
        assert demo["route"] == [{"destination": {"host": SERVICE}}]

    def assert_restored(self, adoptable: Adoptable) -> None:
        restored = self.kube.get(VirtualService, "legacy", namespace=self.namespace).to_dict()
        assert as_it_was(restored) == as_it_was(adoptable.before)
        left_behind(names(self.kube, DestinationRule, self.namespace), set(), "DestinationRules")
        changed = legacy_service(self.namespace)
        changed["spec"]["http"][1]["timeout"] = "20s"
        self.platform.apply(VirtualService.from_dict(changed))  # its owner again: no conflict

    def edit_weights_by_hand(self, weights: Mapping[str, int]) -> HandEdit:
        service = self._service()
        http = service["spec"]["http"]
        for target in http[-1]["route"]:
            target["weight"] = weights[version_of(target)]
        return take_over_by_hand(self.kube, self.kubeconfig, VirtualService, service, "http", http)
