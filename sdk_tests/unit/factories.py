"""Valid props and specs to start tests from; each test changes only what it is about."""

from __future__ import annotations

import copy
from typing import Any

from pulumi_canary.model import CanaryPolicySpec, TrafficSplitSpec, parse_policy, parse_split

MSE_GATEWAY: dict[str, Any] = {"kind": "mse", "gateway_id": "gw-1a2b3c", "region": "cn-hangzhou"}
GATEWAY_API: dict[str, Any] = {"kind": "gateway_api", "gateway": "public-gw", "namespace": "infra"}
ISTIO: dict[str, Any] = {"kind": "istio", "hosts": ["demo.example.com"], "gateways": ["istio-system/public"]}


def policy_props(**changes: Any) -> dict[str, Any]:
    """Props of a valid CanaryPolicy (as the engine passes them, with ``__provider``), with changes."""
    props: dict[str, Any] = {
        "__provider": "pickled-provider",
        "gateway": copy.deepcopy(MSE_GATEWAY),
        "service": {"name": "demo-service", "namespace": "default", "port": 80},
        "route": {"path": "/demo"},
        "label_key": "version",
        "stable_version": "v1",
        "canary_version": "v2",
    }
    props.update(copy.deepcopy(changes))
    return props


def split_props(**changes: Any) -> dict[str, Any]:
    """Props of a valid TrafficSplit (90/10), with changes."""
    props = policy_props()
    props.update({"policy": "demo", "weights": {"v1": 90, "v2": 10}})
    props.update(copy.deepcopy(changes))
    return props


def policy(**changes: Any) -> CanaryPolicySpec:
    return parse_policy(policy_props(**changes))


def split(**changes: Any) -> TrafficSplitSpec:
    return parse_split(split_props(**changes))
