"""The argument types users write in their programs. Each becomes a plain dict of (possibly unknown)
inputs; validation happens in the provider's ``check()``, where every problem is reported at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi


def _props(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


@dataclass(frozen=True)
class MseGateway:
    """An Alibaba Cloud MSE cloud-native gateway.

    ``MseGateway(gateway_id="gw-1a2b3c", region="cn-hangzhou")``; ``endpoint`` overrides the OpenAPI
    endpoint (``host[:port]``, ``http://`` for a local emulator).
    """

    gateway_id: pulumi.Input[str]
    region: pulumi.Input[str]
    endpoint: pulumi.Input[str] | None = None

    def to_props(self) -> dict[str, Any]:
        return _props(kind="mse", gateway_id=self.gateway_id, region=self.region, endpoint=self.endpoint)


@dataclass(frozen=True)
class GatewayApi:
    """A Kubernetes Gateway API ``Gateway`` the policy's HTTPRoute attaches to."""

    gateway: pulumi.Input[str]
    namespace: pulumi.Input[str] | None = None
    section_name: pulumi.Input[str] | None = None
    hostnames: pulumi.Input[list[str]] | None = None

    def to_props(self) -> dict[str, Any]:
        return _props(
            kind="gateway_api",
            gateway=self.gateway,
            namespace=self.namespace,
            section_name=self.section_name,
            hostnames=self.hostnames,
        )


@dataclass(frozen=True)
class Istio:
    """Istio: a VirtualService routing to the subsets of a DestinationRule."""

    hosts: pulumi.Input[list[str]]
    gateways: pulumi.Input[list[str]] | None = None

    def to_props(self) -> dict[str, Any]:
        return _props(kind="istio", hosts=self.hosts, gateways=self.gateways)


@dataclass(frozen=True)
class ServiceRef:
    """The Kubernetes Service whose pods carry the version label.

    ``ServiceRef(name="demo-service", namespace="default", port=80)``.
    """

    name: pulumi.Input[str]
    port: pulumi.Input[int]
    namespace: pulumi.Input[str] = "default"

    def to_props(self) -> dict[str, Any]:
        return _props(name=self.name, namespace=self.namespace, port=self.port)


@dataclass(frozen=True)
class RouteMatch:
    """Which requests the policy routes: ``RouteMatch(path="/demo")`` creates (or finds) a route by path;
    ``RouteMatch(name="existing-route")`` adopts an existing route and restores it on delete.

    ``path_type`` is ``prefix`` (default), ``exact`` or ``regex``. ``canary_headers`` sends requests that
    carry all these headers to the canary whatever the weights.
    """

    path: pulumi.Input[str] | None = None
    path_type: pulumi.Input[str] | None = None
    name: pulumi.Input[str] | None = None
    canary_headers: pulumi.Input[dict[str, str]] | None = field(default=None)

    def to_props(self) -> dict[str, Any]:
        return _props(
            path=self.path, path_type=self.path_type, name=self.name, canary_headers=self.canary_headers
        )


@dataclass(frozen=True)
class CanaryDeployment:
    """A canary Deployment the policy creates: a clone of the stable one with this image and replicas."""

    image: pulumi.Input[str]
    replicas: pulumi.Input[int] = 1

    def to_props(self) -> dict[str, Any]:
        return _props(image=self.image, replicas=self.replicas)
