"""Every validation rule, with the message a person reads in ``pulumi preview``."""

from __future__ import annotations

from typing import Any

import pytest

from pulumi_canary.errors import Failure, InvalidInputError
from pulumi_canary.model import (
    CanaryPolicySpec,
    MseGatewaySpec,
    TrafficSplitSpec,
    check_policy,
    check_split,
    parse_policy,
    parse_split,
)

from .factories import GATEWAY_API, ISTIO, policy_props, split_props


def failures_of(parse: Any, props: Any) -> dict[str, str]:
    """property -> reason (joined when one property has several)."""
    with pytest.raises(InvalidInputError) as caught:
        parse(props)
    found: dict[str, str] = {}
    for failure in caught.value.failures:
        found[failure.property] = (
            f"{found[failure.property]} | {failure.reason}" if failure.property in found else failure.reason
        )
    return found


def only_failure(parse: Any, props: Any) -> Failure:
    with pytest.raises(InvalidInputError) as caught:
        parse(props)
    assert len(caught.value.failures) == 1, caught.value.failures
    return caught.value.failures[0]


# ---- valid inputs ---------------------------------------------------------------------------------------


def test_valid_policy_parses_with_defaults() -> None:
    spec = parse_policy(policy_props(service={"name": "demo-service", "port": 80}))
    assert isinstance(spec, CanaryPolicySpec)
    assert isinstance(spec.gateway, MseGatewaySpec)
    assert spec.service.namespace == "default"
    assert spec.route.path_type == "prefix"
    assert spec.readiness_timeout_seconds == 300
    assert spec.allow_unready is False
    assert spec.canary_deployment is None


def test_numbers_arrive_as_doubles_from_the_engine_and_are_accepted() -> None:
    # Pulumi's wire protocol (protobuf Struct) carries every number as a double: 80 arrives as 80.0.
    spec = parse_split(
        split_props(service={"name": "demo-service", "port": 80.0}, weights={"v1": 90.0, "v2": 10.0})
    )
    assert spec.service.port == 80
    assert isinstance(spec.service.port, int)
    assert spec.resolved_weights() == {"v1": 90, "v2": 10}
    assert all(isinstance(value, int) for value in spec.resolved_weights().values())


def test_none_means_not_given() -> None:
    spec = parse_policy(policy_props(canary_deployment=None, readiness_timeout_seconds=None))
    assert spec.canary_deployment is None
    assert spec.readiness_timeout_seconds == 300


def test_pulumi_internal_keys_are_ignored() -> None:
    spec = parse_policy(policy_props(__provider="x", __internal={"anything": [1, 2]}))
    assert spec.stable_version == "v1"


def test_every_gateway_kind_parses() -> None:
    assert parse_policy(policy_props(gateway=GATEWAY_API)).gateway.kind == "gateway_api"
    assert parse_policy(policy_props(gateway=ISTIO)).gateway.kind == "istio"


def test_to_props_round_trips() -> None:
    spec = parse_split(
        split_props(gateway=ISTIO, route={"path": "/demo", "canary_headers": {"x-canary": "1"}})
    )
    assert parse_split(spec.to_props()) == spec


# ---- the rules, one by one ----------------------------------------------------------------------------


def test_label_value_syntax() -> None:
    failure = only_failure(parse_policy, policy_props(stable_version="Version_1!"))
    assert failure == Failure(
        "stable_version",
        "'Version_1!' is not a valid label value: must be 63 characters or less, start and end with an "
        "alphanumeric character, and contain only alphanumerics, '-', '_' or '.'",
    )


@pytest.mark.parametrize("value", ["-v1", "v1-", "v 1", "v" * 64, "v1\n", "é"])
def test_bad_versions_are_rejected(value: str) -> None:
    assert (
        "is not a valid label value" in only_failure(parse_policy, policy_props(canary_version=value)).reason
    )


@pytest.mark.parametrize("value", ["v3", "V1.2_rc-3", "a", "1", "v" * 63])
def test_good_versions_are_accepted(value: str) -> None:
    assert parse_policy(policy_props(canary_version=value)).canary_version == value


def test_empty_version_is_rejected() -> None:
    failure = only_failure(parse_policy, policy_props(stable_version=""))
    assert failure.property == "stable_version"
    assert failure.reason.startswith("must not be empty")


