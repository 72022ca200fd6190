"""The canary flow on Istio: a DestinationRule with a subset per version and a weighted VirtualService,
every step through the real engine and the real apiserver with Istio's CRDs.

The program and the watch-based history come from the Gateway API tests: the same program moves between
gateways by changing one argument.
"""

from __future__ import annotations

from typing import Any

import pytest
from lightkube.types import PatchType

import pulumi_canary as canary
from pulumi_canary.drivers.istio import destination_rule_resource, virtual_service_resource
from pulumi_canary.drivers.k8s_routes import created_labels
from sdk_tests.engine.conftest import SERVICE, Workload
from sdk_tests.engine.test_gateway_api_flow import (
    OWNER,
    QUIET,
    Program,
    as_it_was,
    deleted_at,
    deletions,
    history,
    names,
    only,
    rules_owners,
)

VirtualService = virtual_service_resource()
DestinationRule = destination_rule_resource()
DEMO = {"uri": {"prefix": "/demo"}}


@pytest.fixture
def mesh_program(namespace: str, workload: Workload) -> Program:
    return Program(canary.Istio(hosts=["demo.example.com"], gateways=["istio-system/public"]), namespace)


def host(namespace: str) -> str:
    return f"{SERVICE}.{namespace}.svc.cluster.local"


def dest(namespace: str, version: str, weight: int) -> dict[str, Any]:
    target = {"host": host(namespace), "subset": f"{SERVICE}-{version}", "port": {"number": 80}}
    return {"destination": target, "weight": weight}


def weighted(namespace: str, **weights: int) -> dict[str, Any]:
    return {
        "match": [DEMO],
        "route": [dest(namespace, version, weight) for version, weight in weights.items()],
    }


def header_entry(namespace: str, canary_version: str, **headers: str) -> dict[str, Any]:
    matches = [{**DEMO, "headers": {name: {"exact": value} for name, value in headers.items()}}]
    return {"match": matches, "route": [dest(namespace, canary_version, 100)]}


def subsets(kube: Any, namespace: str) -> list[dict[str, Any]]:
    rule = only(kube, DestinationRule, namespace)
    assert rule["spec"]["host"] == host(namespace)
    return rule["spec"]["subsets"]


def subset(version: str) -> dict[str, Any]:
    return {"name": f"{SERVICE}-{version}", "labels": {"version": version}}


def test_the_whole_flow_with_header_routing_rotation_and_an_ordered_delete(
    inline_stack, stack_env, mesh_program: Program, kube: Any, namespace: str, workload: Workload
) -> None:
    mesh_program.route = canary.RouteMatch(path="/demo", canary_headers={"X-Canary": "always"})
    stack = inline_stack(mesh_program, env=stack_env)

    up = stack.up(**QUIET)
    service = only(kube, VirtualService, namespace)
    assert up.outputs["route_id"].value == service["metadata"]["name"]
    assert up.outputs["weights"].value == {"v1": 100, "v2": 0}
    assert service["metadata"]["labels"] == created_labels(OWNER)
    assert service["metadata"]["annotations"] == {"pulumi-canary.io/owner": OWNER}
    assert service["spec"] == {
        "hosts": ["demo.example.com"],
        "gateways": ["istio-system/public"],
        # Istio wants header keys in lowercase; HTTP header names ignore case.
        "http": [header_entry(namespace, "v2", **{"x-canary": "always"}), weighted(namespace, v1=100, v2=0)],
    }
    assert rules_owners(service, "http") == [("pulumi-canary", "Apply")]
    rule = only(kube, DestinationRule, namespace)
    assert rule["metadata"]["annotations"] == {"pulumi-canary.io/owner": OWNER}
    assert subsets(kube, namespace) == [subset("v1"), subset("v2")]

    workload.wait_ready(workload.deploy("v2", replicas=1, image="demo:2.0"), 1)
    assert stack.up(**QUIET).summary.resource_changes == {"same": 2}

    mesh_program.split = {"weights": {"v1": 90, "v2": 10}}
    assert stack.up(**QUIET).outputs["split_weights"].value == {"v1": 90, "v2": 10}
    http = only(kube, VirtualService, namespace)["spec"]["http"]
    assert http == [
        header_entry(namespace, "v2", **{"x-canary": "always"}),
        weighted(namespace, v1=90, v2=10),
    ]

    mesh_program.policy = {"stable_version": "v2", "canary_version": "v1"}
    mesh_program.split = {"canary_weight": 0}
    stack.up(**QUIET)
    service = only(kube, VirtualService, namespace)
    expected = [header_entry(namespace, "v1", **{"x-canary": "always"}), weighted(namespace, v2=100, v1=0)]
    assert service["spec"]["http"] == expected

    # delete: v1 leaves the route before its subset leaves the DestinationRule; the VirtualService goes
    # before the DestinationRule that the last subset lived in
    since = service["metadata"]["resourceVersion"]
    rule_name = only(kube, DestinationRule, namespace)["metadata"]["name"]
    stack.destroy(**QUIET)
    rules = history(kube, DestinationRule, namespace, since, deletions(rule_name))
    routes = history(kube, VirtualService, namespace, since, deletions(service["metadata"]["name"]))
    v1_subset_gone = next(
        rv for rv, kind, obj in rules if kind == "MODIFIED" and obj["spec"]["subsets"] == [subset("v2")]
    )
    last_before = [obj for rv, kind, obj in routes if kind == "MODIFIED" and rv < v1_subset_gone][-1]
    assert last_before["spec"]["http"] == [weighted(namespace, v2=100)]
    assert deleted_at(routes, service["metadata"]["name"]) < deleted_at(rules, rule_name)
    assert names(kube, VirtualService, namespace) == names(kube, DestinationRule, namespace) == set()


