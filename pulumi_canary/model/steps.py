"""The steps of a plan: plain values a driver executes in order, and that preview can print.

Every step is idempotent by contract: executing it again after it succeeded (a retried ``pulumi up``)
changes nothing, and removing something already gone succeeds. Steps do not carry the route id when
the route may not exist yet: the driver keeps the current route id while it executes a plan.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass

from .analysis import AnalysisSpec, WebhookSpec
from .live import RouteSnapshot
from .specs import CanaryDeploymentSpec, RouteMatchSpec

__all__ = [
    "AdoptRoute",
    "Analyze",
    "ApplyCanaryDeployment",
    "Confirm",
    "CreateRoute",
    "DeleteCanaryDeployment",
    "DeleteRoute",
    "Drain",
    "EnsureVersion",
    "Pause",
    "Plan",
    "ReleaseCanaryDeployment",
    "ReleaseRoute",
    "RemoveVersion",
    "RestoreRoute",
    "ScaleCanary",
    "SetWeights",
    "Step",
    "UpdateRoute",
    "WaitReady",
    "weights_after",
]


def _percentages(weights: Mapping[str, int]) -> str:
    return ", ".join(f"{version}={percent}%" for version, percent in weights.items())


def _match(match: RouteMatchSpec) -> str:
    parts = [f"{match.path_type} {match.path}"] if match.path is not None else []
    if match.name is not None:
        parts.append(f"named {match.name!r}")
    if match.canary_headers:
        parts.append("canary headers " + ", ".join(f"{k}: {v}" for k, v in match.canary_headers.items()))
    return ", ".join(parts)


@dataclass(frozen=True)
class Step(ABC):
    """One change to the gateway or the cluster."""

    @abstractmethod
    def describe(self) -> str:
        """One line for preview output and logs."""


@dataclass(frozen=True)
class DeploymentStep(Step):
    """A step that writes a policy-owned Deployment: only these need the cluster's client."""


@dataclass(frozen=True)
class CreateRoute(Step):
    """Create the route with these initial weights (its versions exist already); mark it as ours."""

    match: RouteMatchSpec
    weights: Mapping[str, int]

    def describe(self) -> str:
        return f"create route ({_match(self.match)}) with {_percentages(self.weights)}"


@dataclass(frozen=True)
class AdoptRoute(Step):
    """Take over an existing route: snapshot it for restore (a RouteSnapshot in the outputs), mark it ours,
    and make its match equal to ``match`` where ``match`` says something (a path, canary headers)."""

    route_id: str
    match: RouteMatchSpec

    def describe(self) -> str:
        return f"adopt route {self.route_id} ({_match(self.match)}), keeping a copy to restore on delete"


@dataclass(frozen=True)
class UpdateRoute(Step):
    """Change the route's match (path, path type, canary headers); its weights stay as they are."""

    route_id: str
    match: RouteMatchSpec

    def describe(self) -> str:
        return f"update route {self.route_id} to match {_match(self.match)}"


@dataclass(frozen=True)
class EnsureVersion(Step):
    """Define version ``name`` as the pods carrying ``labels`` (create it, or correct its labels)."""

    name: str
    labels: Mapping[str, str]

    def describe(self) -> str:
        selector = ", ".join(f"{key}={value}" for key, value in self.labels.items())
        return f"define version {self.name} as pods with {selector}"


@dataclass(frozen=True)
class WaitReady(Step):
    """Wait until ``version`` has at least ``minimum`` ready endpoints; after ``timeout_seconds`` fail
    with ``NotReadyError`` naming the version and its ready count (the plan stops there)."""

    version: str
    minimum: int
    timeout_seconds: int

    def describe(self) -> str:
        needed = f"{self.minimum}+ ready endpoint(s)"
        return f"wait up to {self.timeout_seconds}s for {needed} of version {self.version}"


@dataclass(frozen=True)
class Pause(Step):
    """Hold a rollout step: ``version`` keeps ``percent`` of the traffic for ``seconds`` before the next."""

    version: str
    percent: int
    seconds: int

    def describe(self) -> str:
        return f"hold version {self.version} at {self.percent}% for {self.seconds}s"


@dataclass(frozen=True)
class Confirm(Step):
    """Ask ``webhooks`` before the canary ``version`` rises from ``current`` to ``percent``; go on once
    every one answers 2xx, asking again until the rollout's deadline (then ``RolloutDeadlineError`` at
    ``current``, where the route stands). ``names`` go in the request, as they fill an analysis' queries."""

    version: str
    current: int
    percent: int
    webhooks: tuple[WebhookSpec, ...]
    names: Mapping[str, str]

    def describe(self) -> str:
        hooks = ", ".join(hook.name for hook in self.webhooks)
        return f"ask {hooks} before version {self.version} rises to {self.percent}%"


