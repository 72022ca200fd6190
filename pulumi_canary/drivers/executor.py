"""Run a plan: each step goes to the gateway driver or to the workloads driver, in order.

The planner (pure) decides what to do; this module only does it. A plan stops at the first error, and
every step is idempotent, so the next ``pulumi up`` re-reads the live state and continues from there.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from itertools import groupby
from typing import Protocol

from ..errors import ConfigurationError, PreconditionError
from ..model import (
    AdoptRoute,
    Analyze,
    ApplyCanaryDeployment,
    CreateRoute,
    DeleteCanaryDeployment,
    DeleteRoute,
    Drain,
    EnsureVersion,
    LiveDeployment,
    LiveRoute,
    Pause,
    Plan,
    ReleaseCanaryDeployment,
    ReleaseRoute,
    RemoveVersion,
    RestoreRoute,
    RouteMatchSpec,
    RouteSnapshot,
    SetWeights,
    Step,
    UpdateRoute,
    WaitReady,
)
from .analysis import run_analysis
from .workloads import ServiceTarget, Workloads


class GatewayDriver(Protocol):
    """What every gateway driver offers the executor; each method is idempotent."""

    def live(self, match: RouteMatchSpec, route_id: str | None, *, readiness: bool = True) -> LiveRoute:
        """``readiness=False``: the caller's plan does not look at ready endpoints (a wait reads them
        itself), so a driver that pays extra reads for them may leave ``ready_endpoints`` empty."""
        ...

    def missing_gateways(self) -> list[tuple[str, str]]:
        """``(field of the gateway spec, why)`` for each gateway the spec names that does not exist."""
        ...

    def create_route(self, match: RouteMatchSpec, weights: Mapping[str, int]) -> str: ...
    def adopt_route(self, route_id: str, match: RouteMatchSpec) -> RouteSnapshot: ...
    def update_route(self, route_id: str, match: RouteMatchSpec) -> None: ...
    def ensure_versions(self, versions: Mapping[str, Mapping[str, str]]) -> None: ...
    def remove_version(self, name: str) -> None: ...
    def set_weights(self, route_id: str, weights: Mapping[str, int]) -> None: ...
    def wait_ready(self, version: str, minimum: int, timeout_seconds: float) -> int: ...
    def restore_route(self, original: RouteSnapshot) -> None: ...
    def release_route(self, route_id: str) -> None: ...
    def delete_route(self, route_id: str) -> None: ...


@dataclass
class Outcome:
    """What a plan left behind that the resource keeps in its outputs."""

    route_id: str | None
    original: RouteSnapshot | None


def read_live(
    gateway: GatewayDriver,
    workloads: Workloads | None,
    target: ServiceTarget,
    match: RouteMatchSpec,
    route_id: str | None,
    versions: Iterable[str],
    *,
    readiness: bool = True,
) -> LiveRoute:
    """The gateway's view, plus the canary Deployments this owner has for ``versions``."""
    live = gateway.live(match, route_id, readiness=readiness)
    if workloads is None:
        return live
    deployments: dict[str, LiveDeployment] = {}
    for version in sorted(set(versions) | set(live.versions)):
        owned = workloads.owned_canary(target, version)
        if owned is not None:
            deployments[version] = LiveDeployment(image=owned[0], replicas=owned[1])
    return replace(live, deployments=deployments)  # keeps everything else, the restore copy included


def progress(line: str) -> None:
    """One line of progress while ``pulumi up`` runs: the engine shows a provider's stderr, live in its
    progress view and again under Diagnostics (the dynamic provider has no other channel to it)."""
    print(f"pulumi-canary: {line}", file=sys.stderr, flush=True)


class Executor:
    """Executes the steps of one plan against one gateway and (when needed) one cluster."""

    def __init__(
        self, gateway: GatewayDriver, workloads: Workloads | None, target: ServiceTarget, outcome: Outcome
    ) -> None:
        self.gateway = gateway
        self.workloads = workloads
        self.target = target
        self.outcome = outcome
        self.rollout = False

    def run(self, plan: Plan) -> Outcome:
        # A rollout (steps held or measured) reports each move; a single move needs no commentary.
        self.rollout = any(isinstance(step, Pause | Analyze) for step in plan)
        # Consecutive version definitions go to the driver together: it reads what is defined once.
        for defines, steps in groupby(plan, key=lambda step: isinstance(step, EnsureVersion)):
            if defines:
                self.gateway.ensure_versions(
                    {step.name: step.labels for step in steps if isinstance(step, EnsureVersion)}
                )
            else:
                for step in steps:
                    self._execute(step)
        return self.outcome

    def _execute(self, step: Step) -> None:
        """One step; version definitions never come here (``run`` hands them to the driver together)."""
        match step:
            case CreateRoute(match=match, weights=weights):
                self.outcome.route_id = self.gateway.create_route(match, weights)
            case AdoptRoute(route_id=route_id, match=match):
                self.outcome.original = self.gateway.adopt_route(route_id, match)
                self.outcome.route_id = route_id
            case UpdateRoute(route_id=route_id, match=match):
                self.gateway.update_route(route_id, match)
            case WaitReady(version=version, minimum=minimum, timeout_seconds=timeout):
                self.gateway.wait_ready(version, minimum, timeout)
            case SetWeights(weights=weights):
                self.gateway.set_weights(self._route_id(), weights)
                if self.rollout:
                    progress(step.describe())
            case Pause(seconds=seconds):
                progress(step.describe())
                time.sleep(seconds)
            case Drain(seconds=seconds):
                time.sleep(seconds)
            case Analyze(version=version, percent=percent):
                progress(step.describe())
                progress(f"analysis of version {version} at {percent}% passed: {run_analysis(step)}")
            case RemoveVersion(name=name):
                self.gateway.remove_version(name)
            case ApplyCanaryDeployment(
                deployment=deployment, version=version, source_version=source, labels=labels
            ):
                self._workloads().apply_canary(
                    self.target, version, source, deployment.image, deployment.replicas, labels
                )
            case DeleteCanaryDeployment(version=version):
                self._workloads().delete_canary(self.target, version)
            case ReleaseCanaryDeployment(version=version):
                self._workloads().release_canary(self.target, version)
            case RestoreRoute(original=original):
                self.gateway.restore_route(original)
                self.outcome.route_id, self.outcome.original = None, None
            case ReleaseRoute(route_id=route_id):
                self.gateway.release_route(route_id)
                self.outcome.route_id, self.outcome.original = None, None
            case DeleteRoute(route_id=route_id):
                self.gateway.delete_route(route_id)
                self.outcome.route_id = None
            case _:
                raise AssertionError(f"no driver executes {type(step).__name__}")

    def _route_id(self) -> str:
        if self.outcome.route_id is None:
            raise PreconditionError(
                "the policy's route does not exist: run `pulumi refresh`, then `pulumi up`"
            )
        return self.outcome.route_id

    def _workloads(self) -> Workloads:
        if self.workloads is None:
            raise ConfigurationError(
                "canary_deployment needs access to the Kubernetes cluster: set KUBECONFIG or the Pulumi "
                "config key kubernetes:kubeconfig"
            )
        return self.workloads
