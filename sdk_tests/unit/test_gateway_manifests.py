"""The pure halves of the Gateway API and Istio drivers: manifests, entry bookkeeping, field ownership.

No I/O: every function here turns values into values. The apiserver's own view of these manifests is
tested in ``sdk_tests/engine/test_k8s_schema.py``.
"""

from __future__ import annotations

import hashlib
import json
from types import SimpleNamespace

import pytest

from pulumi_canary.drivers import gateway_api as gw
from pulumi_canary.drivers import istio, kube
from pulumi_canary.drivers import k8s_routes as kr
from pulumi_canary.drivers.k8s_routes.marks import ROLLOUT_ANNOTATION
from pulumi_canary.errors import Failure, PreconditionError
from pulumi_canary.model import (
    GatewayApiSpec,
    IstioSpec,
    RouteMatchSpec,
    RouteSnapshot,
    ServiceRefSpec,
    check_policy,
)

OWNER = "proj/dev/demo"
SERVICE = ServiceRefSpec(name="demo-service", namespace="shop", port=80)
GATEWAY = GatewayApiSpec(kind="gateway_api", gateway="public-gw", namespace="infra", section_name="https")
MESH = IstioSpec(kind="istio", hosts=("demo.example.com",), gateways=("istio-system/public",))


def header_failures(kind: str, headers: dict[str, str]) -> tuple[Failure, ...]:
    """What check() says about these canary headers on a gateway of this kind."""
    gateway = {
        "gateway_api": {"kind": "gateway_api", "gateway": "public-gw"},
        "istio": {"kind": "istio", "hosts": ["demo.example.com"]},
    }[kind]
    props = {
        "gateway": gateway,
        "service": {"name": "demo", "port": 80},
        "route": {"path": "/demo", "canary_headers": headers},
        "label_key": "version",
        "stable_version": "v1",
        "canary_version": "v2",
    }
    return check_policy(props)


def route(**fields: object) -> RouteMatchSpec:
    return RouteMatchSpec.model_validate({"path": "/demo", **fields})


# ---- names and marks ---------------------------------------------------------------------------------


def test_created_objects_are_named_after_the_service_and_a_hash_of_the_owner() -> None:
    name = kr.route_name_for("demo-service", OWNER)
    assert name.startswith("demo-service-canary-") and len(name) == len("demo-service-canary-") + 8
    assert name == kr.route_name_for("demo-service", OWNER)
    assert name != kr.route_name_for("demo-service", "proj/prod/demo")


@pytest.mark.parametrize(
    ("annotations", "expected"),
    [
        (None, "unowned"),
        ({}, "unowned"),
        ({kr.OWNER_ANNOTATION: OWNER}, "self"),
        ({kr.OWNER_ANNOTATION: "other/stack/x"}, "other"),
    ],
)
def test_the_owner_annotation_says_whose_route_it_is(annotations: object, expected: str) -> None:
    assert kr.route_owner({"annotations": annotations}, OWNER) == expected


def test_only_created_objects_get_the_managed_by_label() -> None:
    created = kr.ownership_metadata("r", "shop", OWNER, created=True)
    adopted = kr.ownership_metadata("r", "shop", OWNER, created=False)
    assert created["labels"] == {
        "app.kubernetes.io/managed-by": "pulumi-canary",
        kr.OWNER_LABEL: hashlib.sha256(OWNER.encode()).hexdigest()[:16],
    }
    assert "labels" not in adopted  # an adopted route may carry another tool's managed-by label
    assert created["annotations"] == adopted["annotations"] == {kr.OWNER_ANNOTATION: OWNER}


def test_the_snapshot_travels_in_an_annotation_and_comes_back_equal() -> None:
    snapshot = RouteSnapshot("legacy", ("v1",), {"entries": [{"a": 1}], "index": 0, "claimants": []})
    metadata = kr.ownership_metadata("legacy", "shop", OWNER, created=False, original=snapshot)
    assert kr.stored_snapshot(metadata) == snapshot
    assert kr.stored_snapshot({"annotations": {}}) is None


def test_a_damaged_snapshot_annotation_is_a_clear_error() -> None:
    with pytest.raises(PreconditionError, match="damaged"):
        kr.stored_snapshot({"name": "legacy", "annotations": {kr.ORIGINAL_ANNOTATION: "{not json"}})


