"""What the bench needs to know about each gateway it measures, in one place per gateway.

A gateway is benched when it has a ``BenchedGateway`` here: how a program declares it, how its rows are
labelled, the fewest API calls one weight change can take, and whether the Gateway API's second floor
(``bench.objects_only``) applies. Istio is not benched: it would need its own objects-only floor.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

NAMESPACE = "bench"
GATEWAY_ID = "gw-bench0123456789"
GATEWAY_API_GATEWAY = "bench-gw"


@dataclass(frozen=True)
class BenchedGateway:
    kind: str
    label: str
    """How its rows are named, e.g. ``MSE (emulator)``."""
    short_label: str
    """How its state figures are named, e.g. ``MSE``."""
    arguments: Callable[[str], Any]
    """The gateway argument of the bench's programs, given the emulator's endpoint."""
    minimum_calls: Mapping[str, int]
    """The fewest API calls one weight change can make, by call (as ``bench.run.count_calls`` names them)."""
    objects_floor: bool = False
    """Whether ``bench.objects_only`` (the floor plus the objects alone) is measured for it."""
    route_read: str = ""
    """The call that reads a route (as ``bench.run.count_calls`` names it): a refresh makes one a route."""
    up_budget: float = 1.3
    """The most its ``up`` at the largest N may take, as a ratio to the floor's."""
    peer: bool = False
    """Whether the same release managed with pulumi-kubernetes (``bench.peer``) is measured beside it."""


def _mse(endpoint: str) -> Any:
    import pulumi_canary as canary

    return canary.MseGateway(gateway_id=GATEWAY_ID, region="cn-hangzhou", endpoint=f"http://{endpoint}")


def _gateway_api(_endpoint: str) -> Any:
    import pulumi_canary as canary

    return canary.GatewayApi(gateway=GATEWAY_API_GATEWAY, namespace=NAMESPACE)


BENCHED: dict[str, BenchedGateway] = {
    "mse": BenchedGateway(
        kind="mse",
        label="MSE (emulator)",
        short_label="MSE",
        arguments=_mse,
        # Read the route (to resend it whole), read the versions' endpoints (the readiness gate),
        # UpdateGatewayRoute, ApplyGatewayRoute.
        minimum_calls={
            "GetGatewayRouteDetail": 1,
            "GetGatewayServiceDetail": 1,
            "UpdateGatewayRoute": 1,
            "ApplyGatewayRoute": 1,
        },
        route_read="GetGatewayRouteDetail",
        up_budget=1.2,
    ),
    "gateway_api": BenchedGateway(
        kind="gateway_api",
        label="Gateway API",
        short_label="Gateway API",
        arguments=_gateway_api,
        # Read the HTTPRoute, the policy's version Services (their selectors say what each version is),
        # the Service (its selector finds the pods) and its pods (the readiness gate), then apply.
        minimum_calls={
            "k8s get httproutes": 1,
            "k8s list services": 1,
            "k8s get services": 1,
            "k8s list pods": 1,
            "k8s patch httproutes": 1,
        },
        objects_floor=True,
        route_read="k8s get httproutes",
        peer=True,
    ),
}


def benched(kinds: str) -> list[BenchedGateway]:
    """The gateways named in ``--gateways`` (comma-separated kinds), or a clear error."""
    chosen = [kind.strip() for kind in kinds.split(",") if kind.strip()]
    unknown = [kind for kind in chosen if kind not in BENCHED]
    if unknown:
        raise SystemExit(f"--gateways: {', '.join(unknown)} not benched; choose from {', '.join(BENCHED)}")
    return [BENCHED[kind] for kind in chosen]
