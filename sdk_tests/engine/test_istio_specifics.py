"""What only Istio has, through the real engine and the real apiserver with Istio's CRDs: a header key
Istio would ignore is refused before anything is written. What every gateway does (the release, header
routing, promotion, adoption, weights another field manager takes over) is in ``sdk_tests/conformance``;
its Istio harness reads the VirtualService and DestinationRule.
"""

from __future__ import annotations

from typing import Any

import pytest

import pulumi_canary as canary
from sdk_tests.conformance.istio import DestinationRule, VirtualService
from sdk_tests.conformance.kubernetes import names
from sdk_tests.conftest import StackFactory
from sdk_tests.engine.conftest import Workload
from sdk_tests.engine.kube_program import Program
from sdk_tests.engine.mse_program import QUIET


@pytest.fixture
def mesh_program(namespace: str, workload: Workload) -> Program:
    return Program(canary.Istio(hosts=["demo.example.com"], gateways=["istio-system/public"]), namespace)


def test_a_header_istio_would_ignore_fails_before_anything_is_written(
    inline_stack: StackFactory, stack_env: dict[str, str], mesh_program: Program, kube: Any, namespace: str
) -> None:
    from pulumi.automation import CommandError

    mesh_program.route = canary.RouteMatch(path="/demo", canary_headers={"authority": "canary.example.com"})
    stack = inline_stack(mesh_program, env=stack_env)
    with pytest.raises(CommandError) as refused:
        stack.up(**QUIET)
    assert "route.canary_headers.authority" in str(refused.value)
    assert names(kube, VirtualService, namespace) == names(kube, DestinationRule, namespace) == set()
