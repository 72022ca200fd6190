"""What a user reads in the CLI, through the real engine: a check failure of a nested property shows its
value (not the engine's ``value {<nil>}``), a refusal is one message without a Python traceback while a
real bug keeps its traceback, and a refresh after a change by hand shows the drift alone."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from pulumi.automation.errors import CommandError
from pulumi.runtime.rpc import is_rpc_secret

import pulumi_canary as canary
from pulumi_canary.emulator import EmulatorServer, FaultRule
from sdk_tests.engine.conftest import GATEWAY_ID, Workload
from sdk_tests.engine.mse_program import QUIET, Program, gateway_routes, route_detail, sdk_call

POLICY = "pulumi-python:dynamic/canary:CanaryPolicy"
SPLIT = "pulumi-python:dynamic/canary:TrafficSplit"
TRACEBACK = "Traceback (most recent call last)"
CHAINED = "The above exception was the direct cause"


def failure(operation: Callable[..., Any], **options: Any) -> str:
    """The CLI's text (stdout and stderr) of an operation that must fail."""
    with pytest.raises(CommandError) as raised:
        operation(**QUIET, **options)
    return str(raised.value)


def json_diagnostics(text: str) -> list[str]:
    """The diagnostics' messages of `pulumi preview --json`, from a failed preview's text."""
    stdout = text[text.index(" stdout: ") + len(" stdout: "):]
    document, _end = json.JSONDecoder().raw_decode(stdout[stdout.index("{"):])
    return [diagnostic["message"] for diagnostic in document["diagnostics"]]


# ---- item 4: check failures of nested properties show the value --------------------------------------

NESTED_FAILURES = [
    pytest.param(
        {"split": {"weights": {"v1": 110, "v2": -10}}},
        f"{SPLIT} resource 'demo' has a problem: property weights.v1: must be a whole number from 0 to 100, "
        "got 110",
        id="weights.v1",
    ),
    pytest.param(
        {"service_name": "Demo_Service"},
        f"{POLICY} resource 'demo' has a problem: property service.name: 'Demo_Service' is not a valid "
        "Service name: must be a DNS-1035 label: 63 characters or less, only lowercase letters, digits "
        "and '-', starting with a letter and ending with a letter or digit (e.g. 'demo-service')",
        id="service.name",
    ),
    pytest.param(
        {"gateway_id": "gw 1"},
        f"{POLICY} resource 'demo' has a problem: property gateway.gateway_id: 'gw 1' is not a valid MSE "
        "gateway id: letters, digits, '-' and '_' (up to 64), as shown in the MSE console, "
        "e.g. 'gw-1a2b3c4d5e6f'",
        id="gateway.gateway_id",
    ),
    pytest.param(
        {"policy": {"label_key": "Bad Key!"}},
        # A top-level property: the engine prints its value itself.
        f"{POLICY} resource 'demo': property label_key value {{Bad Key!}} has a problem: 'Bad Key!' is not "
        "a valid label key: the name after any 'prefix/' must be 63 characters or less, start and end "
        "with an alphanumeric character, and contain only alphanumerics, '-', '_' or '.'",
        id="label_key",
    ),
]


@pytest.mark.parametrize(("change", "expected"), NESTED_FAILURES)
def test_a_check_failure_shows_the_bad_value_in_preview_text_and_json(
    change: dict[str, Any], expected: str, inline_stack, stack_env, program: Program,
    emulator: EmulatorServer,
) -> None:
    program.split = change.get("split")
    program.policy |= change.get("policy", {})
    program.service_name = change.get("service_name", program.service_name)
    if "gateway_id" in change:
        program.gateway = canary.MseGateway(
            gateway_id=change["gateway_id"], region="cn-hangzhou", endpoint=f"http://{emulator.endpoint}"
        )
    stack = inline_stack(program, env=stack_env)

    text = failure(stack.preview)
    assert f"error: {expected}\n" in text, text
    assert "<nil>" not in text

    messages = json_diagnostics(failure(stack.preview, json=True))
    assert f"error: {expected}\n" in messages, messages
    assert not any("<nil>" in message for message in messages)


# ---- item 7: a refusal is one message; a real bug keeps its traceback --------------------------------


def test_a_version_that_never_becomes_ready_fails_with_our_message_alone(
    inline_stack, stack_env, program: Program, namespace: str
) -> None:
    stack = inline_stack(program, env=stack_env)
    stack.up(**QUIET)
    program.split = {"weights": {"v1": 90, "v2": 10}, "readiness_timeout_seconds": 1}

    text = failure(stack.up)

    expected = (
        f"  {SPLIT} (demo):\n"
        f"    error: version v2 of service {namespace}/demo-service has 0 ready endpoint(s) on MSE gateway "
        f"{GATEWAY_ID}, needs 1, after waiting 1s; traffic was not moved: check that pods labelled with it "
        "are Ready, raise readiness_timeout_seconds, or set allow_unready=True\n"
    )
    assert TRACEBACK not in text and "File \"" not in text, text
    assert expected in text, text


