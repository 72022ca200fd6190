"""The resource classes users declare: ``CanaryPolicy`` and ``TrafficSplit``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
from pulumi.dynamic import Resource

from ..model.gateway_arguments import GatewayApi, Istio, MseGateway
from ..state_keys import OWNER_KEY
from .inputs import Analysis, CanaryDeployment, RouteMatch, ServiceRef, Step, Webhook
from .providers import CanaryPolicyProvider, TrafficSplitProvider

Gateway = MseGateway | GatewayApi | Istio
"""Any registered gateway's argument class (``model/gateways/``)."""
# What a TrafficSplit takes from its policy's declaration (its delete drains as the policy says).
SPLIT_INPUTS = (
    "gateway",
    "service",
    "route",
    "label_key",
    "stable_version",
    "canary_version",
    "drain_seconds",
)


class CanaryPolicy(Resource, module="canary", name="CanaryPolicy"):
    """A canary policy: which pods are the stable and the canary version of a service, on one route.

    On creation 100% of the route goes to ``stable_version``. Promote by editing the versions: make the
    canary the new stable and either rotate (the old stable becomes the canary) or take a new label value.
    Deleting the policy sends all traffic to stable first, then removes the canary version (and the canary
    Deployment it created), then restores an adopted route or deletes the route it created.

    ## Example Usage
    ```python
    policy = canary.CanaryPolicy("demo",
        gateway=canary.MseGateway(gateway_id="gw-1a2b3c", region="cn-hangzhou"),
        service=canary.ServiceRef(name="demo-service", namespace="default", port=80),
        route=canary.RouteMatch(path="/demo"),
        label_key="version", stable_version="v1", canary_version="v2")
    ```
    """

    route_id: pulumi.Output[str]
    """The gateway's id of the route (MSE route id)."""
    stable_version: pulumi.Output[str]
    canary_version: pulumi.Output[str]
    label_key: pulumi.Output[str]
    weights: pulumi.Output[dict[str, int]]
    """The route's percentages per version as last written (or read, after a refresh)."""
    canary_deployment_name: pulumi.Output[str | None]
    """The name of the canary Deployment the policy owns (``<service>-<canary_version>``), if any."""
    owner: pulumi.Output[str]
    """``project/stack/name``: the ownership marker written on the route and the canary Deployment."""
    gateway: pulumi.Output[dict[str, Any]]
    service: pulumi.Output[dict[str, Any]]
    route: pulumi.Output[dict[str, Any]]

    def __init__(
        self,
        resource_name: str,
        *,
        gateway: Gateway,
        service: ServiceRef,
        route: RouteMatch,
        label_key: pulumi.Input[str],
        stable_version: pulumi.Input[str],
        canary_version: pulumi.Input[str],
        canary_deployment: CanaryDeployment | None = None,
        readiness_timeout_seconds: pulumi.Input[int] | None = None,
        allow_unready: pulumi.Input[bool] | None = None,
        drain_seconds: pulumi.Input[int] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        owner = f"{pulumi.get_project()}/{pulumi.get_stack()}/{resource_name}"
        props: dict[str, Any] = {
            "gateway": gateway.to_props(),
            "service": service.to_props(),
            "route": route.to_props(),
            "label_key": label_key,
            "stable_version": stable_version,
            "canary_version": canary_version,
            "canary_deployment": canary_deployment.to_props() if canary_deployment else None,
            "readiness_timeout_seconds": readiness_timeout_seconds,
            "allow_unready": allow_unready,
            "drain_seconds": drain_seconds,
            OWNER_KEY: owner,
            "owner": None,
            "route_id": None,
            "weights": None,
            "canary_deployment_name": None,
            "original_route": None,
        }
        super().__init__(CanaryPolicyProvider(), resource_name, props, opts)
        # What a TrafficSplit of this policy needs, as declared: known during preview, unlike outputs.
        self.split_inputs: dict[str, Any] = {key: props[key] for key in SPLIT_INPUTS} | {
            "policy": owner,
            OWNER_KEY: owner,
        }
        if canary_deployment is not None and canary_deployment.match_traffic_weight:
            self.split_inputs["canary_min_replicas"] = canary_deployment.replicas


class TrafficSplit(Resource, module="canary", name="TrafficSplit"):
    """The percentages of a policy's two versions: ``weights={"v1": 90, "v2": 10}`` or ``canary_weight=10``.

    Integers that sum to exactly 100; a version whose share rises must have ready endpoints first (the
    provider waits up to ``readiness_timeout_seconds``). Deleting the split sends 100% back to stable.
    With ``steps=[canary.Step(weight=10, pause_seconds=60), ...]`` a rise of the canary's share walks
    the steps below its target within the same ``pulumi up``; a fall is immediate. With
    ``analysis=canary.Analysis(...)`` each step and the target are measured, and with
    ``webhooks=[canary.Webhook(...)]`` each rise waits for their approval; a failure, or a rollout that
    misses ``progress_deadline_seconds`` (600), sends the traffic back to where the update began and is
    recorded on the route. The next ``up`` to the same target refuses to walk it again until ``retry``
    is raised (``retry=1``, then 2...).
    """

    live_weights: pulumi.Output[dict[str, int]]
    """The route's percentages as last written (or read, after a refresh)."""
    rollout: pulumi.Output[dict[str, Any] | None]
    """How the last rollout ended (``status`` succeeded or failed, ``canary_version``, ``target``,
    ``percent`` where it ended, ``retry``, ``detail``: the last analysis or the verdict, ``at``), as
    recorded on the route. A failed ``up`` keeps the old outputs: ``pulumi refresh`` (or
    ``python -m pulumi_canary status``) shows a failure."""

    def __init__(
        self,
        resource_name: str,
        *,
        policy: CanaryPolicy,
        weights: pulumi.Input[dict[str, pulumi.Input[int]]] | None = None,
        canary_weight: pulumi.Input[int] | None = None,
        readiness_timeout_seconds: pulumi.Input[int] | None = None,
        allow_unready: pulumi.Input[bool] | None = None,
        steps: Sequence[Step] | None = None,
        analysis: Analysis | None = None,
        webhooks: Sequence[Webhook] | None = None,
        progress_deadline_seconds: pulumi.Input[int] | None = None,
        retry: pulumi.Input[int] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props: dict[str, Any] = {
            **policy.split_inputs,
            "route_id": policy.route_id,
            "weights": weights,
            "canary_weight": canary_weight,
            "readiness_timeout_seconds": readiness_timeout_seconds,
            "allow_unready": allow_unready,
            "steps": [step.to_props() for step in steps] if steps else None,
            "analysis": analysis.to_props() if analysis else None,
            "webhooks": [webhook.to_props() for webhook in webhooks] if webhooks else None,
            "progress_deadline_seconds": progress_deadline_seconds,
            "retry": retry,
            "live_weights": None,
            "rollout": None,
        }
        merged = pulumi.ResourceOptions.merge(pulumi.ResourceOptions(depends_on=[policy]), opts)
        super().__init__(TrafficSplitProvider(), resource_name, props, merged)
