"""How the conformance suite drives and observes each registered gateway: ``GatewayHarness`` and
``HARNESSES``, one harness per ``kind`` of ``pulumi_canary.model.GATEWAYS``.

A harness knows four things about its gateway, and reads everything from the real system (the MSE
emulator's state, or the objects the apiserver stores), never through the product's drivers:

- how a program declares it (``argument``);
- where its route sends requests (``routing``, ``versions``, ``route_id``), checking on the way that
  the stored objects have exactly the shape pulumi-canary writes;
- how another tool makes a route to adopt (``make_route_to_adopt``) or changes the weights
  (``edit_weights_by_hand``: the MSE console; on Kubernetes a controller's forced apply);
- what a destroy must leave (``assert_destroyed``, ``assert_restored``).

What only one gateway has stays in that gateway's harness (``check_created``: ownership marks, field
owners, MSE's request log) or in ``sdk_tests/engine/test_<kind>_specifics.py`` (HTTPRoute schema limits,
Istio's ignored header keys, ...).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sdk_tests.conformance.gateway_api import GatewayApiHarness
from sdk_tests.conformance.istio import IstioHarness
from sdk_tests.conformance.mse import MseHarness
from sdk_tests.conformance.observed import Adoptable, HandEdit, Routing
from sdk_tests.engine.conftest import Workload

__all__ = ["HARNESSES", "GatewayHarness", "Site"]


@dataclass(frozen=True)
class Site:
    """Where a test runs: its namespace with the stable workload, the rig's cluster, and a way to get
    the fixtures only one gateway needs (the MSE emulator) without starting them for the others."""

    namespace: str
    workload: Workload
    kube: Any
    kubeconfig: Path
    fixture: Callable[[str], Any]


class GatewayHarness(Protocol):
    """One gateway, as the conformance tests see it. The policy in every test is ``demo`` of stack
    ``canarytest/test`` on the Service ``demo-service`` (label key ``version``), route path ``/demo``."""

    def argument(self) -> Any:
        """The gateway as a program declares it: an instance of the registry's argument class."""
        ...

    def stored_header_name(self, name: str) -> str:
        """A canary header's name as the gateway stores it (Istio lowercases; header names ignore case)."""
        ...

    def route_id(self) -> str:
        """The id of the policy's route on the gateway, as its ``route_id`` output reports it."""
        ...

    def routing(self) -> Routing:
        """Where the policy's route sends requests, read from the gateway; the stored objects must be
        exactly what pulumi-canary writes for that routing (nothing more on them)."""
        ...

    def versions(self) -> list[str]:
        """The versions defined on the gateway for the Service (MSE service versions, per-version
        Services, DestinationRule subsets), in stored order; each one's definition is checked."""
        ...

    def check_created(self) -> None:
        """What a route the policy created carries besides its routing: ownership marks, field owners."""
        ...

    def checkpoint(self) -> Any:
        """A point in the gateway's history, taken before a destroy."""
        ...

    def assert_destroyed(self, since: Any, *, stable: str, canary: str) -> None:
        """Since ``since``: the canary left the route before it was removed, and nothing of ours is left."""
        ...

    def make_route_to_adopt(self) -> Adoptable:
        """A route to the whole Service on ``/demo`` made by another tool, with other routing beside it."""
        ...

    def assert_adopted(self, adoptable: Adoptable, expected: Routing) -> None:
        """The adopted route routes as ``expected`` and everything around the adopted entry is untouched."""
        ...

    def assert_restored(self, adoptable: Adoptable) -> None:
        """After destroy the route is exactly as it was (its owner's again) and nothing of ours is left."""
        ...

    def edit_weights_by_hand(self, weights: Mapping[str, int]) -> HandEdit:
        """Set the weighted route's percentages without Pulumi, the way people and other tools do."""
        ...


HARNESSES: dict[str, Callable[[Site], GatewayHarness]] = {
    "mse": MseHarness,
    "gateway_api": GatewayApiHarness,
    "istio": IstioHarness,
}
"""The harness of each registered gateway ``kind`` (``sdk_tests/unit/test_gateway_registry.py`` checks
that none is missing)."""