# ---- adopted entry lists -------------------------------------------------------------------------------


def test_ours_replace_the_adopted_entry_and_are_found_again_by_position() -> None:
    adoption = kr.Adoption(({"n": 0}, {"n": 1}, {"n": 2}), index=1)
    composed = adoption.compose([{"ours": "headers"}, {"ours": "weights"}])
    assert composed == [{"n": 0}, {"ours": "headers"}, {"ours": "weights"}, {"n": 2}]
    assert adoption.ours(composed) == [{"ours": "headers"}, {"ours": "weights"}]
    assert adoption.base == {"n": 1}
    assert kr.our_entries(None, composed) == composed  # a created route is ours entirely


def test_an_adoption_survives_the_round_trip_through_a_snapshot() -> None:
    adoption = kr.Adoption(({"n": 0},), 0, ({"manager": "helm", "operation": "Update"},))
    assert kr.Adoption.from_snapshot(RouteSnapshot("r", (), adoption.to_data())) == adoption
    with pytest.raises(PreconditionError, match="damaged"):
        kr.Adoption.from_snapshot(RouteSnapshot("r", (), {"entries": [], "index": 0}))


def test_a_snapshot_read_back_from_pulumi_outputs_has_its_whole_numbers_back() -> None:
    # Pulumi carries every number as a double; integer fields of the route schemas refuse 80.0.
    data = {"entries": [{"backendRefs": [{"port": 80.0, "weight": 1.0}], "mirror": 12.5}], "index": 0.0}
    adoption = kr.Adoption.from_snapshot(RouteSnapshot("r", (), data))
    assert adoption.index == 0 and isinstance(adoption.index, int)
    assert adoption.base == {"backendRefs": [{"port": 80, "weight": 1}], "mirror": 12.5}
    assert isinstance(adoption.base["backendRefs"][0]["port"], int)


# ---- field ownership -----------------------------------------------------------------------------------

HELM = {
    "manager": "helm",
    "operation": "Update",
    "apiVersion": "gateway.networking.k8s.io/v1",
    "fieldsType": "FieldsV1",
    "fieldsV1": {"f:spec": {"f:parentRefs": {}, "f:rules": {}}},
}
KUBECTL = {
    "manager": "kubectl",
    "operation": "Apply",
    "apiVersion": "gateway.networking.k8s.io/v1",
    "fieldsType": "FieldsV1",
    "fieldsV1": {"f:spec": {"f:rules": {}}},
}


def test_taking_over_moves_only_the_entry_list_to_pulumi_canary() -> None:
    moved = kr.take_over([HELM, KUBECTL], "rules", "gateway.networking.k8s.io/v1")
    assert [entry["manager"] for entry in moved] == ["helm", "pulumi-canary"]  # kubectl owned nothing else
    assert moved[0]["fieldsV1"] == {"f:spec": {"f:parentRefs": {}}}
    assert moved[1] == {
        "manager": "pulumi-canary",
        "operation": "Apply",
        "fieldsType": "FieldsV1",
        "apiVersion": "gateway.networking.k8s.io/v1",
        "fieldsV1": {"f:spec": {"f:rules": {}}},
    }
    assert HELM["fieldsV1"] == {"f:spec": {"f:parentRefs": {}, "f:rules": {}}}, "inputs are not mutated"


def test_handing_back_restores_the_original_ownership_exactly() -> None:
    original = [HELM, KUBECTL]
    claimed = kr.claimants(original, "rules")
    assert [c["manager"] for c in claimed] == ["helm", "kubectl"]
    ours = kr.take_over(original, "rules", "gateway.networking.k8s.io/v1")
    ours.append({"manager": "pulumi-canary", "operation": "Update", "fieldsV1": {"f:metadata": {}}})
    back = kr.hand_back(ours, "rules", claimed)
    assert sorted(back, key=lambda e: e["manager"]) == sorted(original, key=lambda e: e["manager"])