def test_versions_must_differ() -> None:
    failure = only_failure(parse_policy, policy_props(canary_version="v1"))
    assert failure == Failure(
        "canary_version", "stable_version and canary_version must differ (both are 'v1')"
    )


@pytest.mark.parametrize(
    ("key", "fragment"),
    [
        ("", "must not be empty"),
        ("a/b/c", "at most one '/'"),
        ("Example.com/version", "the prefix before '/'"),
        ("/version", "the prefix before '/'"),
        ("example.com/", "the name after"),
        ("-version", "the name after"),
        ("v" * 64, "the name after"),
    ],
)
def test_label_key_syntax(key: str, fragment: str) -> None:
    failure = only_failure(parse_policy, policy_props(label_key=key))
    assert failure.property == "label_key"
    assert fragment in failure.reason


@pytest.mark.parametrize("key", ["version", "app.kubernetes.io/version", "example.com/Ver_sion.1"])
def test_good_label_keys(key: str) -> None:
    assert parse_policy(policy_props(label_key=key)).label_key == key


def test_service_name_must_be_a_dns_1035_label() -> None:
    failure = only_failure(parse_policy, policy_props(service={"name": "1demo", "port": 80}))
    assert failure.property == "service.name"
    assert "'1demo' is not a valid Service name: must be a DNS-1035 label" in failure.reason


def test_namespace_must_be_a_dns_1123_label() -> None:
    failure = only_failure(
        parse_policy, policy_props(service={"name": "demo", "namespace": "Prod", "port": 80})
    )
    assert failure.property == "service.namespace"
    assert "'Prod' is not a valid namespace: must be a DNS-1123 label" in failure.reason


@pytest.mark.parametrize(
    ("port", "fragment"), [(0, "from 1 to 65535, got 0"), (70000, "got 70000"), ("80", "whole")]
)
def test_port_range_and_type(port: object, fragment: str) -> None:
    failure = only_failure(parse_policy, policy_props(service={"name": "demo", "port": port}))
    assert failure.property == "service.port"
    assert fragment in failure.reason


def test_weights_must_sum_to_100() -> None:
    failure = only_failure(parse_split, split_props(weights={"v1": 90, "v2": 5}))
    assert failure == Failure("weights", "weights must sum to exactly 100, got 95 (v1=90, v2=5)")


@pytest.mark.parametrize("declared", [{"v2": 10, "v1": 91}, {"v1": 91, "v2": 10}])
def test_the_weight_sum_lists_stable_first_whatever_order_the_map_arrives_in(declared: dict) -> None:
    # The engine hands maps over in no fixed order; the message must read the same on every run.
    stable_v2 = split_props(stable_version="v2", canary_version="v1", weights=declared)
    failure = only_failure(parse_split, stable_v2)
    assert failure.reason == "weights must sum to exactly 100, got 101 (v2=10, v1=91)"


def test_weights_must_name_exactly_the_two_versions() -> None:
    found = failures_of(parse_split, split_props(weights={"v1": 90, "v3": 10}))
    assert found["weights.v3"] == (
        "'v3' is not a version of this policy: weights must name exactly stable_version 'v1' and "
        "canary_version 'v2'"
    )
    assert found["weights"].startswith("missing 'v2': weights must name both versions")


def test_weight_keys_that_are_not_identifiers_use_bracket_paths() -> None:
    found = failures_of(parse_split, split_props(weights={"v1": 90, "v1.2": 10}))
    assert '"v1.2"' in "".join(found)
    assert 'weights["v1.2"]' in found


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (True, "must be a whole number, got True (a boolean)"),
        (10.5, "must be a whole number, got 10.5 (a number with a fraction)"),
        ("10", "must be a whole number, got '10' (a string)"),
        (None, "is required"),
        (-1, "must be a whole number from 0 to 100, got -1"),
        (101, "must be a whole number from 0 to 100, got 101"),
        (float("nan"), "must be a whole number"),
        (float("inf"), "must be a whole number"),
    ],
)
def test_weight_values_are_integer_percentages(value: object, fragment: str) -> None:
    found = failures_of(parse_split, split_props(weights={"v1": 90, "v2": value}))
    if value is None:  # None inside a mapping is a value, not "not given"
        assert "weights.v2" in found
        return
    assert fragment in found["weights.v2"]
    assert "weights" not in found, "a sum over invalid values means nothing and is not reported"