def test_promotion_to_a_new_label_value_with_a_policy_owned_canary_deployment(
    inline_stack, stack_env, mesh_program: Program, kube: Any, namespace: str, workload: Workload
) -> None:
    mesh_program.policy = {
        "stable_version": "v1",
        "canary_version": "v2",
        "canary_deployment": canary.CanaryDeployment(image="demo:2.0", replicas=1),
    }
    stack = inline_stack(mesh_program, env=stack_env)
    stack.up(**QUIET)
    workload.wait_ready("demo-service-v2", 1)
    mesh_program.split = {"canary_weight": 30}
    stack.up(**QUIET)
    assert only(kube, VirtualService, namespace)["spec"]["http"] == [weighted(namespace, v1=70, v2=30)]

    mesh_program.policy = {
        "stable_version": "v2",
        "canary_version": "v3",
        "canary_deployment": canary.CanaryDeployment(image="demo:3.0", replicas=1),
    }
    mesh_program.split = {"canary_weight": 0}
    stack.up(**QUIET)
    assert only(kube, VirtualService, namespace)["spec"]["http"] == [weighted(namespace, v2=100, v3=0)]
    assert subsets(kube, namespace) == [subset("v2"), subset("v3")]
    assert workload.deployment("demo-service-v3").spec.template.spec.containers[0].image == "demo:3.0"

    stack.destroy(**QUIET)
    assert names(kube, VirtualService, namespace) == names(kube, DestinationRule, namespace) == set()
    assert "demo-service-v3" not in workload.deployment_names()


def legacy_service(namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": "legacy", "namespace": namespace},
        "spec": {
            "hosts": ["demo.example.com"],
            "gateways": ["istio-system/public"],
            "http": [
                {"match": [{"uri": {"prefix": "/shop"}}], "route": [{"destination": {"host": "shop"}}]},
                {
                    "name": "demo",
                    "match": [DEMO],
                    "timeout": "10s",
                    "route": [{"destination": {"host": SERVICE}}],
                },
            ],
        },
    }