def test_the_adopt_patch_is_conditional_and_changes_no_value_but_our_marks() -> None:
    route_object = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "metadata": {
            "name": "legacy",
            "namespace": "shop",
            "resourceVersion": "42",
            "annotations": {"note": "kept"},
            "managedFields": [HELM],
        },
    }
    snapshot = RouteSnapshot("legacy", (), {"entries": [{}], "index": 0, "claimants": []})
    patch = kr.adopt_patch(route_object, "rules", OWNER, snapshot)
    assert patch[0] == {"op": "test", "path": "/metadata/resourceVersion", "value": "42"}
    paths = [op["path"] for op in patch[1:]]
    assert paths == [
        "/metadata/annotations/pulumi-canary.io~1owner",
        "/metadata/annotations/pulumi-canary.io~1original",
        "/metadata/managedFields",
    ]
    assert json.loads(patch[2]["value"]) == snapshot.to_props()


def test_the_release_patch_drops_our_marks_and_hands_the_list_back() -> None:
    route_object = {
        "metadata": {
            "resourceVersion": "7",
            "annotations": {
                kr.OWNER_ANNOTATION: OWNER,
                kr.ORIGINAL_ANNOTATION: "{}",
                ROLLOUT_ANNOTATION: "{}",
                "note": "kept",
            },
            "managedFields": kr.take_over([HELM], "rules", "v1"),
        }
    }
    patch = kr.release_patch(route_object, "rules", kr.claimants([HELM], "rules"))
    assert patch[0]["op"] == "test"
    assert [(op["op"], op["path"]) for op in patch[1:4]] == [
        ("remove", "/metadata/annotations/pulumi-canary.io~1owner"),
        ("remove", "/metadata/annotations/pulumi-canary.io~1original"),
        ("remove", "/metadata/annotations/pulumi-canary.io~1rollout"),
    ]
    assert patch[-1]["value"] == [HELM]


def test_a_field_manager_conflict_names_the_manager_and_the_field() -> None:
    cause = SimpleNamespace(
        reason="FieldManagerConflict",
        field=".spec.rules",
        message='conflict with "argo-rollouts" using gateway.networking.k8s.io/v1',
    )
    other = SimpleNamespace(reason="FieldValueInvalid", field=".spec", message="nope")
    error = SimpleNamespace(status=SimpleNamespace(details=SimpleNamespace(causes=[cause, other])))
    causes = kube.conflict_causes(error)
    assert causes == [(".spec.rules", "argo-rollouts")]
    message = kube.conflict_message("HTTPRoute", "shop", "demo", causes)
    assert "'argo-rollouts'" in message and ".spec.rules" in message and "does not force" in message


# ---- Gateway API -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path_type", "kind"), [("prefix", "PathPrefix"), ("exact", "Exact"), ("regex", "RegularExpression")]
)
def test_path_types_map_to_http_route_match_types(path_type: str, kind: str) -> None:
    assert gw.path_match(route(path_type=path_type)) == {"type": kind, "value": "/demo"}


def test_weighted_backends_are_the_version_services_with_every_default_spelled_out() -> None:
    refs = gw.weighted_backend_refs(SERVICE, {"v1": 90, "V2.beta": 10})
    assert refs[0] == {"group": "", "kind": "Service", "name": "demo-service-v1", "port": 80, "weight": 90}
    assert refs[1]["name"].startswith("demo-service-v2-beta-") and refs[1]["weight"] == 10


def test_a_created_route_is_one_weighted_rule_when_no_header_routing_is_asked() -> None:
    refs = gw.weighted_backend_refs(SERVICE, {"v1": 100, "v2": 0})
    rules = gw.our_rules({}, route(), refs, "demo-service-v2")
    assert rules == [{"matches": [{"path": {"type": "PathPrefix", "value": "/demo"}}], "backendRefs": refs}]


def test_the_header_rule_comes_first_and_sends_only_to_the_canary() -> None:
    refs = gw.weighted_backend_refs(SERVICE, {"v1": 100, "v2": 0})
    headers = {"x-canary": "always", "X-Team": "qa"}
    header, weighted = gw.our_rules({}, route(canary_headers=headers), refs, "demo-service-v2")
    assert header["matches"] == [
        {
            "path": {"type": "PathPrefix", "value": "/demo"},
            "headers": [
                {"type": "Exact", "name": "X-Team", "value": "qa"},
                {"type": "Exact", "name": "x-canary", "value": "always"},
            ],
        }
    ]
    assert header["backendRefs"] == [{**refs[1], "weight": 1}]
    assert weighted["backendRefs"] == refs


