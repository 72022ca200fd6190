"""The pure domain layer of pulumi-canary: specs, validation, planning, diff and invariants.

No I/O happens here, and nothing here imports pulumi, lightkube or a cloud SDK: drivers and the adapter
build on it (model <- drivers <- adapter). The flow for a resource operation:

1. ``check()``: ``check_policy(props, is_unknown=...)`` / ``check_split`` -> failures;
   once inputs are known, ``parse_policy(props)`` / ``parse_split`` -> a frozen spec.
2. ``diff()``: ``diff_policy(olds, news)`` / ``diff_split`` -> ``DiffDecision``.
3. ``create/update/delete``: the driver reads a ``LiveRoute``; ``plan_*`` returns a ``Plan`` (a tuple of
   ``Step`` values); the driver executes the steps in order.
4. Tests: ``check_invariants(live, spec)`` after a run, ``safety_violations(live)`` after every step.

Its names load on first use (the gateways' argument classes are imported by every program that
declares a policy; planning, analysis and validation only by the provider).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .analysis import AnalysisSpec, MetricSpec, WebhookSpec
    from .diff import DiffDecision, diff_policy, diff_split
    from .gateways import (
        GATEWAYS,
        GatewayApiSpec,
        GatewayModel,
        GatewaySpec,
        IstioSpec,
        MseGatewaySpec,
        gateway_model,
    )
    from .invariants import check_invariants, safety_violations
    from .live import LiveDeployment, LiveRoute, RouteOwner, RouteSnapshot
    from .naming import version_object_name
    from .planning import (
        MIN_READY_ENDPOINTS,
        plan_create_policy,
        plan_delete_policy,
        plan_delete_split,
        plan_rollback,
        plan_split,
        plan_update_policy,
        resumes_walk,
        rollback_weights,
        second_deployment_reason,
    )
    from .rollout import RolloutRecord
    from .specs import (
        CanaryDeploymentSpec,
        CanaryPolicySpec,
        PathType,
        RolloutStepSpec,
        RouteMatchSpec,
        ServiceRefSpec,
        TrafficSplitSpec,
    )
    from .steps import (
        AdoptRoute,
        Analyze,
        ApplyCanaryDeployment,
        Confirm,
        CreateRoute,
        DeleteCanaryDeployment,
        DeleteRoute,
        DeploymentStep,
        Drain,
        EnsureVersion,
        Pause,
        Plan,
        ReleaseCanaryDeployment,
        ReleaseRoute,
        RemoveVersion,
        RestoreRoute,
        ScaleCanary,
        SetWeights,
        Step,
        UpdateRoute,
        WaitReady,
        touches_deployments,
        weights_after,
    )
    from .validation import IsUnknown, check_policy, check_split, has_unknown, parse_policy, parse_split

_SOURCES: dict[str, tuple[str, ...]] = {
    ".analysis": (
        "AnalysisSpec",
        "MetricSpec",
        "WebhookSpec",
    ),
    ".diff": (
        "DiffDecision",
        "diff_policy",
        "diff_split",
    ),
    ".gateways": (
        "GATEWAYS",
        "GatewayApiSpec",
        "GatewayModel",
        "GatewaySpec",
        "IstioSpec",
        "MseGatewaySpec",
        "gateway_model",
    ),
    ".invariants": (
        "check_invariants",
        "safety_violations",
    ),
    ".live": (
        "LiveDeployment",
        "LiveRoute",
        "RouteOwner",
        "RouteSnapshot",
    ),
    ".naming": ("version_object_name",),
    ".planning": (
        "MIN_READY_ENDPOINTS",
        "plan_create_policy",
        "plan_delete_policy",
        "plan_delete_split",
        "plan_rollback",
        "plan_split",
        "plan_update_policy",
        "resumes_walk",
        "rollback_weights",
        "second_deployment_reason",
    ),
    ".rollout": ("RolloutRecord",),
    ".specs": (
        "CanaryDeploymentSpec",
        "CanaryPolicySpec",
        "PathType",
        "RolloutStepSpec",
        "RouteMatchSpec",
        "ServiceRefSpec",
        "TrafficSplitSpec",
    ),
    ".steps": (
        "AdoptRoute",
        "Analyze",
        "ApplyCanaryDeployment",
        "Confirm",
        "CreateRoute",
        "DeleteCanaryDeployment",
        "DeleteRoute",
        "DeploymentStep",
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
        "touches_deployments",
        "weights_after",
    ),
    ".validation": (
        "IsUnknown",
        "check_policy",
        "check_split",
        "has_unknown",
        "parse_policy",
        "parse_split",
    ),
}
_MODULE_OF = {name: module for module, names in _SOURCES.items() for name in names}

__all__ = [
    "GATEWAYS",
    "MIN_READY_ENDPOINTS",
    "AdoptRoute",
    "AnalysisSpec",
    "Analyze",
    "ApplyCanaryDeployment",
    "CanaryDeploymentSpec",
    "CanaryPolicySpec",
    "Confirm",
    "CreateRoute",
    "DeleteCanaryDeployment",
    "DeleteRoute",
    "DeploymentStep",
    "DiffDecision",
    "Drain",
    "EnsureVersion",
    "GatewayApiSpec",
    "GatewayModel",
    "GatewaySpec",
    "IsUnknown",
    "IstioSpec",
    "LiveDeployment",
    "LiveRoute",
    "MetricSpec",
    "MseGatewaySpec",
    "PathType",
    "Pause",
    "Plan",
    "ReleaseCanaryDeployment",
    "ReleaseRoute",
    "RemoveVersion",
    "RestoreRoute",
    "RolloutRecord",
    "RolloutStepSpec",
    "RouteMatchSpec",
    "RouteOwner",
    "RouteSnapshot",
    "ScaleCanary",
    "ServiceRefSpec",
    "SetWeights",
    "Step",
    "TrafficSplitSpec",
    "UpdateRoute",
    "WaitReady",
    "WebhookSpec",
    "check_invariants",
    "check_policy",
    "check_split",
    "diff_policy",
    "diff_split",
    "gateway_model",
    "has_unknown",
    "parse_policy",
    "parse_split",
    "plan_create_policy",
    "plan_delete_policy",
    "plan_delete_split",
    "plan_rollback",
    "plan_split",
    "plan_update_policy",
    "resumes_walk",
    "rollback_weights",
    "safety_violations",
    "second_deployment_reason",
    "touches_deployments",
    "version_object_name",
    "weights_after",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value