def test_exactly_one_of_weights_and_canary_weight() -> None:
    neither = only_failure(parse_split, split_props(weights=None))
    assert neither.property == "weights"
    assert "give exactly one of weights" in neither.reason and "neither was given" in neither.reason
    both = only_failure(parse_split, split_props(canary_weight=10))
    assert both == Failure("canary_weight", "give exactly one of weights or canary_weight, not both")


def test_canary_weight_range() -> None:
    failure = only_failure(parse_split, split_props(weights=None, canary_weight=101))
    assert failure == Failure("canary_weight", "must be a whole number from 0 to 100, got 101")


def test_canary_weight_resolves_to_both_versions() -> None:
    spec = parse_split(split_props(weights=None, canary_weight=10))
    assert spec.resolved_weights() == {"v1": 90, "v2": 10}
    assert list(parse_split(split_props(weights={"v2": 10, "v1": 90})).resolved_weights()) == ["v1", "v2"]


def test_route_needs_a_path_or_a_name() -> None:
    failure = only_failure(parse_policy, policy_props(route={"path_type": "exact"}))
    assert failure.property == "route"
    assert "route.path" in failure.reason and "route.name" in failure.reason


def test_adopting_by_name_alone_is_fine() -> None:
    assert parse_policy(policy_props(route={"name": "existing-route"})).route.path is None


@pytest.mark.parametrize(("path", "path_type"), [("demo", "prefix"), ("demo", "exact"), ("", "prefix")])
def test_prefix_and_exact_paths_must_be_absolute(path: str, path_type: str) -> None:
    failure = only_failure(parse_policy, policy_props(route={"path": path, "path_type": path_type}))
    assert failure.property == "route.path"


@pytest.mark.parametrize(
    ("pattern", "fragment"),
    [("/demo/(", "not a valid regular expression"), ("/(?=x)", "lookaround"), (r"/(a)\1", "backreference")],
)
def test_regex_paths_must_compile_as_re2(pattern: str, fragment: str) -> None:
    failure = only_failure(parse_policy, policy_props(route={"path": pattern, "path_type": "regex"}))
    assert failure.property == "route.path"
    assert fragment in failure.reason


def test_absurdly_nested_regex_is_a_failure_not_a_crash() -> None:
    pattern = "(" * 500 + ")" * 500
    failure = only_failure(parse_policy, policy_props(route={"path": pattern, "path_type": "regex"}))
    assert failure.property == "route.path"


def test_path_type_must_be_known() -> None:
    failure = only_failure(parse_policy, policy_props(route={"path": "/demo", "path_type": "glob"}))
    assert failure == Failure(
        "route.path_type", "must be 'prefix', 'exact' or 'regex', got 'glob' (a string)"
    )


def test_canary_header_names_and_values() -> None:
    found = failures_of(
        parse_policy, policy_props(route={"path": "/demo", "canary_headers": {"x canary": "1", "x-ok": ""}})
    )
    assert "is not a valid HTTP header name" in found['route.canary_headers["x canary"]']
    assert found['route.canary_headers["x-ok"]'].startswith("must not be empty")


def test_canary_header_names_ignore_case() -> None:
    failure = only_failure(
        parse_policy, policy_props(route={"path": "/d", "canary_headers": {"x-c": "1", "X-C": "2"}})
    )
    assert failure.property == 'route.canary_headers["X-C"]'
    assert "ignore case" in failure.reason


def test_at_most_16_canary_headers() -> None:
    headers = {f"x-h{i}": "1" for i in range(17)}
    failure = only_failure(parse_policy, policy_props(route={"path": "/d", "canary_headers": headers}))
    assert failure == Failure("route.canary_headers", "at most 16 headers are allowed, got 17")


def test_canary_deployment_fields() -> None:
    found = failures_of(parse_policy, policy_props(canary_deployment={"image": "demo 2", "replicas": -1}))
    assert "is not a valid container image" in found["canary_deployment.image"]
    assert found["canary_deployment.replicas"] == "must be a whole number from 0 to 2147483647, got -1"
    assert failures_of(parse_policy, policy_props(canary_deployment={}))[
        "canary_deployment.image"
    ].startswith("is required")


