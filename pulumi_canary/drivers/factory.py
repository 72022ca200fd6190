"""Build the drivers of one operation from a spec and the stack configuration.

The gateway driver comes from the registry (``pulumi_canary.model.gateways``): each gateway names the
function that builds its driver, so nothing here branches on the kind.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import import_module
from typing import Protocol

from ..errors import ConfigurationError
from ..model import (
    CanaryPolicySpec,
    LiveRoute,
    Plan,
    RouteMatchSpec,
    RouteSnapshot,
    TrafficSplitSpec,
    gateway_model,
    touches_deployments,
)
from .context import DriverContext
from .executor import Executor, GatewayDriver, Outcome, read_live, with_deployments
from .workloads import ServiceTarget, Workloads

VersionedSpec = CanaryPolicySpec | TrafficSplitSpec


class DriverBuilder(Protocol):
    """What a gateway's ``driver`` entry names: ``open_driver(spec, context)``."""

    def __call__(self, spec: VersionedSpec, context: DriverContext) -> GatewayDriver: ...


@dataclass
class Session:
    """The drivers of one operation; built per call, never stored on a provider."""

    gateway: GatewayDriver
    target: ServiceTarget
    context: DriverContext

    @property
    def workloads(self) -> Workloads | None:
        """The same workloads the gateway's driver uses, if any; made on first use otherwise."""
        return self.context.workloads

    def read(
        self,
        match: RouteMatchSpec,
        route_id: str | None,
        versions: Iterable[str],
        *,
        owns_deployments: bool,
        readiness: bool = True,
    ) -> LiveRoute:
        """The live route; with the canary Deployments of ``versions`` when the policy owns any."""
        workloads = self.workloads if owns_deployments else None
        return read_live(self.gateway, workloads, self.target, match, route_id, versions, readiness=readiness)

    def with_deployments(
        self, live: LiveRoute, versions: Iterable[str], *, owns_deployments: bool
    ) -> LiveRoute:
        """``live`` (read already) plus the canary Deployments of ``versions`` when the policy owns any."""
        workloads = self.workloads if owns_deployments else None
        return with_deployments(live, workloads, self.target, versions)

    def run(
        self,
        plan: Plan,
        route_id: str | None,
        original: RouteSnapshot | None = None,
        *,
        deadline_seconds: int | None = None,
    ) -> Outcome:
        """Execute ``plan``; a rollout in it must reach its end within ``deadline_seconds``."""
        outcome = Outcome(route_id, original)
        # Only a plan that writes a Deployment builds the cluster's client (about 0.45 s on first use: an
        # MSE weight change needs none), and it builds it before the first step, so a broken kubeconfig
        # fails the operation before anything changed.
        workloads = self.workloads if touches_deployments(plan) else None
        return Executor(self.gateway, workloads, self.target, outcome, deadline_seconds).run(plan)


def open_session(spec: VersionedSpec, config: Mapping[str, str], owner: str) -> Session:
    context = DriverContext.of(config, owner)
    target = ServiceTarget(spec.service.namespace, spec.service.name, spec.label_key)
    return Session(gateway_driver(spec, context), target, context)


def gateway_driver(spec: VersionedSpec, context: DriverContext) -> GatewayDriver:
    gateway = gateway_model(spec.gateway.kind)
    if gateway is None:
        raise ConfigurationError(
            f"gateway kind {spec.gateway.kind!r} is not supported: no driver is registered"
        )
    module, _, function = gateway.driver.partition(":")
    builder: DriverBuilder = getattr(import_module(module), function)
    return builder(spec, context)
