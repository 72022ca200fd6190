"""The MSE harness: the emulator's routes and service versions of one gateway, read from its state, and
the official SDK as a person in the MSE console uses it (routes made by hand, weights edited by hand).

With canary headers MSE has two routes: the weighted one, and one with header predicates that sends
every matching request to the canary.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pulumi_canary as canary
from pulumi_canary.drivers.mse import owner_marker
from sdk_tests.conformance.observed import OWNER, Adoptable, HandEdit, HeaderRoute, Routing, left_behind
from sdk_tests.engine.mse_program import (
    add_legacy_route,
    gateway_routes,
    legacy_shape,
    route_detail,
    sdk_call,
    versions_on_gateway,
)

if TYPE_CHECKING:
    from sdk_tests.conformance.harness import Site

__all__ = ["PUBLISHED", "MseHarness"]

PUBLISHED = 3  # a route's Status once applied


def header_route_of(route: Mapping[str, Any]) -> HeaderRoute:
    predicates = route["Predicates"]["HeaderPredicates"]
    assert all(set(p) == {"Key", "Type", "Value"} and p["Type"] == "EQUAL" for p in predicates), predicates
    assert route["Predicates"]["PathPredicates"]["Path"] == "/demo"
    assert route["Status"] == PUBLISHED
    ((version, percent),) = [(s["Version"], s["Percent"]) for s in route["RouteServices"]]
    assert percent == 100, route["RouteServices"]
    return HeaderRoute.of({p["Key"]: p["Value"] for p in predicates}, version)


class MseHarness:
    """An MSE gateway of the emulator, reset for each test, importing Services from the rig's cluster."""

    def __init__(self, site: Site) -> None:
        self.emulator = site.fixture("emulator")
        self.gateway_id: str = site.fixture("gateway_id")
        self.console = site.fixture("console")
        self.namespace = site.namespace
        self.foreign: set[int] = set()  # routes made by hand beside the one the policy takes

    def argument(self) -> Any:
        endpoint = f"http://{self.emulator.endpoint}"
        return canary.MseGateway(gateway_id=self.gateway_id, region="cn-hangzhou", endpoint=endpoint)

    def stored_header_name(self, name: str) -> str:
        return name

    def _routes(self) -> list[dict[str, Any]]:
        return [r for r in gateway_routes(self.emulator, self.gateway_id) if r["Id"] not in self.foreign]

    def _weighted(self) -> dict[str, Any]:
        routes = [r for r in self._routes() if not r["Predicates"].get("HeaderPredicates")]
        assert len(routes) == 1, routes
        (route,) = routes
        assert route["Status"] == PUBLISHED, "the route must be published"
        return route

    def route_id(self) -> str:
        return str(self._weighted()["Id"])

    def routing(self) -> Routing:
        route = self._weighted()
        assert route["Predicates"]["PathPredicates"]["Path"] == "/demo"
        weights = tuple((entry["Version"], entry["Percent"]) for entry in route["RouteServices"])
        header_routes = [r for r in self._routes() if r["Predicates"].get("HeaderPredicates")]
        assert len(header_routes) <= 1, header_routes
        return Routing(weights, header_route_of(header_routes[0]) if header_routes else None)

    def versions(self) -> list[str]:
        services = self.emulator.state()["Services"]
        return [version["Name"] for service in services for version in service.get("Versions", [])]

    def check_created(self) -> None:
        assert self._weighted()["Description"] == owner_marker(OWNER)
        for route in self._routes():
            assert str(route["Description"]).startswith(owner_marker(OWNER)), route["Description"]
        # the request log holds the create alone (the gateway is fresh): one read of the service's versions
        # serves both definitions
        actions = [record.action for record in self.emulator.requests()]
        defined = [index for index, action in enumerate(actions) if action == "AddGatewayServiceVersion"]
        assert len(defined) == 2
        assert "GetGatewayServiceDetail" not in actions[defined[0] : defined[1]]

    def checkpoint(self) -> Any:
        return len(self.emulator.requests())

    def assert_destroyed(self, since: Any, *, stable: str, canary: str) -> None:
        # The request log has no parameters: what shows is that the route is rewritten (and published)
        # before any version or route is removed; then no route and no version of ours is left.
        writes = [
            r.action for r in self.emulator.requests()[since:] if not r.action.startswith(("Get", "List"))
        ]
        first_removal = min(writes.index(a) for a in ("DeleteGatewayServiceVersion", "DeleteGatewayRoute"))
        assert "UpdateGatewayRoute" in writes[:first_removal], writes
        assert writes[writes.index("UpdateGatewayRoute") + 1] == "ApplyGatewayRoute", writes
        assert gateway_routes(self.emulator, self.gateway_id) == [], "no route is left behind"
        left_behind(versions_on_gateway(self.emulator), set(), "service versions")

    def make_route_to_adopt(self) -> Adoptable:
        # Listed first, and found too by a gateway whose Name and Path filters match substrings.
        decoy_id = add_legacy_route(
            self.console, self.gateway_id, self.namespace, "legacy-demo-archive", "/demo-archive"
        )
        route_id = add_legacy_route(self.console, self.gateway_id, self.namespace)
        self.foreign = {decoy_id}
        before = {
            "route_id": route_id,
            "route": legacy_shape(route_detail(self.console, self.gateway_id, route_id)),
            "decoy_id": decoy_id,
            "decoy": legacy_shape(route_detail(self.console, self.gateway_id, decoy_id)),
        }
        return Adoptable(match={"path": "/demo"}, route_id=str(route_id), before=before)

    def _decoy_untouched(self, before: Mapping[str, Any]) -> None:
        decoy = legacy_shape(route_detail(self.console, self.gateway_id, before["decoy_id"]))
        assert decoy == before["decoy"], "another route is not touched"

    def assert_adopted(self, adoptable: Adoptable, expected: Routing) -> None:
        before = adoptable.before
        adopted = route_detail(self.console, self.gateway_id, before["route_id"])
        weights = {entry["Version"]: entry["Percent"] for entry in adopted["RouteServices"]}
        assert weights == dict(expected.weights)
        assert adopted["Status"] == PUBLISHED and adopted["Description"].startswith("pulumi-canary:")
        assert self.route_id() == adoptable.route_id
        assert self.routing() == expected
        self._decoy_untouched(before)

    def assert_restored(self, adoptable: Adoptable) -> None:
        before = adoptable.before
        after = route_detail(self.console, self.gateway_id, before["route_id"])
        assert legacy_shape(after) == before["route"]
        assert after["Status"] == PUBLISHED, "the restored route is published again"
        self._decoy_untouched(before)
        left = {route["Id"] for route in gateway_routes(self.emulator, self.gateway_id)}
        left_behind(left, {before["route_id"], before["decoy_id"]}, "routes of the gateway")
        left_behind(versions_on_gateway(self.emulator), set(), "service versions")

    def edit_weights_by_hand(self, weights: Mapping[str, int]) -> HandEdit:
        route_id = int(self.route_id())
        detail = route_detail(self.console, self.gateway_id, route_id)
        services = [{**entry, "Percent": weights[entry["Version"]]} for entry in detail["RouteServices"]]
        sdk_call(
            self.console,
            "UpdateGatewayRoute",
            {
                "GatewayUniqueId": self.gateway_id,
                "Id": route_id,
                "Name": detail["Name"],
                "DestinationType": "VersionOriented",
                "Predicates": detail["RoutePredicates"],
                "Services": services,
                "Description": detail["Description"],
            },
        )
        sdk_call(self.console, "ApplyGatewayRoute", {"GatewayUniqueId": self.gateway_id, "RouteId": route_id})
        return HandEdit()  # the console records no owner: the next `pulumi up` puts the weights back