def test_a_permanent_api_error_fails_with_our_message_and_its_request_id_but_no_sdk_traceback(
    inline_stack, stack_env, program: Program, emulator: EmulatorServer
) -> None:
    emulator.add_faults([FaultRule(action="AddGatewayRoute", status=403, code="NoPermission")])
    stack = inline_stack(program, env=stack_env)

    text = failure(stack.up)

    assert TRACEBACK not in text and CHAINED not in text, text
    (faulted,) = [record for record in emulator.requests("AddGatewayRoute") if record.fault]
    diagnostics = text[text.index("Diagnostics:"):]
    assert f"  {POLICY} (demo):\n    error: MSE AddGatewayRoute was refused: Injected fault.; " in diagnostics
    assert f"code=NoPermission, http_status=403, request_id={faulted.request_id})\n" in diagnostics, text


def test_a_real_bug_keeps_its_traceback(inline_stack, stack_env, program: Program) -> None:
    """The control: a state no version of pulumi-canary writes (a split's outputs without the owner) makes
    ``read`` fail with a KeyError, which is not a refusal: the traceback says where."""
    program.split = {"canary_weight": 0}
    stack = inline_stack(program, env=stack_env)
    stack.up(**QUIET)
    intact, broken = stack.export_stack(), stack.export_stack()
    (split,) = [r for r in broken.deployment["resources"] if r["type"] == SPLIT]
    del split["outputs"]["__owner"]
    stack.import_stack(broken)

    text = failure(stack.refresh)
    stack.import_stack(intact)  # so that the fixture can destroy the stack

    assert TRACEBACK in text and "KeyError: '__owner'" in text, text
    assert 'pulumi_canary/adapter/providers.py", line' in text, text


# ---- item 8: a refresh shows only what drifted --------------------------------------------------------


def edit_weights_by_hand(console: Any, emulator: EmulatorServer, weights: Mapping[str, int]) -> None:
    """As a person in the MSE console would: the route's percentages, published."""
    (route,) = gateway_routes(emulator, GATEWAY_ID)
    detail = route_detail(console, GATEWAY_ID, route["Id"])
    services = [{**entry, "Percent": weights[entry["Version"]]} for entry in detail["RouteServices"]]
    sdk_call(console, "UpdateGatewayRoute", {
        "GatewayUniqueId": GATEWAY_ID, "Id": route["Id"], "Name": detail["Name"],
        "DestinationType": "VersionOriented", "Predicates": detail["RoutePredicates"], "Services": services,
        "Description": detail["Description"],
    })
    sdk_call(console, "ApplyGatewayRoute", {"GatewayUniqueId": GATEWAY_ID, "RouteId": route["Id"]})


def resource_lines(stdout: str, kind: str) -> list[str]:
    return [line for line in stdout.splitlines() if f"{kind} demo" in line]


def stored(stack: Any) -> dict[str, Any]:
    """Each canary resource's inputs and outputs as the state has them."""
    resources = [r for r in stack.export_stack().deployment["resources"] if "canary" in r["type"]]
    return {r["type"]: {"inputs": r["inputs"], "outputs": r["outputs"]} for r in resources}


@pytest.fixture
def released(inline_stack, stack_env, program: Program, workload: Workload) -> Any:
    """A policy and a 90/10 split, both applied."""
    workload.wait_ready(workload.deploy("v2", replicas=1), 1)
    program.split = {"weights": {"v1": 90, "v2": 10}}
    stack = inline_stack(program, env=stack_env)
    stack.up(**QUIET)
    return stack


def test_a_refresh_after_a_change_by_hand_shows_the_weights_alone(
    released: Any, console: Any, emulator: EmulatorServer
) -> None:
    edit_weights_by_hand(console, emulator, {"v1": 50, "v2": 50})

    refreshed = released.refresh(**QUIET)

    assert refreshed.summary.resource_changes == {"same": 2, "update": 1}
    (line,) = [line for line in resource_lines(refreshed.stdout, SPLIT) if "updated" in line]
    assert re.search(r"updated \([\d.]+s\) \[diff: ~weights\]$", line), refreshed.stdout
    assert not any("[diff:" in line for line in resource_lines(refreshed.stdout, POLICY)), refreshed.stdout
    preview = released.preview(diff=True, **QUIET)
    assert "v1: 50 => 90" in preview.stdout and "v2: 50 => 10" in preview.stdout, preview.stdout
    # Nothing else reads as a change: the defaults the provider fills in are not the program's inputs.
    assert "allow_unready" not in preview.stdout and "path_type" not in preview.stdout, preview.stdout
    declared = stored(released)[SPLIT]["outputs"]["__declared_inputs"]
    assert is_rpc_secret(declared), "the copy of the inputs is kept as a secret"


def test_a_refresh_without_drift_changes_nothing(released: Any) -> None:
    before = stored(released)

    refreshed = released.refresh(**QUIET)

    assert refreshed.summary.resource_changes == {"same": 3}
    assert "[diff:" not in refreshed.stdout, refreshed.stdout
    after = stored(released)
    for kind in (POLICY, SPLIT):
        assert after[kind]["inputs"] == before[kind]["inputs"], f"refresh rewrote the inputs of {kind}"
