"""Pick the driver for a spec's gateway kind and build it from the stack configuration."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from ..errors import PreconditionError
from ..model import CanaryPolicySpec, GatewayApiSpec, IstioSpec, MseGatewaySpec, TrafficSplitSpec
from .executor import GatewayDriver
from .kube import KubeAccess
from .workloads import ServiceTarget, Workloads

if TYPE_CHECKING:
    from .k8s_routes import RouteIntent


@dataclass
class Session:
    """The drivers of one operation; built per call, never stored on a provider."""

    gateway: GatewayDriver
    target: ServiceTarget
    kube: KubeAccess
    owner: str

    @cached_property
    def workloads(self) -> Workloads | None:
        """Made on first use: many operations never touch the cluster's workloads (no client is built)."""
        if not (self.kube.path or self.kube.content):
            return None
        return Workloads(self.kube.client(), self.owner)


def open_session(spec: CanaryPolicySpec | TrafficSplitSpec, config: Mapping[str, str], owner: str) -> Session:
    target = ServiceTarget(spec.service.namespace, spec.service.name, spec.label_key)
    return Session(gateway_driver(spec, config, owner), target, KubeAccess.resolve(config), owner)


def gateway_driver(
    spec: CanaryPolicySpec | TrafficSplitSpec, config: Mapping[str, str], owner: str
) -> GatewayDriver:
    if isinstance(spec.gateway, MseGatewaySpec):
        from .credentials import AlibabaCredentials
        from .mse import MseDriver

        credentials = AlibabaCredentials.resolve(config)
        return MseDriver(
            spec.gateway,
            spec.service,
            credentials,
            owner,
            spec.canary_version,
            bool(spec.route.canary_headers),
        )
    if isinstance(spec.gateway, GatewayApiSpec):
        from .gateway_api import GatewayApiDriver

        return GatewayApiDriver(KubeAccess.resolve(config).client(), spec.gateway, route_intent(spec, owner))
    if isinstance(spec.gateway, IstioSpec):
        from .istio import IstioDriver

        return IstioDriver(KubeAccess.resolve(config).client(), spec.gateway, route_intent(spec, owner))
    raise PreconditionError(f"gateway kind {spec.gateway.kind!r} is not supported")


def route_intent(spec: CanaryPolicySpec | TrafficSplitSpec, owner: str) -> RouteIntent:
    from .k8s_routes import RouteIntent

    return RouteIntent(spec.service, spec.label_key, spec.canary_version, spec.route, owner)
