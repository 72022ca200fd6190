"""The Gateway API harness: an HTTPRoute with weighted backendRefs to a Service per version, read back
from the apiserver and checked field by field; and the HTTPRoute shapes the tests compare with.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from lightkube import Client, KubeConfig
from lightkube.resources.core_v1 import Service

import pulumi_canary as canary
from pulumi_canary.drivers.gateway_api import http_route_resource
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
    "GATEWAY_REF",
    "GatewayApiHarness",
    "HTTPRoute",
    "assert_version_service",
    "header_rule",
    "legacy_route",
    "names",
    "only",
    "ref",
    "weighted",
]

HTTPRoute = http_route_resource()
HOSTNAMES = ["demo.example.com"]
GATEWAY_REF = {
    "group": "gateway.networking.k8s.io",
    "kind": "Gateway",
    "name": "public-gw",
    "namespace": "infra",
}
DEMO = {"path": {"type": "PathPrefix", "value": "/demo"}}
PLATFORM = "platform-team"  # the field manager of the routes made by hand


def ref(version: str, weight: int) -> dict[str, Any]:
    return {"group": "", "kind": "Service", "name": f"{SERVICE}-{version}", "port": 80, "weight": weight}


def weighted(**weights: int) -> dict[str, Any]:
    return {"matches": [DEMO], "backendRefs": [ref(version, weight) for version, weight in weights.items()]}


def header_rule(canary_version: str, **headers: str) -> dict[str, Any]:
    matches = [
        {**DEMO, "headers": [{"type": "Exact", "name": k, "value": v} for k, v in sorted(headers.items())]}
    ]
    return {"matches": matches, "backendRefs": [ref(canary_version, 1)]}


def rules_for(routing: Routing) -> list[dict[str, Any]]:
    """The rules pulumi-canary writes for ``routing``: the header rule first, then the weighted one."""
    header = [header_rule(routing.header.version, **dict(routing.header.headers))] if routing.header else []
    return [*header, weighted(**dict(routing.weights))]


def version_of(backend: Mapping[str, Any]) -> str:
    name = str(backend["name"])
    assert name.startswith(f"{SERVICE}-"), backend
    return name.removeprefix(f"{SERVICE}-")


def routing_of(rules: list[dict[str, Any]]) -> Routing:
    *header_rules, weighted_rule = rules
    weights = tuple((version_of(backend), int(backend["weight"])) for backend in weighted_rule["backendRefs"])
    header = None
    if header_rules:
        (rule,) = header_rules
        (match,) = rule["matches"]
        (target,) = rule["backendRefs"]
        headers = {entry["name"]: entry["value"] for entry in match.get("headers") or []}
        header = HeaderRoute.of(headers, version_of(target))
    found = Routing(weights, header)
    assert rules == rules_for(found), rules
    return found


def assert_version_service(kube: Any, namespace: str, version: str) -> None:
    stored = kube.get(Service, f"{SERVICE}-{version}", namespace=namespace).to_dict()
    assert stored["metadata"]["labels"] == created_labels(OWNER)
    assert stored["metadata"]["annotations"] == {
        "pulumi-canary.io/owner": OWNER,
        "pulumi-canary.io/version": version,
    }
    spec = stored["spec"]
    assert spec["type"] == "ClusterIP"
    assert spec["selector"] == {"app": "demo", "version": version}
    assert spec["ports"] == [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]


def legacy_route(namespace: str) -> dict[str, Any]:
    """A route a platform team manages: two rules, the /demo one with a timeout, sent to the Service."""
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {
            "name": "legacy",
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "Helm"},
        },
        "spec": {
            "parentRefs": [{"name": "public-gw", "namespace": "infra"}],
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/shop"}}],
                    "backendRefs": [{"name": "shop", "port": 80}],
                },
                {
                    "matches": [DEMO],
                    "timeouts": {"request": "10s"},
                    "backendRefs": [{"name": SERVICE, "port": 80}],
                },
            ],
        },
    }


class GatewayApiHarness:
    """A Gateway API ``Gateway`` (infra/public-gw) and the HTTPRoutes of the test's namespace."""

    def __init__(self, site: Site) -> None:
        self.kube = site.kube
        self.kubeconfig = site.kubeconfig
        self.namespace = site.namespace
        self.platform: Any = None

    def argument(self) -> Any:
        return canary.GatewayApi(gateway="public-gw", namespace="infra", hostnames=list(HOSTNAMES))

    def stored_header_name(self, name: str) -> str:
        return name

    def _route(self) -> dict[str, Any]:
        return only(self.kube, HTTPRoute, self.namespace)

    def route_id(self) -> str:
        return str(self._route()["metadata"]["name"])

    def routing(self) -> Routing:
        spec = self._route()["spec"]
        assert set(spec) == {"parentRefs", "hostnames", "rules"}, spec
        assert spec["parentRefs"] == [GATEWAY_REF]
        assert spec["hostnames"] == HOSTNAMES
        return routing_of(spec["rules"])

    def versions(self) -> list[str]:
        services = [item.metadata.name for item in self.kube.list(Service, namespace=self.namespace)]
        assert SERVICE in services, services
        found = [name.removeprefix(f"{SERVICE}-") for name in services if name != SERVICE]
        for version in found:
            assert_version_service(self.kube, self.namespace, version)
        return found

    def check_created(self) -> None:
        route = self._route()
        assert route["metadata"]["labels"] == created_labels(OWNER)
        assert route["metadata"]["annotations"] == {"pulumi-canary.io/owner": OWNER}
        assert rules_owners(route) == [("pulumi-canary", "Apply")]

    def checkpoint(self) -> Any:
        metadata = self._route()["metadata"]
        return metadata["resourceVersion"], metadata["name"]

    def assert_destroyed(self, since: Any, *, stable: str, canary: str) -> None:
        # the canary leaves the route (and the header rule with it) before its Service goes; the route
        # goes before the stable Service
        version, route = since
        stable_service, canary_service = f"{SERVICE}-{stable}", f"{SERVICE}-{canary}"
        services = history(
            self.kube, Service, self.namespace, version, deletions(canary_service, stable_service)
        )
        routes = history(self.kube, HTTPRoute, self.namespace, version, deletions(route))
        canary_gone = deleted_at(services, canary_service)
        last_before = [obj for rv, kind, obj in routes if kind == "MODIFIED" and rv < canary_gone][-1]
        assert last_before["spec"]["rules"] == [weighted(**{stable: 100})]
        assert deleted_at(routes, route) < deleted_at(services, stable_service)
        left_behind(names(self.kube, HTTPRoute, self.namespace), set(), "HTTPRoutes")
        left_behind(names(self.kube, Service, self.namespace), {SERVICE}, "Services")

    def make_route_to_adopt(self) -> Adoptable:
        self.platform = Client(config=KubeConfig.from_file(self.kubeconfig), field_manager=PLATFORM)
        self.platform.apply(HTTPRoute.from_dict(legacy_route(self.namespace)))
        before = self.kube.get(HTTPRoute, "legacy", namespace=self.namespace).to_dict()
        return Adoptable(match={"path": "/demo"}, route_id="legacy", before=before)

    def assert_adopted(self, adoptable: Adoptable, expected: Routing) -> None:
        before = adoptable.before
        adopted = self._route()
        shop_rule, demo_rule = before["spec"]["rules"]
        assert adopted["spec"]["parentRefs"] == before["spec"]["parentRefs"]  # not ours to change
        timeouts = {"timeouts": {"request": "10s"}}
        assert adopted["spec"]["rules"] == [
            shop_rule,
            *({**rule, **timeouts} for rule in rules_for(expected)),
        ]
        assert adopted["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "Helm"}
        assert adopted["metadata"]["annotations"]["pulumi-canary.io/owner"] == OWNER
        assert "pulumi-canary.io/original" in adopted["metadata"]["annotations"]
        assert rules_owners(adopted) == [("pulumi-canary", "Apply")]  # one owner of the weights
        assert demo_rule["backendRefs"] == [
            {"group": "", "kind": "Service", "name": SERVICE, "port": 80, "weight": 1}
        ]

    def assert_restored(self, adoptable: Adoptable) -> None:
        restored = self.kube.get(HTTPRoute, "legacy", namespace=self.namespace).to_dict()
        assert as_it_was(restored) == as_it_was(adoptable.before)
        left_behind(names(self.kube, Service, self.namespace), {SERVICE}, "Services")
        # The platform team owns its rules again: its next change applies without a conflict.
        changed = legacy_route(self.namespace)
        changed["spec"]["rules"][1]["timeouts"] = {"request": "20s"}
        self.platform.apply(HTTPRoute.from_dict(changed))

    def edit_weights_by_hand(self, weights: Mapping[str, int]) -> HandEdit:
        route = self._route()
        rules = route["spec"]["rules"]
        for backend in rules[-1]["backendRefs"]:
            backend["weight"] = weights[version_of(backend)]
        return take_over_by_hand(self.kube, self.kubeconfig, HTTPRoute, route, "rules", rules)