def test_no_header_rule_while_the_canary_is_off_the_route() -> None:
    # On delete the canary leaves the route before its Service goes: no rule may point at it then.
    refs = gw.weighted_backend_refs(SERVICE, {"v1": 100})
    assert len(gw.our_rules({}, route(canary_headers={"x-canary": "1"}), refs, "demo-service-v2")) == 1


def test_an_adopted_rule_keeps_its_filters_and_the_header_twin_drops_only_its_name() -> None:
    base = {
        "name": "main",
        "matches": [{"path": {"type": "PathPrefix", "value": "/demo"}}],
        "timeouts": {"request": "10s"},
        "backendRefs": [gw.backend_ref("demo-service", 80, 1)],
    }
    refs = gw.weighted_backend_refs(SERVICE, {"v1": 90, "v2": 10})
    header, weighted = gw.our_rules(base, route(canary_headers={"x-canary": "1"}), refs, "demo-service-v2")
    assert weighted == {**base, "backendRefs": refs}
    assert "name" not in header and header["timeouts"] == {"request": "10s"}


def test_our_header_match_replaces_one_on_the_same_name_whatever_its_case() -> None:
    candidate = {
        "path": {"type": "Exact", "value": "/"},
        "headers": [
            {"type": "Exact", "name": "X-CANARY", "value": "old"},
            {"type": "Exact", "name": "x-other", "value": "kept"},
        ],
    }
    merged = gw.with_headers(candidate, {"x-canary": "new"})
    assert merged["headers"] == [
        {"type": "Exact", "name": "x-other", "value": "kept"},
        {"type": "Exact", "name": "x-canary", "value": "new"},
    ]


def test_the_rule_to_adopt_is_a_plain_match_on_the_path_or_the_only_rule() -> None:
    plain = {"matches": [{"path": {"type": "PathPrefix", "value": "/demo"}}]}
    with_header = {
        "matches": [
            {"path": {"type": "PathPrefix", "value": "/demo"}, "headers": [{"name": "x", "value": "y"}]}
        ]
    }
    other = {"matches": [{"path": {"type": "PathPrefix", "value": "/other"}}]}
    assert gw.rule_with_path([other, with_header, plain], route()) == 2
    assert gw.rule_with_path([other, with_header], route()) is None
    assert kr.entry_to_adopt([other], route(), gw.rule_with_path) == 0  # adopted by name: the only rule
    assert kr.entry_to_adopt([other, with_header], route(), gw.rule_with_path) is None
    assert gw.rule_with_path([plain], route(path_type="exact")) is None


def test_adopting_by_name_with_a_new_path_retargets_the_rule() -> None:
    base = {"matches": [{"path": {"type": "PathPrefix", "value": "/old"}}]}
    assert gw.retargeted_matches(base, route()) == [{"path": {"type": "PathPrefix", "value": "/demo"}}]
    assert gw.retargeted_matches(base, RouteMatchSpec(name="legacy")) == base["matches"]


def test_a_created_route_attaches_to_the_gateway_listener_with_its_hostnames() -> None:
    spec = GATEWAY.model_copy(update={"hostnames": ("a.example.com", "*.example.org")})
    manifest = gw.created_route_manifest("r", "shop", OWNER, spec, [{"matches": []}])
    assert manifest["spec"]["parentRefs"] == [
        {
            "group": "gateway.networking.k8s.io",
            "kind": "Gateway",
            "name": "public-gw",
            "namespace": "infra",
            "sectionName": "https",
        }
    ]
    assert manifest["spec"]["hostnames"] == ["a.example.com", "*.example.org"]
    bare = gw.created_route_manifest("r", "shop", OWNER, GatewayApiSpec(kind="gateway_api", gateway="g"), [])
    assert bare["spec"]["parentRefs"] == [
        {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "g"}
    ]
    assert "hostnames" not in bare["spec"]


