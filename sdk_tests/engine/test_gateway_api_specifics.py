"""What only the Gateway API has, through the real engine and apiserver: an HTTPRoute adopted by name
must be attached to the policy's Gateway, the HTTPRoute schema limits header values, and hostnames change
in place. What every gateway does (the release, header routing, promotion, adoption, weights another
field manager takes over) is in ``sdk_tests/conformance``, whose Gateway API harness also checks the
HTTPRoute's marks and field owners; the HTTPRoute shapes come from that harness.
"""

from __future__ import annotations

from typing import Any

import pytest
from lightkube.resources.core_v1 import Service

import pulumi_canary as canary
from sdk_tests.conformance.gateway_api import HTTPRoute, legacy_route
from sdk_tests.conformance.kubernetes import as_it_was, names, only
from sdk_tests.conftest import StackFactory
from sdk_tests.engine.conftest import SERVICE, Workload
from sdk_tests.engine.kube_program import Program
from sdk_tests.engine.mse_program import QUIET


@pytest.fixture
def gateway_program(namespace: str, workload: Workload) -> Program:
    gateway = canary.GatewayApi(gateway="public-gw", namespace="infra", hostnames=["demo.example.com"])
    return Program(gateway, namespace)


def test_adopting_by_name_a_route_of_another_gateway_is_a_clear_error_and_touches_nothing(
    inline_stack: StackFactory, stack_env: dict[str, str], gateway_program: Program, kube: Any, namespace: str
) -> None:
    from pulumi.automation import CommandError

    elsewhere = legacy_route(namespace)
    elsewhere["spec"]["parentRefs"] = [{"name": "internal-gw", "namespace": "infra"}]
    kube.apply(HTTPRoute.from_dict(elsewhere))
    before = kube.get(HTTPRoute, "legacy", namespace=namespace).to_dict()
    gateway_program.route = canary.RouteMatch(name="legacy", path="/demo")
    stack = inline_stack(gateway_program, env=stack_env)
    with pytest.raises(CommandError) as refused:
        stack.up(**QUIET)
    assert "is not attached to Gateway infra/public-gw" in str(refused.value)
    assert as_it_was(kube.get(HTTPRoute, "legacy", namespace=namespace).to_dict()) == as_it_was(before)


def test_a_header_value_the_http_route_schema_rejects_fails_before_anything_is_written(
    inline_stack: StackFactory, stack_env: dict[str, str], gateway_program: Program, kube: Any, namespace: str
) -> None:
    from pulumi.automation import CommandError

    gateway_program.route = canary.RouteMatch(path="/demo", canary_headers={"x-canary": "two  spaces"})
    stack = inline_stack(gateway_program, env=stack_env)
    with pytest.raises(CommandError) as refused_in_preview:
        stack.preview(**QUIET)
    assert 'route.canary_headers["x-canary"]' in str(refused_in_preview.value)
    with pytest.raises(CommandError) as refused:
        stack.up(**QUIET)
    assert "cannot be matched by an HTTPRoute" in str(refused.value)
    assert names(kube, HTTPRoute, namespace) == set()
    assert names(kube, Service, namespace) == {SERVICE}


def test_new_hostnames_reach_the_route_in_place(
    inline_stack: StackFactory, stack_env: dict[str, str], gateway_program: Program, kube: Any, namespace: str
) -> None:
    stack = inline_stack(gateway_program, env=stack_env)
    stack.up(**QUIET)
    hostnames = ["demo.example.com", "www.example.com"]
    gateway_program.gateway = canary.GatewayApi(gateway="public-gw", namespace="infra", hostnames=hostnames)
    assert stack.up(**QUIET).summary.resource_changes == {"update": 1, "same": 1}
    assert only(kube, HTTPRoute, namespace)["spec"]["hostnames"] == hostnames
