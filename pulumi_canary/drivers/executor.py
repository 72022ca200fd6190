"""Run a plan: each step goes to the gateway driver or to the workloads driver, in order.

The planner (pure) decides what to do; this module only does it. A plan stops at the first error, and
every step is idempotent, so the next ``pulumi up`` re-reads the live state and continues from there.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from itertools import groupby
from typing import Protocol

from ..errors import ConfigurationError, PreconditionError, RolloutDeadlineError
from ..model import (
    AdoptRoute,
    Analyze,
    ApplyCanaryDeployment,
    Confirm,
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
    RolloutRecord,
    RouteMatchSpec,
    RouteSnapshot,
    ScaleCanary,
    SetWeights,
    Step,
    UpdateRoute,
    WaitReady,
)
from .analysis import run_analysis
from .webhooks import confirm
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

    def record_rollout(self, route_id: str, record: RolloutRecord) -> None:
        """Keep ``record`` with the route (read back as ``LiveRoute.rollout``), weights unchanged."""
        ...


@dataclass
class Outcome:
    """What a plan left behind that the resource keeps in its outputs."""

    route_id: str | None
    original: RouteSnapshot | None
    last_analysis: str = ""
    """What the plan's last analysis measured (``error-rate 0, 0.002 (max 0.05)``), if it had one."""


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
    return with_deployments(gateway.live(match, route_id, readiness=readiness), workloads, target, versions)


def with_deployments(
    live: LiveRoute, workloads: Workloads | None, target: ServiceTarget, versions: Iterable[str]
) -> LiveRoute:
    """``live`` plus the canary Deployments this owner has for ``versions`` (none without ``workloads``)."""
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


class RolloutClock:
    """The progress deadline of one rollout: every wait of the rollout goes through :meth:`sleep`, which
    raises ``RolloutDeadlineError`` instead of sleeping past it (the caller then sends the traffic back)."""

    def __init__(self, seconds: int, now: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.now = now
        self.ends = now() + seconds

    def remaining(self) -> float:
        return max(0.0, self.ends - self.now())

    def sleep(self, seconds: float, version: str, percent: int, waiting_for: str) -> None:
        left = self.remaining()
        if seconds <= left:
            time.sleep(seconds)
            return
        time.sleep(left)
        raise RolloutDeadlineError(
            version,
            percent,
            f"it did not reach its target within progress_deadline_seconds={self.seconds} "
            f"({waiting_for}): raise progress_deadline_seconds, or shorten the pauses and analyses",
        )


class Executor:
    """Executes the steps of one plan against one gateway and (when needed) one cluster."""

    def __init__(
        self,
        gateway: GatewayDriver,
        workloads: Workloads | None,
        target: ServiceTarget,
        outcome: Outcome,
        deadline_seconds: int | None = None,
    ) -> None:
        self.gateway = gateway
        self.workloads = workloads
        self.target = target
        self.outcome = outcome
        self.deadline_seconds = deadline_seconds
        self.clock: RolloutClock | None = None

    def run(self, plan: Plan) -> Outcome:
        # A rollout (steps confirmed, held or measured) reports each move and keeps to its deadline; a
        # single move needs neither.
        if any(isinstance(step, Confirm | Pause | Analyze) for step in plan) and self.deadline_seconds:
            self.clock = RolloutClock(self.deadline_seconds)
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
                if self.clock is not None:  # pods slow to get ready use up the rollout's time too
                    timeout = min(timeout, int(self.clock.remaining()))
                self.gateway.wait_ready(version, minimum, timeout)
            case SetWeights(weights=weights):
                self.gateway.set_weights(self._route_id(), weights)
                if self.clock is not None:
                    progress(step.describe())
            case Confirm(version=version, current=current):
                progress(step.describe())
                confirm(step, self._rollout_sleep(version, current), progress)
            case Pause(version=version, percent=percent, seconds=seconds):
                progress(step.describe())
                self._rollout_sleep(version, percent)(seconds, f"holding {percent}% for {seconds}s")
            case Drain(seconds=seconds):
                time.sleep(seconds)
            case Analyze(version=version, percent=percent):
                progress(step.describe())
                measured = run_analysis(step, lambda s: self._rollout_sleep(version, percent)(s, "analysing"))
                self.outcome.last_analysis = measured
                progress(f"analysis of version {version} at {percent}% passed: {measured}")
            case RemoveVersion(name=name):
                self.gateway.remove_version(name)
            case ApplyCanaryDeployment(
                deployment=deployment, version=version, source_version=source, labels=labels
            ):
                self._workloads().apply_canary(
                    self.target, version, source, deployment.image, deployment.replicas, labels
                )
            case ScaleCanary(version=version, replicas=replicas):
                self._workloads().scale_canary(self.target, version, replicas)
                if self.clock is not None:
                    progress(step.describe())
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

    def _rollout_sleep(self, version: str, percent: int) -> Callable[[float, str], None]:
        """A sleep of the rollout at ``version``'s ``percent``, which ends at the progress deadline."""
        clock = self.clock
        if clock is None:
            return lambda seconds, _waiting_for: time.sleep(seconds)
        return lambda seconds, waiting_for: clock.sleep(seconds, version, percent, waiting_for)

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