def test_an_adopted_route_gets_only_marks_and_rules() -> None:
    snapshot = RouteSnapshot("legacy", (), {"entries": [{}], "index": 0, "claimants": []})
    manifest = gw.adopted_route_manifest("legacy", "shop", OWNER, snapshot, [{"matches": []}])
    assert set(manifest["spec"]) == {"rules"}
    assert "labels" not in manifest["metadata"]
    assert kr.stored_snapshot(manifest["metadata"]) == snapshot


def test_a_version_service_selects_the_service_pods_with_the_version_label_on_the_same_ports() -> None:
    base = {
        "metadata": {"name": "demo-service", "namespace": "shop"},
        "spec": {
            "type": "NodePort",
            "selector": {"app": "demo"},
            "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP", "nodePort": 30080}],
        },
    }
    manifest = gw.version_service_manifest(base, "demo-service-v2", "v2", {"version": "v2"}, OWNER)
    assert manifest["spec"] == {
        "type": "ClusterIP",
        "selector": {"app": "demo", "version": "v2"},
        "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}],
    }
    assert manifest["metadata"]["annotations"] == {
        kr.OWNER_ANNOTATION: OWNER,
        "pulumi-canary.io/version": "v2",
    }


def test_a_version_service_whose_selector_drifted_reads_as_a_different_version() -> None:
    base = {"app": "demo"}
    assert gw.selected_labels({"app": "demo", "version": "v2"}, base, "version") == {"version": "v2"}
    drifted = gw.selected_labels({"version": "v2"}, base, "version")  # would select every app's v2 pods
    assert drifted != {"version": "v2"} and gw.DRIFTED_SELECTOR in drifted


def test_weights_are_read_from_version_services_only() -> None:
    rule = {
        "backendRefs": [
            gw.backend_ref("demo-service-v1", 80, 90),
            gw.backend_ref("demo-service", 80, 5),
            {"name": "demo-service-v2", "port": 80},
        ]
    }  # weight defaults to 1
    versions = {"demo-service-v1": "v1", "demo-service-v2": "v2"}
    assert gw.weights_of_rule(rule, versions) == {"v1": 90, "v2": 1}
    assert gw.weights_of_rule(None, versions) == {}


def test_a_route_is_attached_to_the_gateway_of_its_parent_refs() -> None:
    def on(*refs: dict[str, str]) -> dict[str, object]:
        return {"metadata": {"namespace": "shop"}, "spec": {"parentRefs": list(refs)}}

    assert gw.attached_to(on({"name": "public-gw", "namespace": "infra"}), GATEWAY)
    assert not gw.attached_to(on({"name": "public-gw"}), GATEWAY)  # that one is in "shop"
    local = GatewayApiSpec(kind="gateway_api", gateway="public-gw")
    assert gw.attached_to(on({"name": "public-gw"}), local)
    assert not gw.attached_to(on({"name": "public-gw", "kind": "ListenerSet"}), local)


def test_a_redirecting_rule_cannot_be_split() -> None:
    assert gw.unsplittable({"filters": [{"type": "RequestRedirect"}]}) is not None
    assert gw.unsplittable({"filters": [{"type": "URLRewrite"}]}) is None


@pytest.mark.parametrize("value", ["two  spaces", " leading", "trailing ", "caf\u00e9", "tab\t\tpair"])
def test_header_values_the_http_route_schema_rejects_are_refused_up_front(value: str) -> None:
    failures = header_failures("gateway_api", {"x-canary": value})
    assert [f.property for f in failures] == ['route.canary_headers["x-canary"]']


def test_ordinary_header_values_are_fine_on_the_gateway_api() -> None:
    assert header_failures("gateway_api", {"x-canary": "always on", "x-b": "a\tb"}) == ()


# ---- Istio ---------------------------------------------------------------------------------------------


def test_destinations_name_the_service_fqdn_and_a_dns_label_subset() -> None:
    assert istio.destination(SERVICE, "V2_beta", 10)["destination"]["host"] == (
        "demo-service.shop.svc.cluster.local"
    )
    subset = istio.destination(SERVICE, "V2_beta", 10)["destination"]["subset"]
    assert subset.startswith("demo-service-v2-beta-") and len(subset) <= 63


@pytest.mark.parametrize("path_type", ["prefix", "exact", "regex"])
def test_uri_matches_use_the_istio_string_match_of_the_path_type(path_type: str) -> None:
    assert istio.uri_match(route(path_type=path_type)) == {path_type: "/demo"}


