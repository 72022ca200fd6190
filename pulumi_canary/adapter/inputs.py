"""The argument types users write in their programs, besides the gateways (each gateway's argument class
lives in its module under ``model/gateways/``). Each becomes a plain dict of (possibly unknown) inputs;
validation happens in the provider's ``check()``, where every problem is reported at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi

from ..model.gateway_arguments import present


@dataclass(frozen=True)
class ServiceRef:
    """The Kubernetes Service whose pods carry the version label.

    ``ServiceRef(name="demo-service", namespace="default", port=80)``.
    """

    name: pulumi.Input[str]
    port: pulumi.Input[int]
    namespace: pulumi.Input[str] = "default"

    def to_props(self) -> dict[str, Any]:
        return present(name=self.name, namespace=self.namespace, port=self.port)


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
        return present(
            path=self.path, path_type=self.path_type, name=self.name, canary_headers=self.canary_headers
        )


@dataclass(frozen=True)
class CanaryDeployment:
    """A canary Deployment the policy creates: a clone of the stable one with this image and replicas.

    ``match_traffic_weight=True`` makes its replicas follow the canary's share, as Argo Rollouts'
    ``setCanaryScale.matchTrafficWeight``: ``ceil(stable replicas * weight / 100)``, at least
    ``replicas``; the TrafficSplit scales them up (and waits for them) before the share rises, and down
    only after it falls."""

    image: pulumi.Input[str]
    replicas: pulumi.Input[int] = 1
    match_traffic_weight: bool = False

    def to_props(self) -> dict[str, Any]:
        return present(
            image=self.image,
            replicas=self.replicas,
            match_traffic_weight=self.match_traffic_weight or None,
        )


@dataclass(frozen=True)
class Step:
    """A rollout step of a ``TrafficSplit``: when the canary's share rises past ``weight`` percent, it
    stops there (once its pods are ready) and holds for ``pause_seconds`` before going on."""

    weight: pulumi.Input[int]
    pause_seconds: pulumi.Input[int] | None = None

    def to_props(self) -> dict[str, Any]:
        return present(weight=self.weight, pause_seconds=self.pause_seconds)


@dataclass(frozen=True)
class Metric:
    """A metric of an ``Analysis``: a PromQL query that answers one number, and the bounds it must stay
    within (``max``, ``min`` or both). ``{{canary}}``, ``{{stable}}``, ``{{service}}`` and
    ``{{namespace}}`` in the query are filled in at each step."""

    name: pulumi.Input[str]
    query: pulumi.Input[str]
    max: pulumi.Input[float] | None = None
    min: pulumi.Input[float] | None = None

    def to_props(self) -> dict[str, Any]:
        return present(name=self.name, query=self.query, max=self.max, min=self.min)


@dataclass(frozen=True)
class Analysis:
    """Measured at every rollout step of a ``TrafficSplit`` and at its target: ``count`` measurements of
    each metric, ``interval_seconds`` apart. More than ``failure_limit`` failed measurements of a metric,
    or more than ``consecutive_error_limit`` in a row that could not be taken, fail the step: the route
    goes back to where the update began and the update fails, naming the metric and its value."""

    prometheus_url: pulumi.Input[str]
    metrics: list[Metric]
    interval_seconds: pulumi.Input[int] | None = None
    count: pulumi.Input[int] | None = None
    failure_limit: pulumi.Input[int] | None = None
    consecutive_error_limit: pulumi.Input[int] | None = None

    def to_props(self) -> dict[str, Any]:
        return present(
            prometheus_url=self.prometheus_url,
            metrics=[metric.to_props() for metric in self.metrics],
            interval_seconds=self.interval_seconds,
            count=self.count,
            failure_limit=self.failure_limit,
            consecutive_error_limit=self.consecutive_error_limit,
        )


@dataclass(frozen=True)
class Webhook:
    """A gate a ``TrafficSplit`` asks before each rise of a rollout (as Flagger's
    confirm-traffic-increase): ``url`` gets a POST with JSON naming the step (``phase``, ``weight``,
    ``canary``, ``stable``, ``service``, ``namespace``) and the canary's share rises once it answers
    2xx. Any other answer, or none within ``timeout_seconds``, is asked again every ``interval_seconds``
    until the split's ``progress_deadline_seconds``; then the rollout fails and the traffic goes back."""

    name: pulumi.Input[str]
    url: pulumi.Input[str]
    timeout_seconds: pulumi.Input[int] | None = None
    interval_seconds: pulumi.Input[int] | None = None

    def to_props(self) -> dict[str, Any]:
        return present(
            name=self.name,
            url=self.url,
            timeout_seconds=self.timeout_seconds,
            interval_seconds=self.interval_seconds,
        )
