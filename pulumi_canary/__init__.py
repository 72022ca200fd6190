"""pulumi-canary: canary releases as code.

Pulumi dynamic resources that declare a canary policy (a label key, a stable and a canary version) and
a traffic split between the two, on Alibaba Cloud's MSE cloud-native gateway, the Kubernetes Gateway
API and Istio::

    import pulumi_canary as canary

    policy = canary.CanaryPolicy("demo",
        gateway=canary.MseGateway(gateway_id="gw-1a2b3c", region="cn-hangzhou"),
        service=canary.ServiceRef(name="demo-service", namespace="default", port=80),
        route=canary.RouteMatch(path="/demo"),
        label_key="version", stable_version="v1", canary_version="v2")
    split = canary.TrafficSplit("demo", policy=policy, weights={"v1": 90, "v2": 10})

The public names load on first use, so ``import pulumi_canary`` stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

try:
    __version__ = version("pulumi-canary")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

_PUBLIC = {
    "CanaryPolicy": "pulumi_canary.adapter.resources",
    "TrafficSplit": "pulumi_canary.adapter.resources",
    "MseGateway": "pulumi_canary.model.gateway_arguments",
    "GatewayApi": "pulumi_canary.model.gateway_arguments",
    "Istio": "pulumi_canary.model.gateway_arguments",
    "ServiceRef": "pulumi_canary.adapter.inputs",
    "RouteMatch": "pulumi_canary.adapter.inputs",
    "CanaryDeployment": "pulumi_canary.adapter.inputs",
    "Step": "pulumi_canary.adapter.inputs",
    "Analysis": "pulumi_canary.adapter.inputs",
    "Metric": "pulumi_canary.adapter.inputs",
    "AnalysisFailedError": "pulumi_canary.errors",
    "CanaryError": "pulumi_canary.errors",
    "InvalidInputError": "pulumi_canary.errors",
    "ConfigurationError": "pulumi_canary.errors",
    "PreconditionError": "pulumi_canary.errors",
    "OwnershipError": "pulumi_canary.errors",
    "NotReadyError": "pulumi_canary.errors",
    "ApiError": "pulumi_canary.errors",
    "RolloutFailedError": "pulumi_canary.errors",
    "RolloutDeadlineError": "pulumi_canary.errors",
    "RolloutHaltedError": "pulumi_canary.errors",
    "Webhook": "pulumi_canary.adapter.inputs",
}

__all__ = [
    "Analysis",
    "AnalysisFailedError",
    "ApiError",
    "CanaryDeployment",
    "CanaryError",
    "CanaryPolicy",
    "ConfigurationError",
    "GatewayApi",
    "InvalidInputError",
    "Istio",
    "Metric",
    "MseGateway",
    "NotReadyError",
    "OwnershipError",
    "PreconditionError",
    "RolloutDeadlineError",
    "RolloutFailedError",
    "RolloutHaltedError",
    "RouteMatch",
    "ServiceRef",
    "Step",
    "TrafficSplit",
    "Webhook",
    "__version__",
]

if TYPE_CHECKING:
    from .adapter.inputs import Analysis, CanaryDeployment, Metric, RouteMatch, ServiceRef, Step, Webhook
    from .adapter.resources import CanaryPolicy, TrafficSplit
    from .errors import (
        AnalysisFailedError,
        ApiError,
        CanaryError,
        ConfigurationError,
        InvalidInputError,
        NotReadyError,
        OwnershipError,
        PreconditionError,
        RolloutDeadlineError,
        RolloutFailedError,
        RolloutHaltedError,
    )
    from .model.gateway_arguments import GatewayApi, Istio, MseGateway


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'pulumi_canary' has no attribute {name!r}")
    return getattr(import_module(module), name)