def test_an_existing_virtual_service_is_adopted_by_name_and_restored_with_its_ownership(
    inline_stack,
    stack_env,
    mesh_program: Program,
    kube: Any,
    kubeconfig: Any,
    namespace: str,
    workload: Workload,
) -> None:
    from lightkube import Client, KubeConfig

    platform = Client(config=KubeConfig.from_file(kubeconfig), field_manager="platform-team")
    platform.apply(VirtualService.from_dict(legacy_service(namespace)))
    before = kube.get(VirtualService, "legacy", namespace=namespace).to_dict()
    workload.wait_ready(workload.deploy("v2", replicas=1, image="demo:2.0"), 1)
    mesh_program.route = canary.RouteMatch(name="legacy", path="/demo", canary_headers={"x-canary": "always"})
    mesh_program.split = {"weights": {"v1": 90, "v2": 10}}
    stack = inline_stack(mesh_program, env=stack_env)

    assert stack.up(**QUIET).outputs["route_id"].value == "legacy"
    adopted = only(kube, VirtualService, namespace)
    shop, demo = before["spec"]["http"]
    assert adopted["spec"]["http"] == [
        shop,
        {**header_entry(namespace, "v2", **{"x-canary": "always"}), "timeout": "10s"},
        {**weighted(namespace, v1=90, v2=10), "name": "demo", "timeout": "10s"},
    ]
    assert rules_owners(adopted, "http") == [("pulumi-canary", "Apply")]
    assert demo["route"] == [{"destination": {"host": SERVICE}}]

    stack.destroy(**QUIET)
    assert as_it_was(kube.get(VirtualService, "legacy", namespace=namespace).to_dict()) == as_it_was(before)
    assert names(kube, DestinationRule, namespace) == set()
    changed = legacy_service(namespace)
    changed["spec"]["http"][1]["timeout"] = "20s"
    platform.apply(VirtualService.from_dict(changed))  # its owner again: no conflict


def test_weights_owned_by_another_field_manager_are_reported_and_not_forced(
    inline_stack,
    stack_env,
    mesh_program: Program,
    kube: Any,
    kubeconfig: Any,
    namespace: str,
    workload: Workload,
) -> None:
    from lightkube import Client, KubeConfig
    from pulumi.automation import CommandError

    workload.wait_ready(workload.deploy("v2", replicas=1, image="demo:2.0"), 1)
    mesh_program.split = {"weights": {"v1": 90, "v2": 10}}
    stack = inline_stack(mesh_program, env=stack_env)
    stack.up(**QUIET)
    name = only(kube, VirtualService, namespace)["metadata"]["name"]

    controller = Client(config=KubeConfig.from_file(kubeconfig), field_manager="argo-rollouts")
    takeover = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"http": [weighted(namespace, v1=50, v2=50)]},
    }
    controller.apply(VirtualService.from_dict(takeover), force=True)

    mesh_program.split = {"weights": {"v1": 80, "v2": 20}}
    with pytest.raises(CommandError) as refused:
        stack.up(**QUIET)
    message = str(refused.value)
    assert (
        "field manager 'argo-rollouts'" in message and ".spec.http" in message and "does not force" in message
    )
    stored = only(kube, VirtualService, namespace)
    assert stored["spec"]["http"] == [weighted(namespace, v1=50, v2=50)]
    assert rules_owners(stored, "http") == [("argo-rollouts", "Apply")]

    managed = [e for e in stored["metadata"]["managedFields"] if e["manager"] != "argo-rollouts"]
    kube.patch(
        VirtualService,
        name,
        [{"op": "replace", "path": "/metadata/managedFields", "value": managed}],
        namespace=namespace,
        patch_type=PatchType.JSON,
    )
    stack.up(**QUIET)
    assert only(kube, VirtualService, namespace)["spec"]["http"] == [weighted(namespace, v1=80, v2=20)]


def test_a_header_istio_would_ignore_fails_before_anything_is_written(
    inline_stack, stack_env, mesh_program: Program, kube: Any, namespace: str
) -> None:
    from pulumi.automation import CommandError

    mesh_program.route = canary.RouteMatch(path="/demo", canary_headers={"authority": "canary.example.com"})
    stack = inline_stack(mesh_program, env=stack_env)
    with pytest.raises(CommandError) as refused:
        stack.up(**QUIET)
    assert "route.canary_headers.authority" in str(refused.value)
    assert names(kube, VirtualService, namespace) == names(kube, DestinationRule, namespace) == set()