def test_readiness_timeout_and_allow_unready_types() -> None:
    found = failures_of(parse_policy, policy_props(readiness_timeout_seconds=-5, allow_unready="yes"))
    assert found["readiness_timeout_seconds"] == "must be a whole number from 0 to 86400, got -5"
    assert found["allow_unready"] == "must be true or false, got 'yes' (a string)"


# ---- gateways -----------------------------------------------------------------------------------------


def test_mse_gateway_fields() -> None:
    found = failures_of(
        parse_policy, policy_props(gateway={"kind": "mse", "gateway_id": "gw 1", "region": "Hangzhou"})
    )
    assert "is not a valid MSE gateway id" in found["gateway.gateway_id"]
    assert "is not a valid Alibaba Cloud region id" in found["gateway.region"]


@pytest.mark.parametrize(
    ("endpoint", "host", "protocol"),
    [
        ("mse.cn-hangzhou.aliyuncs.com", "mse.cn-hangzhou.aliyuncs.com", "https"),
        ("http://127.0.0.1:8080", "127.0.0.1:8080", "http"),
        ("https://example.com:443", "example.com:443", "https"),
    ],
)
def test_mse_endpoint_override(endpoint: str, host: str, protocol: str) -> None:
    gateway = parse_policy(policy_props(gateway={**policy_props()["gateway"], "endpoint": endpoint})).gateway
    assert isinstance(gateway, MseGatewaySpec)
    assert (gateway.endpoint_host(), gateway.endpoint_protocol()) == (host, protocol)


@pytest.mark.parametrize("endpoint", ["ftp://x", "http://x/path", "x:99999", "", "http://"])
def test_bad_mse_endpoints(endpoint: str) -> None:
    gateway = {**policy_props()["gateway"], "endpoint": endpoint}
    assert only_failure(parse_policy, policy_props(gateway=gateway)).property == "gateway.endpoint"


def test_gateway_kind_is_required_and_known() -> None:
    missing = only_failure(parse_policy, policy_props(gateway={"gateway_id": "gw-1"}))
    assert missing.property == "gateway.kind"
    assert missing.reason.startswith("is required: one of 'mse', 'gateway_api' or 'istio'")
    unknown = only_failure(parse_policy, policy_props(gateway={"kind": "nginx"}))
    assert unknown == Failure(
        "gateway.kind", "must be one of 'mse', 'gateway_api' or 'istio', got 'nginx' (a string)"
    )


def test_gateway_fields_are_reported_without_the_discriminator_in_the_path() -> None:
    found = failures_of(parse_policy, policy_props(gateway={"kind": "mse"}))
    assert set(found) == {"gateway.gateway_id", "gateway.region"}


def test_gateway_api_fields() -> None:
    gateway = {
        "kind": "gateway_api",
        "gateway": "Public",
        "section_name": "HTTP",
        "hostnames": ["Demo.com", "*.ok.io"],
    }
    found = failures_of(parse_policy, policy_props(gateway=gateway))
    assert "is not a valid Gateway name" in found["gateway.gateway"]
    assert "listener (section) name" in found["gateway.section_name"]
    assert "is not a valid hostname" in found["gateway.hostnames[0]"]
    assert "gateway.hostnames[1]" not in found


def test_gateway_api_hostname_limit() -> None:
    gateway = {**GATEWAY_API, "hostnames": [f"h{i}.example.com" for i in range(17)]}
    assert only_failure(parse_policy, policy_props(gateway=gateway)) == Failure(
        "gateway.hostnames", "at most 16 hostnames are allowed, got 17"
    )


@pytest.mark.parametrize(
    ("path", "fragment"),
    [("/a//b", "'//'"), ("/a/../b", "'/../'"), ("/a%2fb", "'%2f'"), ("/a/.", "'/.'"), ("/a b", "")],
)
def test_gateway_api_rejects_paths_its_crd_rejects(path: str, fragment: str) -> None:
    failure = only_failure(parse_policy, policy_props(gateway=GATEWAY_API, route={"path": path}))
    assert failure.property == "route.path"
    assert fragment in failure.reason


