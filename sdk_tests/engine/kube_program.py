"""Shared pieces of the engine tests on Kubernetes gateways (Gateway API, Istio): a program a test edits
between runs, the gateways it is pointed at, and routes a platform team made by hand before the policy.

The program is the one of ``mse_program`` with the gateway as an argument: the same program moves
between gateways by changing one value.
"""

from __future__ import annotations

from typing import Any

import pulumi_canary as canary
from sdk_tests.engine.conftest import SERVICE
from sdk_tests.engine.mse_program import POLICY_SETTINGS

DEMO_PATH = "/demo"


class Program:
    """A program whose declarations a test changes between `pulumi up`s, like an edited infra repo."""

    def __init__(self, gateway: Any, namespace: str) -> None:
        self.gateway = gateway
        self.namespace = namespace
        self.route = canary.RouteMatch(path=DEMO_PATH)
        self.policy: dict[str, Any] = {"stable_version": "v1", "canary_version": "v2"}
        self.split: dict[str, Any] | None = None

    def __call__(self) -> None:
        import pulumi

        policy = canary.CanaryPolicy(
            "demo",
            gateway=self.gateway,
            service=canary.ServiceRef(name=SERVICE, namespace=self.namespace, port=80),
            route=self.route,
            **{**POLICY_SETTINGS, **self.policy},
        )
        pulumi.export("route_id", policy.route_id)
        pulumi.export("weights", policy.weights)
        pulumi.export("canary_deployment_name", policy.canary_deployment_name)
        if self.split is not None:
            split = canary.TrafficSplit("demo", policy=policy, **self.split)
            pulumi.export("split_weights", split.live_weights)


def gateway_api() -> Any:
    return canary.GatewayApi(gateway="public-gw", namespace="infra", hostnames=["demo.example.com"])


def istio() -> Any:
    return canary.Istio(hosts=["demo.example.com"], gateways=["istio-system/public"])


def legacy_http_route(namespace: str, name: str = "legacy") -> dict[str, Any]:
    """A route a platform team manages: a /shop rule, and the /demo rule (with a timeout) sent to the
    whole Service."""
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {
            "name": name,
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
                    "matches": [{"path": {"type": "PathPrefix", "value": DEMO_PATH}}],
                    "timeouts": {"request": "10s"},
                    "backendRefs": [{"name": SERVICE, "port": 80}],
                },
            ],
        },
    }


def legacy_virtual_service(namespace: str, name: str = "legacy") -> dict[str, Any]:
    """The same on Istio: a /shop entry, and a named /demo entry with a timeout to the whole Service."""
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "hosts": ["demo.example.com"],
            "gateways": ["istio-system/public"],
            "http": [
                {"match": [{"uri": {"prefix": "/shop"}}], "route": [{"destination": {"host": "shop"}}]},
                {
                    "name": "demo",
                    "match": [{"uri": {"prefix": DEMO_PATH}}],
                    "timeout": "10s",
                    "route": [{"destination": {"host": SERVICE}}],
                },
            ],
        },
    }
