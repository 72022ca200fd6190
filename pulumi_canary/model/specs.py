"""The typed, frozen desired state of CanaryPolicy and TrafficSplit, parsed once from the props dict.

Keys are snake_case exactly as in the Python API (``canary.ServiceRef(name=..., port=...)`` becomes
``{"name": ..., "port": ...}``). The field types and the base class are in ``fields.py``; each gateway's
spec is in its module under ``gateways/``.

Build specs from props with :func:`pulumi_canary.model.parse_policy` / ``parse_split``, which turn every
problem into a readable ``Failure``; constructing a model directly raises pydantic's ``ValidationError``.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, model_validator

from . import rules
from ._text import Problem
from .analysis import AnalysisSpec, WebhookSpec
from .fields import (
    WHOLE_NUMBER,
    HeaderName,
    HeaderValue,
    LabelKey,
    Namespace,
    Percent,
    Port,
    Replicas,
    ServiceName,
    SpecModel,
    TimeoutSeconds,
    Version,
    between,
    checked,
    list_to_tuple,
    word_problem,
)
from .gateways import GatewaySpec

__all__ = [
    "DEFAULT_DRAIN_SECONDS",
    "DEFAULT_PROGRESS_DEADLINE_SECONDS",
    "CanaryDeploymentSpec",
    "CanaryPolicySpec",
    "PathType",
    "RouteMatchSpec",
    "ServiceRefSpec",
    "SpecError",
    "TrafficSplitSpec",
]

PathType = Literal["prefix", "exact", "regex"]

# Longer than the few seconds gateways take to apply a route change (Traefik gathers changes for 2 s).
DEFAULT_DRAIN_SECONDS = 5
DEFAULT_PROGRESS_DEADLINE_SECONDS = 600  # as in Argo Rollouts and Flagger


class SpecError(ValueError):
    """Raised inside a model validator: carries every problem with its path relative to that model."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(reason for _, reason in self.problems))


RouteName = Annotated[str, checked(word_problem("route name", 253, "demo-route"))]


class ServiceRefSpec(SpecModel):
    """The Kubernetes Service whose pods the versions select (``canary.ServiceRef``).

    Example: ``{"name": "demo-service", "namespace": "default", "port": 80}``.
    """

    name: ServiceName
    namespace: Namespace = "default"
    port: Port
    """The Service port the route sends traffic to."""


class RouteMatchSpec(SpecModel):
    """Which requests the policy routes (``canary.RouteMatch``): create a route, or adopt one by name.

    ``path`` alone finds a route with that path, or creates one. ``name`` alone adopts the existing route
    (MSE route, HTTPRoute or VirtualService) of that name as it is. Both: adopt ``name`` and match ``path``.
    ``canary_headers`` sends requests carrying all these headers (exact values) to the canary whatever the
    weights. Example: ``{"path": "/demo", "path_type": "prefix", "canary_headers": {"x-canary": "always"}}``.
    """

    path: str | None = None
    path_type: PathType = "prefix"
    name: RouteName | None = None
    canary_headers: dict[HeaderName, HeaderValue] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> RouteMatchSpec:
        problems = rules.route_problems(self.model_dump())
        if problems:
            raise SpecError(problems)
        return self


class CanaryDeploymentSpec(SpecModel):
    """A canary Deployment the policy creates and owns (``canary.CanaryDeployment``).

    It is a clone of the stable Deployment with the canary label value, this image and these replicas.
    Example: ``{"image": "demo:2.0", "replicas": 1}``.
    """

    image: Annotated[str, checked(word_problem("container image", 4096, "registry.example.com/demo:2.0"))]
    replicas: Replicas = 1
    match_traffic_weight: bool = False
    """The replicas follow the canary's share, as Argo Rollouts' ``setCanaryScale.matchTrafficWeight``:
    ``ceil(stable replicas * weight / 100)``, at least ``replicas``. The TrafficSplit scales them up (and
    waits for them) before the share rises, and down only after it falls."""


class _VersionedSpec(SpecModel):
    """What a CanaryPolicy and a TrafficSplit share: where the route is and which versions it splits."""

    gateway: GatewaySpec
    service: ServiceRefSpec
    route: RouteMatchSpec
    label_key: LabelKey
    """The pod label that carries the version, e.g. ``version`` or ``app.kubernetes.io/version``."""
    stable_version: Version
    canary_version: Version
    readiness_timeout_seconds: TimeoutSeconds = 300
    """How long to wait for a version's ready endpoints before giving it traffic (0: check once)."""
    allow_unready: bool = False
    """Give traffic to versions without ready endpoints instead of waiting (unsafe; off by default)."""
    drain_seconds: TimeoutSeconds = DEFAULT_DRAIN_SECONDS
    """How long to wait after taking traffic off a version before removing its pods or its version, so
    that the gateway has applied the change and requests on their way have been answered."""

    def version_labels(self, version: str) -> dict[str, str]:
        """The pod labels that select ``version``: ``{label_key: version}``."""
        return {self.label_key: version}

    @property
    def versions(self) -> tuple[str, str]:
        """``(stable_version, canary_version)``."""
        return (self.stable_version, self.canary_version)