def test_the_same_paths_are_fine_on_mse() -> None:
    assert parse_policy(policy_props(route={"path": "/a//b"})).route.path == "/a//b"


def test_regex_paths_are_allowed_on_every_gateway() -> None:
    # Gateway API: RegularExpression is implementation-specific; the CRD accepts it, so do we.
    for gateway in (GATEWAY_API, ISTIO, policy_props()["gateway"]):
        spec = parse_policy(
            policy_props(gateway=gateway, route={"path": "/v[0-9]+/.*", "path_type": "regex"})
        )
        assert spec.route.path_type == "regex"


def test_kubernetes_gateways_adopt_objects_by_dns_subdomain_name() -> None:
    for gateway, resource in ((GATEWAY_API, "HTTPRoute"), (ISTIO, "VirtualService")):
        failure = only_failure(parse_policy, policy_props(gateway=gateway, route={"name": "My_Route"}))
        assert failure.property == "route.name"
        assert f"is not a valid {resource} name" in failure.reason
    assert (
        parse_policy(policy_props(route={"name": "My_Route"})).route.name == "My_Route"
    )  # MSE names are free


def test_istio_fields() -> None:
    found = failures_of(
        parse_policy, policy_props(gateway={"kind": "istio", "hosts": [], "gateways": ["a/b/c"]})
    )
    assert found["gateway.hosts"] == "must list at least one host, e.g. 'demo.example.com'"
    assert "is not a valid Istio gateway" in found["gateway.gateways[0]"]
    spec = parse_policy(policy_props(gateway={"kind": "istio", "hosts": ["*"], "gateways": ["mesh", "gw"]}))
    assert spec.gateway.kind == "istio"


# ---- shape errors and unknown keys --------------------------------------------------------------------


def test_unknown_keys_are_named_with_a_suggestion() -> None:
    failure = only_failure(parse_policy, policy_props(canary_verison="v2"))
    assert failure == Failure(
        "canary_verison", "'canary_verison' is not a property of CanaryPolicy; did you mean 'canary_version'?"
    )
    nested = only_failure(parse_policy, policy_props(service={"name": "demo", "port": 80, "nmespace": "x"}))
    assert nested.property == "service.nmespace"
    assert "is not a property of ServiceRef; did you mean 'namespace'?" in nested.reason


def test_unknown_keys_without_a_close_match_list_the_properties() -> None:
    failure = only_failure(parse_policy, policy_props(route={"path": "/d", "zzz": 1}))
    assert failure.reason.startswith("'zzz' is not a property of RouteMatch; its properties are 'path'")


def test_split_only_keys_are_unknown_on_a_policy() -> None:
    assert only_failure(parse_policy, policy_props(weights={"v1": 100})).property == "weights"


def test_missing_properties_say_what_to_give() -> None:
    found = failures_of(parse_split, {"__provider": "x"})
    assert set(found) == {
        "gateway",
        "service",
        "route",
        "label_key",
        "stable_version",
        "canary_version",
        "policy",
        "weights",
    }
    assert found["label_key"] == "is required: the pod label that carries the version, e.g. 'version'"


def test_wrong_shapes() -> None:
    found = failures_of(parse_policy, policy_props(service="demo", route=["/demo"], gateway=5, label_key=7))
    assert (
        found["service"]
        == "must be a ServiceRef: a mapping with name, namespace and port, got 'demo' (a string)"
    )
    assert found["route"].startswith("must be a RouteMatch")
    assert found["gateway"].startswith("must be a gateway")
    assert found["label_key"] == "must be a string, got 7 (an integer)"


@pytest.mark.parametrize("props", [None, "x", 5, [1, 2], object()])
def test_inputs_that_are_not_a_mapping(props: object) -> None:
    failure = only_failure(parse_policy, props)
    assert failure.property == "(inputs)"
    assert failure.reason.startswith("the inputs must be a mapping of property names to values")


def test_non_string_keys() -> None:
    props: dict[Any, Any] = policy_props()
    props[7] = "x"
    assert only_failure(parse_policy, props) == Failure(
        "(inputs)", "property names must be strings, got 7 (an integer)"
    )
    found = failures_of(parse_split, split_props(weights={"v1": 90, "v2": 10, 3: 0}))
    assert found["weights"].startswith("keys must be strings, got 3")


