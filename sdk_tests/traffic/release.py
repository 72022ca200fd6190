"""Shared pieces of the traffic tests: a release program on either gateway, where its requests go, and
how to read what the requests saw."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest

import pulumi_canary as canary
from pulumi_canary.emulator import EmulatorServer
from pulumi_canary.emulator.dataplane import version_of_service
from rig.gateway import GATEWAY_NAME, GATEWAY_NAMESPACE, Traefik
from rig.load import Summary
from sdk_tests.engine.conftest import SERVICE

QUIET = {"on_output": lambda _line: None}
GATEWAYS = ("gateway-api", "mse")


class Release:
    """A program whose declarations a test changes between `pulumi up`s, like an edited infra repo."""

    def __init__(self, gateway: Any, namespace: str, path: str) -> None:
        self.gateway = gateway
        self.namespace = namespace
        self.route = canary.RouteMatch(path=path)
        self.policy: dict[str, Any] = {"stable_version": "v1", "canary_version": "v2"}
        self.split: dict[str, Any] | None = None

    def __call__(self) -> None:
        import pulumi

        policy = canary.CanaryPolicy(
            "demo",
            gateway=self.gateway,
            service=canary.ServiceRef(name=SERVICE, namespace=self.namespace, port=80),
            route=self.route,
            **{"label_key": "version", "readiness_timeout_seconds": 60, **self.policy},
        )
        pulumi.export("route_id", policy.route_id)
        if self.split is not None:
            canary.TrafficSplit("demo", policy=policy, **self.split)


@dataclass
class Target:
    """One gateway of the rig as a test sees it: what the program declares and where requests go."""

    kind: str
    gateway: Any
    base_url: str
    traefik: Traefik
    emulator: EmulatorServer | None = None
    gateway_id: str | None = None

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    @property
    def provider(self) -> str:
        """The Traefik provider that serves this gateway's routes."""
        return "file" if self.kind == "mse" else "kubernetesgateway"

    def wait_for_weights(self, path: str, weights: Mapping[str, int], timeout: float = 30.0) -> None:
        """Until Traefik serves ``weights`` on the route of ``path``."""
        self.traefik.wait_for_weights(
            self.provider, path, weights, version_of=self.version_of, timeout=timeout
        )

    def wait_for_header_route(self, path: str, timeout: float = 30.0) -> None:
        self.traefik.wait_for_router(self.provider, [path, "Header"], timeout=timeout)

    def service_pattern(self, version: str) -> str:
        """A regular expression (RE2, as Prometheus reads it) for the Traefik service of ``version``; it
        has no backslash, which a PromQL string would take as its own escape."""
        if self.kind == "mse":
            return f"mse-.+[.]{version}@file"
        return f".+-{SERVICE}-{version}-[0-9]+@kubernetesgateway"

    def version_of(self, service_name: str) -> str:
        """The version a Traefik service of this gateway serves."""
        if self.kind == "mse":
            return version_of_service(service_name)
        return gateway_api_version(service_name)


@dataclass
class Deployed:
    """A release program on one gateway, with its stack: a test edits ``release`` and applies it."""

    gateway: Target
    release: Release
    stack: Any
    path: str

    @property
    def url(self) -> str:
        return self.gateway.url(self.path)

    def apply(self, served: Mapping[str, int], **declared: Any) -> None:
        """Set ``policy`` and/or ``split`` as given, `pulumi up`, and wait until the gateway serves
        ``served``."""
        for name, value in declared.items():
            setattr(self.release, name, value)
        self.stack.up(**QUIET)
        self.gateway.wait_for_weights(self.path, served)


def target(request: pytest.FixtureRequest, kind: str) -> Target:
    """The rig's gateway of ``kind``, with what serves it started."""
    traefik: Traefik = request.getfixturevalue("traefik")
    if kind == "gateway-api":
        gateway = canary.GatewayApi(gateway=GATEWAY_NAME, namespace=GATEWAY_NAMESPACE)
        return Target(kind, gateway, traefik.web_url, traefik)
    request.getfixturevalue("mse_data_plane")
    emulator: EmulatorServer = request.getfixturevalue("emulator")
    gateway_id: str = request.getfixturevalue("gateway_id")
    gateway = canary.MseGateway(
        gateway_id=gateway_id, region="cn-hangzhou", endpoint=f"http://{emulator.endpoint}"
    )
    return Target(kind, gateway, traefik.mse_url, traefik, emulator, gateway_id)


def binomial_interval(trials: int, share: float, confidence: float = 0.999) -> tuple[int, int]:
    """The central ``confidence`` interval of a Binomial(trials, share) count, computed exactly."""
    if share in (0.0, 1.0):
        count = round(trials * share)
        return count, count
    tail = (1 - confidence) / 2

    def log_pmf(k: int) -> float:
        return (
            math.lgamma(trials + 1)
            - math.lgamma(k + 1)
            - math.lgamma(trials - k + 1)
            + k * math.log(share)
            + (trials - k) * math.log1p(-share)
        )

    cumulative, low, high = 0.0, None, trials
    for k in range(trials + 1):
        cumulative += math.exp(log_pmf(k))
        if low is None and cumulative >= tail:
            low = k
        if cumulative >= 1 - tail:
            high = k
            break
    return (low or 0), high


def assert_split(summary: Summary, declared: Mapping[str, int]) -> None:
    """No failure, and every version's count lies inside the 99.9% binomial interval of its declared share."""
    assert summary.errors == 0, summary
    assert set(summary.served) <= {version for version, weight in declared.items() if weight > 0}, summary
    for version, weight in declared.items():
        low, high = binomial_interval(summary.total, weight / 100)
        count = summary.served.get(version, 0)
        assert low <= count <= high, (
            f"{version}: {count} of {summary.total} at {weight}% (99.9%: {low}..{high})"
        )


def gateway_api_version(service_name: str) -> str:
    """The version of Traefik's service for a backendRef to the per-version Service ``<service>-<version>``
    (Traefik names it ``...-svc-<namespace>-<service>-<version>-<index>@kubernetesgateway``)."""
    after = service_name.split("@", 1)[0].rsplit(f"-{SERVICE}-", 1)[1]
    return after.rsplit("-", 1)[0]


def add_http_route(kube: Any, namespace: str, path: str, name: str = "legacy-demo") -> None:
    """An HTTPRoute made by hand before pulumi-canary, on the rig's Gateway: the whole Service."""
    from lightkube import codecs

    from pulumi_canary.drivers.gateway_api import http_route_resource

    http_route_resource()  # registers the kind with lightkube's codecs
    route = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "parentRefs": [{"name": GATEWAY_NAME, "namespace": GATEWAY_NAMESPACE}],
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": path}}],
                    "backendRefs": [{"name": SERVICE, "port": 80}],
                }
            ],
        },
    }
    kube.apply(codecs.from_dict(route), field_manager="platform-team")
