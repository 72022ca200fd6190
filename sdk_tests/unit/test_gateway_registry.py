"""Every registered gateway has all its pieces: a spec, an argument class users can import, rules that
only name its own fields, a driver, an example and a conformance harness (README: "Adding a gateway")."""

from __future__ import annotations

import importlib
import inspect
import typing
from pathlib import Path

import pytest

import pulumi_canary
from pulumi_canary.model import GATEWAYS, GatewayModel, GatewaySpec, check_policy
from sdk_tests.unit.factories import policy_props

ROOT = Path(__file__).resolve().parents[2]
KINDS = [gateway.kind for gateway in GATEWAYS]


@pytest.fixture(params=GATEWAYS, ids=KINDS)
def gateway(request: pytest.FixtureRequest) -> GatewayModel:
    model: GatewayModel = request.param
    return model


def test_kinds_are_unique_and_every_spec_is_in_the_union() -> None:
    assert len(set(KINDS)) == len(KINDS)
    (union, _discriminator) = typing.get_args(GatewaySpec)
    assert set(typing.get_args(union)) == {gateway.spec for gateway in GATEWAYS}


def test_the_spec_is_tagged_with_its_kind(gateway: GatewayModel) -> None:
    assert typing.get_args(gateway.spec.model_fields["kind"].annotation) == (gateway.kind,)


def test_the_argument_class_is_public_and_makes_props_of_its_kind(gateway: GatewayModel) -> None:
    assert getattr(pulumi_canary, gateway.display) is gateway.argument
    assert gateway.display in pulumi_canary.__all__
    required = {
        name: "x"
        for name, parameter in inspect.signature(gateway.argument).parameters.items()
        if parameter.default is inspect.Parameter.empty
    }
    assert gateway.argument(**required).to_props()["kind"] == gateway.kind


def test_identity_and_hints_name_fields_of_the_spec(gateway: GatewayModel) -> None:
    fields = gateway.spec.model_fields
    assert "kind" in gateway.identity
    assert set(gateway.identity) <= set(fields)
    assert set(gateway.hints) <= {name for name, field in fields.items() if field.is_required()}
    assert gateway.title and gateway.display


def test_a_missing_required_field_reads_its_hint(gateway: GatewayModel) -> None:
    for name, hint in gateway.hints.items():
        failures = check_policy(policy_props(gateway={"kind": gateway.kind}))
        assert any(f.property == f"gateway.{name}" and hint in f.reason for f in failures), failures


def test_the_driver_is_built_from_the_spec_and_the_operation_context(gateway: GatewayModel) -> None:
    module, _, function = gateway.driver.partition(":")
    builder = getattr(importlib.import_module(module), function)
    assert list(inspect.signature(builder).parameters) == ["spec", "context"]


def test_the_example_exists_and_uses_the_argument_class(gateway: GatewayModel) -> None:
    program = ROOT / "examples" / gateway.example / "__main__.py"
    assert program.is_file(), f"{gateway.kind}: no example program at {program}"
    assert f"canary.{gateway.display}(" in program.read_text()


def test_the_conformance_suite_has_a_harness(gateway: GatewayModel) -> None:
    from sdk_tests.conformance.harness import HARNESSES

    assert gateway.kind in HARNESSES, f"{gateway.kind}: register a harness in conformance/harness.py"