def test_huge_values_are_shortened_in_messages() -> None:
    failure = only_failure(parse_policy, policy_props(stable_version="v" * 100_000))
    assert len(failure.reason) < 400
    assert "(100000 characters)" in failure.reason


def test_every_problem_is_reported_at_once() -> None:
    found = failures_of(
        parse_split,
        split_props(
            label_key="a/b/c",
            stable_version="Bad!",
            service={"name": "Demo", "port": 0},
            route={"path": "demo"},
            gateway={"kind": "mse", "gateway_id": "gw-1"},
            weights={"v1": 90, "v2": 5},
            extra=1,
        ),
    )
    assert set(found) == {
        "label_key",
        "stable_version",
        "service.name",
        "service.port",
        "route.path",
        "gateway.region",
        "weights",
        "extra",
    }


def test_cross_property_rules_still_run_when_other_fields_fail() -> None:
    found = failures_of(
        parse_split, split_props(canary_version="v1", weights={"v1": 50, "v2": 5}, label_key="")
    )
    assert found["canary_version"] == "stable_version and canary_version must differ (both are 'v1')"
    assert "label_key" in found


def test_a_failure_is_reported_once() -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_policy(policy_props(canary_version="v1"))
    assert len(caught.value.failures) == len(set(caught.value.failures))


def test_direct_construction_enforces_the_same_rules() -> None:
    props = policy_props(canary_version="v1")
    del props["__provider"]
    with pytest.raises(ValueError, match="must differ"):
        CanaryPolicySpec.model_validate(props)
    with pytest.raises(ValueError, match="sum to exactly 100"):
        TrafficSplitSpec.model_validate({**split_props(weights={"v1": 1, "v2": 1}), "__provider": None})


# ---- preview: unknown values --------------------------------------------------------------------------


class Unknown:
    """Stands in for pulumi.output.Unknown (this layer never imports pulumi)."""


def is_unknown(value: object) -> bool:
    return isinstance(value, Unknown)


def test_check_skips_problems_about_unknown_values() -> None:
    # During preview a split's versions come from a policy that is still being created.
    props = split_props(stable_version=Unknown(), canary_version=Unknown(), policy=Unknown(), route=Unknown())
    assert check_split(props, is_unknown=is_unknown) == ()


def test_check_still_reports_known_problems_next_to_unknowns() -> None:
    props = split_props(stable_version=Unknown(), weights={"v1": 90, "v2": 5}, label_key="a/b/c")
    failures = check_split(props, is_unknown=is_unknown)
    assert {failure.property for failure in failures} == {"label_key", "weights"}


def test_unknown_inside_a_nested_value() -> None:
    props = policy_props(
        gateway={"kind": Unknown(), "gateway_id": "gw-1"}, service={"name": Unknown(), "port": 0}
    )
    failures = check_policy(props, is_unknown=is_unknown)
    assert [failure.property for failure in failures] == ["service.port"]


def test_check_without_unknowns_equals_parse() -> None:
    props = split_props(weights={"v1": 1, "v2": 2})
    with pytest.raises(InvalidInputError) as caught:
        parse_split(props)
    assert check_split(props) == caught.value.failures
    assert check_split(split_props()) == ()


def test_unknowns_without_the_predicate_are_plain_invalid_values() -> None:
    failure = only_failure(parse_policy, policy_props(label_key=Unknown()))
    assert failure.property == "label_key"
    assert "must be a string" in failure.reason


def test_a_predicate_that_raises_is_tolerated() -> None:
    def broken(value: object) -> bool:
        raise RuntimeError("boom")

    assert check_policy(policy_props(), is_unknown=broken) == ()


def test_hostile_values_do_not_escape_as_other_errors() -> None:
    class Hostile:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

        def __eq__(self, other: object) -> bool:
            raise RuntimeError("no eq")

        __hash__ = object.__hash__

    found = failures_of(
        parse_split, split_props(stable_version=Hostile(), weights={"v1": Hostile(), "v2": 10})
    )
    assert "stable_version" in found


def test_empty_weights() -> None:
    found = failures_of(parse_split, split_props(weights={}))
    assert found["weights"].startswith("missing 'v1' and 'v2'")
    assert found["weights"].endswith("weights must sum to exactly 100, got 0")
