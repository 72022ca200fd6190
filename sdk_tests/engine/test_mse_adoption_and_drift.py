"""Adopting a route that already exists on MSE (by path or by name, beside a route whose name and path
contain its own) and restoring it on delete, weight changes in preview, and the order of a delete.

Drift made in the console (refresh reports it, `pulumi up` puts it back) is a conformance test of every
gateway: ``sdk_tests/conformance``.
"""

from __future__ import annotations

from typing import Any

import pytest

import pulumi_canary as canary
from pulumi_canary.emulator import EmulatorServer
from sdk_tests.engine.conftest import Workload
from sdk_tests.engine.mse_program import (
    QUIET,
    Program,
    add_legacy_route,
    legacy_shape,
    route_detail,
    route_weights,
    versions_on_gateway,
)


@pytest.mark.parametrize("adopt_by", ["path", "name"])
def test_an_existing_route_is_adopted_and_restored_as_it_was(
    adopt_by: str, inline_stack, stack_env, program: Program, console: Any, emulator: EmulatorServer,
    gateway_id: str, namespace: str, workload: Workload,
) -> None:
    # Listed first, and found too by a gateway whose Name and Path filters match substrings.
    decoy_id = add_legacy_route(console, gateway_id, namespace, "legacy-demo-archive", "/demo-archive")
    decoy = legacy_shape(route_detail(console, gateway_id, decoy_id))
    route_id = add_legacy_route(console, gateway_id, namespace)
    before = legacy_shape(route_detail(console, gateway_id, route_id))
    if adopt_by == "name":
        program.route = canary.RouteMatch(name="legacy-demo")
    stack = inline_stack(program, env=stack_env)

    up = stack.up(**QUIET)
    assert up.outputs["route_id"].value == str(route_id), "the existing route is adopted, not duplicated"
    adopted = route_detail(console, gateway_id, route_id)
    assert {entry["Version"]: entry["Percent"] for entry in adopted["RouteServices"]} == {"v1": 100, "v2": 0}
    assert adopted["Status"] == 3 and adopted["Description"].startswith("pulumi-canary:")
    assert legacy_shape(route_detail(console, gateway_id, decoy_id)) == decoy, "another route is not touched"

    stack.destroy(**QUIET)
    after = route_detail(console, gateway_id, route_id)
    assert legacy_shape(after) == before
    assert after["Status"] == 3, "the restored route is published again"
    assert versions_on_gateway(emulator) == set()


def test_preview_diff_shows_a_weight_change_as_a_property_change(
    inline_stack, stack_env, program: Program, emulator: EmulatorServer, gateway_id: str, workload: Workload,
) -> None:
    workload.wait_ready(workload.deploy("v2", replicas=1), 1)
    program.split = {"weights": {"v1": 90, "v2": 10}}
    stack = inline_stack(program, env=stack_env)
    stack.up(**QUIET)
    program.split = {"weights": {"v1": 75, "v2": 25}}

    preview = stack.preview(diff=True, **QUIET)
    assert preview.change_summary == {"same": 2, "update": 1}
    assert "~ weights" in preview.stdout
    assert "v1: 90 => 75" in preview.stdout and "v2: 10 => 25" in preview.stdout
    assert route_weights(emulator, gateway_id) == {"v1": 90, "v2": 10}, "preview changes nothing"


def test_delete_moves_traffic_to_stable_before_removing_anything(
    inline_stack, stack_env, program: Program, emulator: EmulatorServer, gateway_id: str, workload: Workload,
) -> None:
    workload.wait_ready(workload.deploy("v2", replicas=1), 1)
    program.split = {"weights": {"v1": 50, "v2": 50}}
    stack = inline_stack(program, env=stack_env)
    stack.up(**QUIET)
    emulator.clear_requests()

    stack.destroy(**QUIET)
    writes = [r.action for r in emulator.requests() if not r.action.startswith(("Get", "List"))]
    first_removal = min(writes.index(a) for a in ("DeleteGatewayServiceVersion", "DeleteGatewayRoute"))
    assert "UpdateGatewayRoute" in writes[:first_removal], writes
    assert writes[writes.index("UpdateGatewayRoute") + 1] == "ApplyGatewayRoute", writes
