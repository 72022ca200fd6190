"""The apiserver's own schema and CEL validation accept everything the Kubernetes drivers write.

Property-based: hypothesis draws policies the model accepts (paths of every type, regular expressions,
up to 16 hostnames and canary headers, odd version values, long Service names), the drivers' PURE
builders turn each into the exact manifests a `pulumi up` would apply (per-version Services, created and
adopted HTTPRoutes, DestinationRules, created and adopted VirtualServices), and the real apiserver with the
real CRDs takes each in a server-side dry-run apply. Accepted is not enough: what it would store must be
what we wrote (nothing pruned as unknown, no surprise from defaulting), since that is what a gateway
reads. Inputs a driver refuses up front (``unsupported``) must be ones the apiserver rejects: the refusal
is the apiserver's rule said earlier, not an extra restriction.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from lightkube import ApiError
from lightkube.resources.core_v1 import Service

from pulumi_canary.drivers import gateway_api as gw
from pulumi_canary.drivers import istio
from pulumi_canary.drivers import k8s_routes as kr
from pulumi_canary.errors import InvalidInputError
from pulumi_canary.model import (
    CanaryPolicySpec,
    RouteSnapshot,
    check_policy,
    parse_policy,
    version_object_name,
)

EXAMPLES = 40  # x about five dry-run requests each, per test: a few seconds against the local apiserver
SCHEMA = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
OWNER = "canarytest/test/demo"
HTTPRoute = gw.http_route_resource()
VirtualService = istio.virtual_service_resource()
DestinationRule = istio.destination_rule_resource()

# ---- inputs ------------------------------------------------------------------------------------------

label = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?", fullmatch=True)
dns_name = st.lists(label, min_size=1, max_size=4).map(".".join)
segment = st.from_regex(r"([-A-Za-z0-9._~!$&'()*+,;=:@]|%[0-9a-fA-F]{2}){1,12}", fullmatch=True)
plain_path = st.lists(segment, min_size=0, max_size=5).map(lambda parts: "/" + "/".join(parts))
regex_path = st.sampled_from(
    ["/demo/[0-9]+", "^/api/(v1|v2)/.*$", "/items/[a-z]{3,8}", "(?i)/demo", r"/a\.b", ".*", "/x|/y"]
)
path = st.one_of(
    st.tuples(st.sampled_from(["prefix", "exact"]), plain_path),
    st.tuples(st.just("regex"), regex_path),
)
header_name = st.from_regex(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,30}", fullmatch=True)
header_value = st.from_regex(r"[!-~]{1,12}( [!-~]{1,12}){0,3}", fullmatch=True)
headers = st.dictionaries(header_name, header_value, max_size=16)
version = st.from_regex(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?", fullmatch=True)
service_name = st.from_regex(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?", fullmatch=True)
hostname = st.one_of(dns_name, dns_name.map(lambda name: "*." + name))


@st.composite
def policies(draw: st.DrawFn, gateway: st.SearchStrategy[dict[str, Any]], namespace: str) -> CanaryPolicySpec:
    path_type, route_path = draw(path)
    props = {
        "gateway": draw(gateway),
        "service": {"name": draw(service_name), "namespace": namespace, "port": draw(st.integers(1, 65535))},
        "route": {"path": route_path, "path_type": path_type, "canary_headers": draw(headers)},
        "label_key": draw(st.sampled_from(["version", "app.kubernetes.io/version", "track"])),
        "stable_version": draw(version),
        "canary_version": draw(version),
    }
    try:
        return parse_policy(props)
    except InvalidInputError:
        assume(False)  # not a policy the model accepts: nothing would ever be written for it
        raise


gateway_api = st.fixed_dictionaries(
    {"kind": st.just("gateway_api"), "gateway": dns_name},
    optional={"namespace": label, "section_name": dns_name, "hostnames": st.lists(hostname, max_size=16)},
)
mesh = st.fixed_dictionaries(
    {
        "kind": st.just("istio"),
        "hosts": st.lists(st.one_of(hostname, st.just("*")), min_size=1, max_size=8),
        "gateways": st.lists(
            st.one_of(st.just("mesh"), label, st.tuples(label, dns_name).map("/".join)), max_size=3
        ),
    }
)

# ---- the apiserver's view --------------------------------------------------------------------------


def dry_run(kube: Any, resource: Any, manifest: dict[str, Any]) -> dict[str, Any]:
    stored = kube.apply(resource.from_dict(manifest), field_manager="pulumi-canary", dry_run=True)
    return dict(stored.to_dict())


def assert_stored_as_written(kube: Any, resource: Any, manifest: dict[str, Any]) -> None:
    stored = dry_run(kube, resource, manifest)
    assert stored["spec"] == manifest["spec"]
    for key in ("labels", "annotations"):
        assert stored["metadata"].get(key) == manifest["metadata"].get(key)


def weights(spec: CanaryPolicySpec, canary_percent: int) -> dict[str, int]:
    return {spec.stable_version: 100 - canary_percent, spec.canary_version: canary_percent}


def legacy(entries: list[dict[str, Any]], index: int) -> RouteSnapshot:
    return RouteSnapshot("legacy", (), kr.Adoption(tuple(entries), index).to_data())


def base_service(spec: CanaryPolicySpec) -> dict[str, Any]:
    return {
        "metadata": {"name": spec.service.name, "namespace": spec.service.namespace},
        "spec": {
            "selector": {"app": "demo"},
            "ports": [
                {"name": "http", "port": spec.service.port, "targetPort": 8080, "protocol": "TCP"},
                {"name": "admin", "port": 9090 if spec.service.port != 9090 else 9091, "targetPort": "admin"},
            ],
        },
    }


# ---- Gateway API -------------------------------------------------------------------------------------


def http_route_manifests(spec: CanaryPolicySpec, canary_percent: int) -> list[dict[str, Any]]:
    assert isinstance(spec.gateway, gw.GatewayApiSpec)
    namespace, service = spec.service.namespace, spec.service.name
    canary_service = version_object_name(service, spec.canary_version)
    refs = gw.weighted_backend_refs(spec.service, weights(spec, canary_percent))
    created = gw.our_rules({}, spec.route, refs, canary_service)
    base = {
        "matches": [{"path": {"type": "PathPrefix", "value": "/legacy"}}],
        "timeouts": {"request": "10s"},
        "filters": [
            {
                "type": "RequestHeaderModifier",
                "requestHeaderModifier": {"set": [{"name": "x-a", "value": "b"}]},
            }
        ],
        "backendRefs": [gw.backend_ref(service, spec.service.port, 1)],
    }
    other = {
        "matches": [{"path": {"type": "Exact", "value": "/other"}}],
        "backendRefs": [gw.backend_ref("other", 80, 1)],
    }
    snapshot = legacy([other, base], 1)
    adopted = kr.Adoption((other, base), 1).compose(gw.our_rules(base, spec.route, refs, canary_service))
    name = kr.route_name_for(service, OWNER)
    return [
        gw.created_route_manifest(name, namespace, OWNER, spec.gateway, created),
        gw.adopted_route_manifest("legacy", namespace, OWNER, snapshot, adopted),
    ]


@SCHEMA
@given(data=st.data(), canary_percent=st.integers(0, 100))
def test_the_apiserver_stores_every_http_route_and_version_service_as_written(
    kube: Any, namespace: str, data: st.DataObject, canary_percent: int
) -> None:
    spec = data.draw(policies(gateway_api, namespace))
    for manifest in http_route_manifests(spec, canary_percent):
        assert_stored_as_written(kube, HTTPRoute, manifest)
    for version in spec.versions:
        name = version_object_name(spec.service.name, version)
        manifest = gw.version_service_manifest(
            base_service(spec), name, version, spec.version_labels(version), OWNER
        )
        stored = dry_run(kube, Service, manifest)
        assert stored["spec"]["selector"] == manifest["spec"]["selector"]
        assert [(p["port"], p["targetPort"]) for p in stored["spec"]["ports"]] == [
            (p["port"], p["targetPort"]) for p in manifest["spec"]["ports"]
        ]


@pytest.mark.parametrize("value", ["two  spaces", " leading", "trailing ", "caf\u00e9", "tab\t\ttwice"])
def test_header_values_the_driver_refuses_are_ones_the_http_route_schema_rejects(
    kube: Any, namespace: str, value: str
) -> None:
    props = {
        "gateway": {"kind": "gateway_api", "gateway": "public-gw"},
        "service": {"name": "demo-service", "namespace": namespace, "port": 80},
        "route": {"path": "/demo", "canary_headers": {"x-canary": value}},
        "label_key": "version",
        "stable_version": "v1",
        "canary_version": "v2",
    }
    failures = check_policy(props)
    assert [f.property for f in failures] == ['route.canary_headers["x-canary"]'], "check() refuses it"
    valid = parse_policy({**props, "route": {"path": "/demo", "canary_headers": {"x-canary": "ok"}}})
    # What the driver would write if check() let it through (model_copy skips validation on purpose).
    spec = valid.model_copy(
        update={"route": valid.route.model_copy(update={"canary_headers": {"x-canary": value}})}
    )
    with pytest.raises(ApiError) as rejected:
        dry_run(kube, HTTPRoute, http_route_manifests(spec, 0)[0])
    assert rejected.value.status.code == 422


# ---- Istio ---------------------------------------------------------------------------------------------


def istio_manifests(
    spec: CanaryPolicySpec, canary_percent: int
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    assert isinstance(spec.gateway, istio.IstioSpec)
    namespace, service = spec.service.namespace, spec.service.name
    canary_subset = istio.subset_name(spec.service, spec.canary_version)
    routes = istio.weighted_destinations(spec.service, weights(spec, canary_percent))
    created = istio.our_entries({}, spec.route, routes, canary_subset)
    base = {
        "name": "legacy",
        "match": [{"uri": {"prefix": "/legacy"}}],
        "timeout": "10s",
        "retries": {"attempts": 3},
        "route": [{"destination": {"host": service}}],
    }
    other = {"match": [{"uri": {"exact": "/other"}}], "route": [{"destination": {"host": "other"}}]}
    adopted = kr.Adoption((other, base), 1).compose(
        istio.our_entries(base, spec.route, routes, canary_subset)
    )
    name = kr.route_name_for(service, OWNER)
    services = [
        istio.created_virtual_service(name, namespace, OWNER, spec.gateway, created),
        istio.adopted_virtual_service("legacy", namespace, OWNER, legacy([other, base], 1), adopted),
    ]
    versions = {version: spec.version_labels(version) for version in spec.versions}
    return services, istio.destination_rule(name, spec.service, OWNER, versions)


@SCHEMA
@given(data=st.data(), canary_percent=st.integers(0, 100))
def test_the_apiserver_stores_every_virtual_service_and_destination_rule_as_written(
    kube: Any, namespace: str, data: st.DataObject, canary_percent: int
) -> None:
    spec = data.draw(policies(mesh, namespace))
    services, rule = istio_manifests(spec, canary_percent)
    for manifest in services:
        assert_stored_as_written(kube, VirtualService, manifest)
    assert_stored_as_written(kube, DestinationRule, rule)
