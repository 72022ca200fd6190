"""Fixtures of the conformance suite: every test runs once per registered gateway ``kind``, with that
gateway's harness and a program declaring it.

The MSE emulator and its fixtures come from the engine tests; a harness asks for them only when its
gateway needs them, so the Kubernetes gateways' tests never start the emulator.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pulumi_canary.model import GATEWAYS, gateway_model
from sdk_tests.conformance.harness import HARNESSES, GatewayHarness, Site
from sdk_tests.engine.conftest import Workload, console, emulator, gateway_id, stack_env, workload
from sdk_tests.engine.kube_program import Program

__all__ = ["console", "emulator", "gateway_id", "harness", "kind", "program", "stack_env", "workload"]

KINDS = [gateway.kind for gateway in GATEWAYS]


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


@pytest.fixture
def harness(
    kind: str, request: pytest.FixtureRequest, namespace: str, workload: Workload, kube: Any, kubeconfig: Path
) -> GatewayHarness:
    """The harness of ``kind``; a registered gateway without one fails (a skip would hide it)."""
    make = HARNESSES.get(kind)
    if make is None:
        pytest.fail(
            f"the gateway {kind!r} is registered in pulumi_canary.model.GATEWAYS but has no conformance "
            "harness: add one to HARNESSES in sdk_tests/conformance/harness.py",
            pytrace=False,
        )
    made = make(Site(namespace, workload, kube, kubeconfig, request.getfixturevalue))
    model = gateway_model(kind)
    assert model is not None
    assert isinstance(made.argument(), model.argument), f"{kind}: the harness must declare {model.display}"
    return made


@pytest.fixture
def program(harness: GatewayHarness, namespace: str) -> Program:
    """The policy ``demo`` on ``demo-service`` at ``/demo``, v1 stable and v2 canary, on ``harness``'s
    gateway; a test edits it between runs like an infra repo."""
    return Program(harness.argument(), namespace)
