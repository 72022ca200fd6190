"""Pick the driver for a spec's gateway kind and build it from the stack configuration."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import PreconditionError
from ..model import CanaryPolicySpec, MseGatewaySpec, TrafficSplitSpec
from .executor import GatewayDriver
from .kube import KubeAccess
from .workloads import ServiceTarget, Workloads


@dataclass
class Session:
    """The drivers of one operation; built per call, never stored on a provider."""

    gateway: GatewayDriver
    workloads: Workloads | None
    target: ServiceTarget


def open_session(spec: CanaryPolicySpec | TrafficSplitSpec, config: Mapping[str, str], owner: str) -> Session:
    target = ServiceTarget(spec.service.namespace, spec.service.name, spec.label_key)
    kube = KubeAccess.resolve(config)
    workloads = Workloads(kube.client(), owner) if kube.path or kube.content else None
    return Session(gateway_driver(spec, config, owner), workloads, target)


def gateway_driver(
    spec: CanaryPolicySpec | TrafficSplitSpec, config: Mapping[str, str], owner: str
) -> GatewayDriver:
    if isinstance(spec.gateway, MseGatewaySpec):
        from .credentials import AlibabaCredentials
        from .mse import MseDriver

        return MseDriver(spec.gateway, spec.service, AlibabaCredentials.resolve(config), owner)
    raise PreconditionError(f"gateway kind {spec.gateway.kind!r} is not supported yet; use canary.MseGateway")