class CanaryPolicySpec(_VersionedSpec):
    """The desired state of a ``CanaryPolicy``: a route split between a stable and a canary version.

    Example::

        {"gateway": {"kind": "mse", "gateway_id": "gw-1", "region": "cn-hangzhou"},
         "service": {"name": "demo-service", "port": 80}, "route": {"path": "/demo"},
         "label_key": "version", "stable_version": "v1", "canary_version": "v2"}
    """

    canary_deployment: CanaryDeploymentSpec | None = None

    @model_validator(mode="after")
    def _consistent(self) -> CanaryPolicySpec:
        problems = rules.policy_problems(self.model_dump())
        if problems:
            raise SpecError(problems)
        return self


class RolloutStepSpec(SpecModel):
    """One waypoint of a rollout: the canary's percentage, held ``pause_seconds`` before the next one.

    Example: ``{"weight": 10, "pause_seconds": 60}``.
    """

    weight: Percent
    pause_seconds: TimeoutSeconds = 0


class TrafficSplitSpec(_VersionedSpec):
    """The desired state of a ``TrafficSplit``: integer percentages for the policy's two versions.

    It carries the policy's outputs it needs (gateway, service, route, label key and versions) so its
    driver never has to read the policy. Give exactly one of ``weights`` and ``canary_weight``.
    Example: ``{..., "policy": "demo", "weights": {"v1": 90, "v2": 10}}``.
    """

    policy: Annotated[str, checked(word_problem("policy id", 1024, "demo"))]
    """The CanaryPolicy this split belongs to (its resource id); changing it replaces the split."""
    route_id: Annotated[str, checked(word_problem("route id", 256, "rt-1234"))] | None = None
    """The route id from the policy's outputs; None lets the driver find the route by ``route``."""
    weights: dict[str, Percent] | None = None
    canary_weight: Percent | None = None
    """Shorthand: the canary's percentage; the stable version gets the rest."""
    steps: Annotated[tuple[RolloutStepSpec, ...], BeforeValidator(list_to_tuple)] = ()
    """When the canary's share rises, the waypoints it passes on the way to its target, in rising order;
    those at or above the target, or below the current share, are not walked."""
    analysis: AnalysisSpec | None = None
    """Measured at every step of a rise and at its target; a failure sends the canary's share back to
    where the rise began and fails the update."""
    webhooks: Annotated[tuple[WebhookSpec, ...], BeforeValidator(list_to_tuple)] = ()
    """Gates asked before each rise of a rollout: the share rises once every one answers 2xx."""
    progress_deadline_seconds: Annotated[int, WHOLE_NUMBER, between(1, 86_400)] = (
        DEFAULT_PROGRESS_DEADLINE_SECONDS
    )
    """How long a rollout may take from its first move to its target; past it, it fails as an analysis
    does (the share goes back)."""
    canary_min_replicas: Replicas | None = None
    """Set from the policy when its canary Deployment's replicas follow the weight: the fewest it keeps."""
    retry: Annotated[int, WHOLE_NUMBER, between(0, 1_000_000)] = 0
    """A failed rollout is not walked again by the next ``up`` with the same target: raising ``retry``
    says to walk it anew."""

    @model_validator(mode="after")
    def _consistent(self) -> TrafficSplitSpec:
        problems = rules.split_problems(self.model_dump())
        if problems:
            raise SpecError(problems)
        return self

    def waypoints(self, current_canary: int, *, resumed: bool = True) -> list[RolloutStepSpec]:
        """The steps a rise of the canary from ``current_canary`` to its target passes (none when the
        canary's share falls: a rollback is immediate). When the walk is ``resumed``, the step the route
        already stands at comes first: its hold and analysis may have been cut short, so they are done
        again."""
        target = self.resolved_weights()[self.canary_version]
        return [
            step
            for step in self.steps
            if current_canary < step.weight < target or (resumed and step.weight == current_canary < target)
        ]

    @property
    def is_rollout(self) -> bool:
        """Whether a rise of the canary's share is more than one move (steps, analysis or webhooks)."""
        return bool(self.steps or self.analysis or self.webhooks)

    def canary_replicas(self, stable_replicas: int, percent: int) -> int | None:
        """The canary Deployment's replicas at ``percent`` when they follow the weight, else None."""
        if self.canary_min_replicas is None:
            return None
        return max(self.canary_min_replicas, math.ceil(stable_replicas * percent / 100))

    def resolved_weights(self) -> dict[str, int]:
        """The percentages per version, stable first: ``weights`` as given, or ``canary_weight`` expanded."""
        if self.weights is not None:
            return {version: self.weights[version] for version in self.versions}
        canary = self.canary_weight or 0
        return {self.stable_version: 100 - canary, self.canary_version: canary}