def test_the_header_entry_lowercases_keys_and_comes_before_the_weighted_one() -> None:
    dests = istio.weighted_destinations(SERVICE, {"v1": 100, "v2": 0})
    header, weighted = istio.our_entries(
        {}, route(canary_headers={"X-Canary": "always"}), dests, "demo-service-v2"
    )
    assert header["match"] == [{"uri": {"prefix": "/demo"}, "headers": {"x-canary": {"exact": "always"}}}]
    assert header["route"] == [{"destination": dests[1]["destination"], "weight": 100}]
    assert weighted == {"match": [{"uri": {"prefix": "/demo"}}], "route": dests}


def test_a_catch_all_entry_adopted_by_name_stays_a_catch_all() -> None:
    base = {"route": [{"destination": {"host": "demo-service"}}], "timeout": "5s"}
    entry = istio.weighted_entry(base, RouteMatchSpec(name="legacy"), [{"destination": {"host": "x"}}])
    assert "match" not in entry and entry["timeout"] == "5s"


def test_istio_weights_read_subsets_of_the_service_under_any_of_its_names() -> None:
    hosts = istio.host_forms(SERVICE)
    subsets = {"demo-service-v1": "v1", "demo-service-v2": "v2"}
    entry = {
        "route": [
            {"destination": {"host": "demo-service", "subset": "demo-service-v1"}, "weight": 70},
            {"destination": {"host": "demo-service.shop.svc", "subset": "demo-service-v2"}, "weight": 30},
            {"destination": {"host": "elsewhere", "subset": "demo-service-v2"}, "weight": 0},
        ]
    }
    assert istio.weights_of_entry(entry, hosts, subsets) == {"v1": 70, "v2": 30}
    lone = {"route": [{"destination": {"host": "demo-service", "subset": "demo-service-v1"}}]}
    assert istio.weights_of_entry(lone, hosts, subsets) == {"v1": 100}


def test_the_destination_rule_lists_one_subset_per_version_in_a_stable_order() -> None:
    rule = istio.destination_rule("dr", SERVICE, OWNER, {"v2": {"version": "v2"}, "v1": {"version": "v1"}})
    assert rule["spec"] == {
        "host": "demo-service.shop.svc.cluster.local",
        "subsets": [
            {"name": "demo-service-v1", "labels": {"version": "v1"}},
            {"name": "demo-service-v2", "labels": {"version": "v2"}},
        ],
    }
    assert istio.subset_versions(rule, SERVICE, "version") == {
        "v1": {"version": "v1"},
        "v2": {"version": "v2"},
    }


def test_a_subset_edited_so_that_name_and_labels_disagree_is_not_a_version() -> None:
    rule = {"spec": {"subsets": [{"name": "demo-service-v1", "labels": {"version": "v9"}}]}}
    assert istio.subset_versions(rule, SERVICE, "version") == {}


def test_istio_entry_selection_and_unsplittable_entries() -> None:
    plain = {"match": [{"name": "m", "uri": {"prefix": "/demo"}}], "route": []}
    with_method = {"match": [{"uri": {"prefix": "/demo"}, "method": {"exact": "GET"}}], "route": []}
    assert istio.entry_with_path([with_method, plain], route()) == 1
    assert istio.entry_with_path([with_method], route()) is None
    assert istio.unsplittable({"redirect": {"uri": "/x"}}) == "it redirects"
    assert istio.unsplittable({"route": []}) is None


def test_reserved_header_keys_are_refused_because_istio_would_ignore_them() -> None:
    failures = header_failures("istio", {"Authority": "x", "x-canary": "1"})
    assert [f.property for f in failures] == ["route.canary_headers.Authority"]


def test_a_created_virtual_service_omits_gateways_when_it_serves_the_mesh_only() -> None:
    mesh_only = IstioSpec(kind="istio", hosts=("demo-service",))
    assert "gateways" not in istio.created_virtual_service("r", "shop", OWNER, mesh_only, [])["spec"]
    assert istio.created_virtual_service("r", "shop", OWNER, MESH, [])["spec"]["gateways"] == [
        "istio-system/public"
    ]


# ---- the factory ---------------------------------------------------------------------------------------
