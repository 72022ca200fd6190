"""Bad programs fail `pulumi preview` with a message naming the property, and nothing is changed."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi.automation.errors import CommandError

from pulumi_canary.emulator import EmulatorServer
from sdk_tests.engine.conftest import Workload
from sdk_tests.engine.mse_program import QUIET, Program, route_weights

WRITES = ("Add", "Update", "Delete", "Apply", "Offline", "Import")


def writes(emulator: EmulatorServer) -> list[str]:
    return [r.action for r in emulator.requests() if r.action.startswith(WRITES)]


def preview_error(stack: Any) -> str:
    with pytest.raises(CommandError) as failed:
        stack.preview(**QUIET)
    return str(failed.value)


@pytest.mark.parametrize(
    ("policy", "split", "expected"),
    [
        ({"label_key": "Bad Key!"}, None, ("label_key", "'Bad Key!' is not a valid label key")),
        ({"stable_version": "v1", "canary_version": "v1"}, None, ("canary_version", "must differ")),
        ({"canary_version": "V2_!"}, None, ("canary_version", "'V2_!'")),
        ({}, {"weights": {"v1": 90, "v2": 5}}, ("weights", "sum to exactly 100")),
        ({}, {"weights": {"v1": 90, "v3": 10}}, ("weights", "v3")),
        ({}, {"weights": {"v1": 90, "v2": 10}, "canary_weight": 10}, ("canary_weight", "not both")),
        ({}, {"canary_weight": 101}, ("canary_weight", "101")),
    ],
)
def test_invalid_declarations_fail_preview_naming_the_property(
    policy: dict[str, Any], split: dict[str, Any] | None, expected: tuple[str, str], inline_stack, stack_env,
    program: Program, emulator: EmulatorServer,
) -> None:
    program.policy = {"stable_version": "v1", "canary_version": "v2", **policy}  # the last wins
    program.split = split
    stack = inline_stack(program, env=stack_env)
    emulator.clear_requests()
    message = preview_error(stack)
    assert all(fragment in message for fragment in expected), message
    assert writes(emulator) == []
    with pytest.raises(CommandError):
        stack.up(**QUIET)
    if split is None:
        assert writes(emulator) == [], "a failed check changes nothing"
    else:
        # The engine creates the (valid) policy before it checks the split: traffic stays on stable.
        assert route_weights(emulator, program.gateway_id) == {"v1": 100, "v2": 0}


def test_a_label_key_no_pod_carries_fails_preview(
    inline_stack, stack_env, program: Program, emulator: EmulatorServer, workload: Workload
) -> None:
    program.policy = {"stable_version": "v1", "canary_version": "v2", "label_key": "track"}
    message = preview_error(inline_stack(program, env=stack_env))
    assert "label_key" in message and "no pod of service" in message and "'track'" in message


def test_a_stable_version_with_no_ready_pod_fails_preview(
    inline_stack, stack_env, program: Program, emulator: EmulatorServer, workload: Workload
) -> None:
    program.policy = {"stable_version": "v9", "canary_version": "v2"}
    message = preview_error(inline_stack(program, env=stack_env))
    assert "stable_version" in message and "version=v9" in message and "ready versions: v1" in message


def test_a_valid_program_previews_with_unknown_policy_outputs(
    inline_stack, stack_env, program: Program, emulator: EmulatorServer
) -> None:
    program.split = {"weights": {"v1": 90, "v2": 10}}
    preview = inline_stack(program, env=stack_env).preview(**QUIET)
    assert preview.change_summary == {"create": 3}
    assert writes(emulator) == []