@dataclass(frozen=True)
class Analyze(Step):
    """Measure the canary ``version`` at ``percent`` against ``analysis``; a failure stops the plan with
    ``AnalysisFailedError`` (the caller then sends the traffic back). ``names`` fill the queries'
    ``{{canary}}``, ``{{stable}}``, ``{{service}}`` and ``{{namespace}}``."""

    version: str
    percent: int
    analysis: AnalysisSpec
    names: Mapping[str, str]

    def describe(self) -> str:
        metrics = ", ".join(metric.name for metric in self.analysis.metrics)
        every = f" every {self.analysis.interval_seconds}s" if self.analysis.count > 1 else ""
        return (
            f"analyse version {self.version} at {self.percent}%: {self.analysis.count} measurement(s) of "
            f"{metrics}{every}"
        )


@dataclass(frozen=True)
class SetWeights(Step):
    """Make the route's version percentages exactly ``weights`` (summing to 100); versions not listed
    are taken off the route."""

    weights: Mapping[str, int]

    def describe(self) -> str:
        return f"set weights {_percentages(self.weights)}"


@dataclass(frozen=True)
class ScaleCanary(DeploymentStep):
    """Set the replicas of the policy-owned canary Deployment of ``version`` (its replicas follow the
    canary's share): before a rise, so that the pods are ready for it, or after a fall and its drain."""

    version: str
    replicas: int

    def describe(self) -> str:
        return f"scale the Deployment of version {self.version} to {self.replicas} replica(s)"


@dataclass(frozen=True)
class Drain(Step):
    """Wait ``seconds`` after taking traffic off ``versions`` and before removing their pods or their
    version: a gateway applies a route change some time after accepting it, and requests already on
    their way still reach the old targets."""

    versions: tuple[str, ...]
    seconds: int

    def describe(self) -> str:
        return f"wait {self.seconds}s for the gateway to stop sending requests to {', '.join(self.versions)}"


@dataclass(frozen=True)
class RemoveVersion(Step):
    """Delete version ``name`` (no route of this policy references it any more). Drivers leave it alone
    when a route outside this policy still uses it (MSE versions are shared by all routes of a service)."""

    name: str

    def describe(self) -> str:
        return f"remove version {self.name}"


@dataclass(frozen=True)
class ApplyCanaryDeployment(DeploymentStep):
    """Create or update the policy-owned Deployment of ``version``: a clone of the Deployment of
    ``source_version`` (found through the Service selector plus its label), carrying ``labels``, with the
    image and replicas of ``deployment``. Its name is ``naming.version_object_name(service, version)``."""

    deployment: CanaryDeploymentSpec
    version: str
    source_version: str
    labels: Mapping[str, str]

    def describe(self) -> str:
        return (
            f"apply canary Deployment for version {self.version}: image {self.deployment.image}, "
            f"{self.deployment.replicas} replica(s), cloned from version {self.source_version}"
        )


@dataclass(frozen=True)
class DeleteCanaryDeployment(DeploymentStep):
    """Delete the policy-owned Deployment of ``version`` (it no longer receives traffic)."""

    version: str

    def describe(self) -> str:
        return f"delete the canary Deployment of version {self.version}"


@dataclass(frozen=True)
class ReleaseCanaryDeployment(DeploymentStep):
    """Stop owning the Deployment of ``version`` but leave it running: it serves the stable version."""

    version: str

    def describe(self) -> str:
        return f"release the Deployment of version {self.version} (it serves stable traffic; left running)"


@dataclass(frozen=True)
class RestoreRoute(Step):
    """Put an adopted route back exactly as the snapshot says and drop our ownership marker."""

    original: RouteSnapshot

    def describe(self) -> str:
        return f"restore route {self.original.route_id} as it was before it was adopted"


@dataclass(frozen=True)
class ReleaseRoute(Step):
    """Drop our ownership marker from an adopted route that cannot be restored; it keeps its weights."""

    route_id: str

    def describe(self) -> str:
        return (
            f"release route {self.route_id}, leaving it on the stable version (its original target is gone)"
        )


@dataclass(frozen=True)
class DeleteRoute(Step):
    """Delete the route this policy created."""

    route_id: str

    def describe(self) -> str:
        return f"delete route {self.route_id}"


Plan = tuple[Step, ...]
"""The ordered steps that take the live state to the desired state; empty when nothing is to be done."""


def touches_deployments(plan: Plan) -> bool:
    """Whether a step of ``plan`` writes a canary Deployment (so it needs the cluster)."""
    return any(isinstance(step, DeploymentStep) for step in plan)


def weights_after(plan: Plan, weights: Mapping[str, int]) -> dict[str, int]:
    """The route's weights once ``plan`` has run from ``weights``: the last it writes, or none once the
    route is deleted, restored or released."""
    result = dict(weights)
    for step in plan:
        if isinstance(step, SetWeights | CreateRoute):
            result = dict(step.weights)
        elif isinstance(step, DeleteRoute | RestoreRoute | ReleaseRoute):
            result = {}
    return result
