"""The canary flow on the Kubernetes Gateway API: every step through the real engine and apiserver.

The HTTPRoute and the per-version Services are read back from the apiserver and checked field by field
(after the CRD's defaulting, which is what a Gateway implementation reads). Deletes are checked for
ORDER, not just for their end state: the apiserver's watch replays every change since a resourceVersion,
so a test can see that traffic left a version before its Service went.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from lightkube.resources.core_v1 import Service
from lightkube.types import PatchType

import pulumi_canary as canary
from pulumi_canary.drivers.gateway_api import http_route_resource
from pulumi_canary.drivers.k8s_routes import created_labels
from sdk_tests.engine.conftest import SERVICE, Workload
from sdk_tests.engine.mse_program import POLICY_SETTINGS

QUIET = {"on_output": lambda _line: None}
OWNER = "canarytest/test/demo"  # project/stack/resource of the inline stacks below
HTTPRoute = http_route_resource()
GATEWAY_REF = {
    "group": "gateway.networking.k8s.io",
    "kind": "Gateway",
    "name": "public-gw",
    "namespace": "infra",
}
DEMO = {"path": {"type": "PathPrefix", "value": "/demo"}}


class Program:
    """A program whose declarations a test changes between `pulumi up`s, like an edited infra repo."""

    def __init__(self, gateway: Any, namespace: str) -> None:
        self.gateway = gateway
        self.namespace = namespace
        self.route = canary.RouteMatch(path="/demo")
        self.policy: dict[str, Any] = {"stable_version": "v1", "canary_version": "v2"}
        self.split: dict[str, Any] | None = None

    def __call__(self) -> None:
        import pulumi

        policy = canary.CanaryPolicy(
            "demo",
            gateway=self.gateway,
            service=canary.ServiceRef(name=SERVICE, namespace=self.namespace, port=80),
            route=self.route,
            **{**POLICY_SETTINGS, **self.policy},
        )
        pulumi.export("route_id", policy.route_id)
        pulumi.export("weights", policy.weights)
        pulumi.export("canary_deployment_name", policy.canary_deployment_name)
        if self.split is not None:
            split = canary.TrafficSplit("demo", policy=policy, **self.split)
            pulumi.export("split_weights", split.live_weights)


@pytest.fixture
def gateway_program(namespace: str, workload: Workload) -> Program:
    gateway = canary.GatewayApi(gateway="public-gw", namespace="infra", hostnames=["demo.example.com"])
    return Program(gateway, namespace)


# ---- reading what the apiserver stores -----------------------------------------------------------------


def only(kube: Any, resource: Any, namespace: str) -> dict[str, Any]:
    found = [item.to_dict() for item in kube.list(resource, namespace=namespace)]
    assert len(found) == 1, [item["metadata"]["name"] for item in found]
    return found[0]


def names(kube: Any, resource: Any, namespace: str) -> set[str]:
    return {item.metadata.name for item in kube.list(resource, namespace=namespace)}


def ref(version: str, weight: int) -> dict[str, Any]:
    return {"group": "", "kind": "Service", "name": f"{SERVICE}-{version}", "port": 80, "weight": weight}


def weighted(**weights: int) -> dict[str, Any]:
    return {"matches": [DEMO], "backendRefs": [ref(version, weight) for version, weight in weights.items()]}


def header_rule(canary_version: str, **headers: str) -> dict[str, Any]:
    matches = [
        {**DEMO, "headers": [{"type": "Exact", "name": k, "value": v} for k, v in sorted(headers.items())]}
    ]
    return {"matches": matches, "backendRefs": [ref(canary_version, 1)]}


def rules_owners(obj: dict[str, Any], field: str = "rules") -> list[tuple[str, str]]:
    """(manager, operation) of every managedFields entry that owns ``spec.<field>``."""
    return [
        (entry["manager"], entry["operation"])
        for entry in obj["metadata"].get("managedFields") or []
        if f"f:{field}" in ((entry.get("fieldsV1") or {}).get("f:spec") or {})
    ]


def assert_version_service(kube: Any, namespace: str, version: str) -> None:
    stored = kube.get(Service, f"{SERVICE}-{version}", namespace=namespace).to_dict()
    assert stored["metadata"]["labels"] == created_labels(OWNER)
    assert stored["metadata"]["annotations"] == {
        "pulumi-canary.io/owner": OWNER,
        "pulumi-canary.io/version": version,
    }
    spec = stored["spec"]
    assert spec["type"] == "ClusterIP"
    assert spec["selector"] == {"app": "demo", "version": version}
    assert spec["ports"] == [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]


def history(
    kube: Any, resource: Any, namespace: str, since: str, done: Callable[[list[tuple[int, str, Any]]], bool]
) -> list[tuple[int, str, Any]]:
    """Every change to ``resource`` objects in ``namespace`` after resourceVersion ``since``, replayed by
    the apiserver's watch, until ``done`` says enough: (resourceVersion, event type, object dict).

    The rig's resourceVersions are etcd revisions, one counter for all kinds, so they order events
    across kinds (Kubernetes calls them opaque; on this one apiserver they are not).
    """
    events: list[tuple[int, str, Any]] = []

    def consume() -> None:
        for kind, obj in kube.watch(resource, namespace=namespace, resource_version=since):
            events.append((int(obj.metadata.resourceVersion), kind, obj.to_dict()))
            if done(events):
                return

    reader = threading.Thread(target=consume, daemon=True)
    reader.start()
    reader.join(30)
    assert not reader.is_alive(), f"the expected changes never came; saw {[(rv, k) for rv, k, _ in events]}"
    return events


def split_outputs(stack: Any) -> dict[str, Any]:
    """The TrafficSplit's outputs as the stack's state holds them."""
    resources = stack.export_stack().deployment["resources"]
    (split,) = [r for r in resources if r["urn"].endswith("TrafficSplit::demo")]
    return dict(split["outputs"])


def deleted_at(events: list[tuple[int, str, Any]], name: str) -> int:
    return next(rv for rv, kind, obj in events if kind == "DELETED" and obj["metadata"]["name"] == name)


def deletions(*wanted: str) -> Callable[[list[tuple[int, str, Any]]], bool]:
    def done(events: list[tuple[int, str, Any]]) -> bool:
        gone = {obj["metadata"]["name"] for _, kind, obj in events if kind == "DELETED"}
        return set(wanted) <= gone

    return done


# ---- the flow ----------------------------------------------------------------------------------------


def test_the_whole_flow_with_header_routing_rotation_and_an_ordered_delete(
    inline_stack, stack_env, gateway_program: Program, kube: Any, namespace: str, workload: Workload
) -> None:
    gateway_program.route = canary.RouteMatch(path="/demo", canary_headers={"x-canary": "always"})
    stack = inline_stack(gateway_program, env=stack_env)

    # creation: 100% stable; requests with the header already go to the canary's Service
    up = stack.up(**QUIET)
    route = only(kube, HTTPRoute, namespace)
    assert up.outputs["route_id"].value == route["metadata"]["name"]
    assert up.outputs["weights"].value == {"v1": 100, "v2": 0}
    assert route["metadata"]["labels"] == created_labels(OWNER)
    assert route["metadata"]["annotations"] == {"pulumi-canary.io/owner": OWNER}
    assert route["spec"] == {
        "parentRefs": [GATEWAY_REF],
        "hostnames": ["demo.example.com"],
        "rules": [header_rule("v2", **{"x-canary": "always"}), weighted(v1=100, v2=0)],
    }
    assert rules_owners(route) == [("pulumi-canary", "Apply")]
    assert_version_service(kube, namespace, "v1")
    assert_version_service(kube, namespace, "v2")

    # the user deploys the canary: nothing changes for traffic
    workload.wait_ready(workload.deploy("v2", replicas=1, image="demo:2.0"), 1)
    assert stack.up(**QUIET).summary.resource_changes == {"same": 2}

    # a TrafficSplit sets 90/10
    gateway_program.split = {"weights": {"v1": 90, "v2": 10}}
    up = stack.up(**QUIET)
    assert up.outputs["split_weights"].value == {"v1": 90, "v2": 10}
    rules = only(kube, HTTPRoute, namespace)["spec"]["rules"]
    assert rules == [header_rule("v2", **{"x-canary": "always"}), weighted(v1=90, v2=10)]

    # the header match changes in place; the weights stay
    gateway_program.route = canary.RouteMatch(
        path="/demo", canary_headers={"x-canary": "yes", "x-team": "qa"}
    )
    stack.up(**QUIET)
    rules = only(kube, HTTPRoute, namespace)["spec"]["rules"]
    assert rules == [header_rule("v2", **{"x-canary": "yes", "x-team": "qa"}), weighted(v1=90, v2=10)]

    # rotation: v2 becomes stable and takes everything; the header now selects the new canary, v1
    gateway_program.policy = {"stable_version": "v2", "canary_version": "v1"}
    gateway_program.split = {"canary_weight": 0}
    stack.up(**QUIET)
    route = only(kube, HTTPRoute, namespace)
    assert route["spec"]["rules"] == [
        header_rule("v1", **{"x-canary": "yes", "x-team": "qa"}),
        weighted(v2=100, v1=0),
    ]

    # delete: v1 leaves the route (and the header rule with it) before its Service goes; the route goes
    # before the stable Service
    since = route["metadata"]["resourceVersion"]
    stack.destroy(**QUIET)
    services = history(kube, Service, namespace, since, deletions(f"{SERVICE}-v1", f"{SERVICE}-v2"))
    routes = history(kube, HTTPRoute, namespace, since, deletions(route["metadata"]["name"]))
    canary_gone = deleted_at(services, f"{SERVICE}-v1")
    last_before = [obj for rv, kind, obj in routes if kind == "MODIFIED" and rv < canary_gone][-1]
    assert last_before["spec"]["rules"] == [weighted(v2=100)]
    assert deleted_at(routes, route["metadata"]["name"]) < deleted_at(services, f"{SERVICE}-v2")
    assert names(kube, HTTPRoute, namespace) == set()
    assert names(kube, Service, namespace) == {SERVICE}


def test_promotion_to_a_new_label_value_with_a_policy_owned_canary_deployment(
    inline_stack, stack_env, gateway_program: Program, kube: Any, namespace: str, workload: Workload
) -> None:
    gateway_program.policy = {
        "stable_version": "v1",
        "canary_version": "v2",
        "canary_deployment": canary.CanaryDeployment(image="demo:2.0", replicas=1),
    }
    stack = inline_stack(gateway_program, env=stack_env)
    up = stack.up(**QUIET)
    assert up.outputs["canary_deployment_name"].value == "demo-service-v2"
    assert workload.deployment("demo-service-v2").spec.template.metadata.labels["version"] == "v2"
    assert only(kube, HTTPRoute, namespace)["spec"]["rules"] == [weighted(v1=100, v2=0)]

    workload.wait_ready("demo-service-v2", 1)
    gateway_program.split = {"canary_weight": 30}
    stack.up(**QUIET)
    assert only(kube, HTTPRoute, namespace)["spec"]["rules"] == [weighted(v1=70, v2=30)]

    # promote v2, and v3 is the next canary: v1's Service goes, v3's comes, v2 takes everything
    gateway_program.policy = {
        "stable_version": "v2",
        "canary_version": "v3",
        "canary_deployment": canary.CanaryDeployment(image="demo:3.0", replicas=1),
    }
    gateway_program.split = {"canary_weight": 0}
    stack.up(**QUIET)
    assert only(kube, HTTPRoute, namespace)["spec"]["rules"] == [weighted(v2=100, v3=0)]
    assert names(kube, Service, namespace) == {SERVICE, f"{SERVICE}-v2", f"{SERVICE}-v3"}
    assert_version_service(kube, namespace, "v3")
    assert workload.deployment("demo-service-v3").spec.template.spec.containers[0].image == "demo:3.0"

    stack.destroy(**QUIET)
    assert names(kube, HTTPRoute, namespace) == set()
    assert names(kube, Service, namespace) == {SERVICE}
    assert "demo-service-v3" not in workload.deployment_names()
    released = workload.deployment("demo-service-v2")  # it serves stable traffic: left running, not ours
    assert "pulumi-canary.io/owner" not in (released.metadata.annotations or {})


# ---- adoption ----------------------------------------------------------------------------------------


def legacy_route(namespace: str) -> dict[str, Any]:
    """A route a platform team manages: two rules, the /demo one with a timeout, sent to the Service."""
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {
            "name": "legacy",
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "Helm"},
        },
        "spec": {
            "parentRefs": [{"name": "public-gw", "namespace": "infra"}],
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/shop"}}],
                    "backendRefs": [{"name": "shop", "port": 80}],
                },
                {
                    "matches": [DEMO],
                    "timeouts": {"request": "10s"},
                    "backendRefs": [{"name": SERVICE, "port": 80}],
                },
            ],
        },
    }


def as_it_was(obj: dict[str, Any]) -> dict[str, Any]:
    """What restore must give back: spec, labels, annotations and who owns which field."""
    managed = sorted(
        (e["manager"], e["operation"], str(e.get("fieldsV1"))) for e in obj["metadata"]["managedFields"]
    )
    metadata = obj["metadata"]
    return {
        "spec": obj["spec"],
        "labels": metadata.get("labels"),
        "annotations": metadata.get("annotations"),
        "managed": managed,
    }


def test_an_existing_route_is_adopted_by_path_and_restored_with_its_ownership(
    inline_stack,
    stack_env,
    gateway_program: Program,
    kube: Any,
    kubeconfig: Any,
    namespace: str,
    workload: Workload,
) -> None:
    from lightkube import Client, KubeConfig

    platform = Client(config=KubeConfig.from_file(kubeconfig), field_manager="platform-team")
    platform.apply(HTTPRoute.from_dict(legacy_route(namespace)))
    before = kube.get(HTTPRoute, "legacy", namespace=namespace).to_dict()
    workload.wait_ready(workload.deploy("v2", replicas=1, image="demo:2.0"), 1)
    gateway_program.route = canary.RouteMatch(path="/demo", canary_headers={"x-canary": "always"})
    gateway_program.split = {"weights": {"v1": 90, "v2": 10}}
    stack = inline_stack(gateway_program, env=stack_env)

    up = stack.up(**QUIET)
    assert up.outputs["route_id"].value == "legacy"
    adopted = only(kube, HTTPRoute, namespace)
    shop_rule, demo_rule = before["spec"]["rules"]
    assert adopted["spec"]["parentRefs"] == before["spec"]["parentRefs"]  # not ours to change
    assert adopted["spec"]["rules"] == [
        shop_rule,
        {**header_rule("v2", **{"x-canary": "always"}), "timeouts": {"request": "10s"}},
        {**weighted(v1=90, v2=10), "timeouts": {"request": "10s"}},
    ]
    assert adopted["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "Helm"}
    assert adopted["metadata"]["annotations"]["pulumi-canary.io/owner"] == OWNER
    assert "pulumi-canary.io/original" in adopted["metadata"]["annotations"]
    assert rules_owners(adopted) == [("pulumi-canary", "Apply")]  # one owner of the weights
    assert demo_rule["backendRefs"] == [
        {"group": "", "kind": "Service", "name": SERVICE, "port": 80, "weight": 1}
    ]

    stack.destroy(**QUIET)
    assert as_it_was(kube.get(HTTPRoute, "legacy", namespace=namespace).to_dict()) == as_it_was(before)
    assert names(kube, Service, namespace) == {SERVICE}
    # The platform team owns its rules again: its next change applies without a conflict.
    changed = legacy_route(namespace)
    changed["spec"]["rules"][1]["timeouts"] = {"request": "20s"}
    platform.apply(HTTPRoute.from_dict(changed))


def test_adopting_by_name_a_route_of_another_gateway_is_a_clear_error_and_touches_nothing(
    inline_stack, stack_env, gateway_program: Program, kube: Any, namespace: str
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


# ---- two owners of the weights -----------------------------------------------------------------------


def test_weights_owned_by_another_field_manager_are_reported_and_not_forced(
    inline_stack,
    stack_env,
    gateway_program: Program,
    kube: Any,
    kubeconfig: Any,
    namespace: str,
    workload: Workload,
) -> None:
    from lightkube import Client, KubeConfig
    from pulumi.automation import CommandError

    workload.wait_ready(workload.deploy("v2", replicas=1, image="demo:2.0"), 1)
    gateway_program.split = {"weights": {"v1": 90, "v2": 10}}
    stack = inline_stack(gateway_program, env=stack_env)
    stack.up(**QUIET)
    name = only(kube, HTTPRoute, namespace)["metadata"]["name"]

    # A rollout controller takes the weights over (a forced apply, as such controllers do).
    controller = Client(config=KubeConfig.from_file(kubeconfig), field_manager="argo-rollouts")
    takeover = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"rules": [weighted(v1=50, v2=50)]},
    }
    controller.apply(HTTPRoute.from_dict(takeover), force=True)

    gateway_program.split = {"weights": {"v1": 80, "v2": 20}}
    with pytest.raises(CommandError) as refused:
        stack.up(**QUIET)
    message = str(refused.value)
    assert (
        "field manager 'argo-rollouts'" in message
        and ".spec.rules" in message
        and "does not force" in message
    )
    stored = only(kube, HTTPRoute, namespace)
    assert stored["spec"]["rules"] == [weighted(v1=50, v2=50)], "pulumi-canary wrote over another owner"
    assert rules_owners(stored) == [("argo-rollouts", "Apply")]

    # Refresh reports the controller's weights as drift instead of hiding it.
    stack.refresh(**QUIET)
    assert split_outputs(stack)["live_weights"] == {"v1": 50, "v2": 50}

    # Once the controller lets go of its claim, the next `pulumi up` sets the declared weights.
    managed = [e for e in stored["metadata"]["managedFields"] if e["manager"] != "argo-rollouts"]
    kube.patch(
        HTTPRoute,
        name,
        [{"op": "replace", "path": "/metadata/managedFields", "value": managed}],
        namespace=namespace,
        patch_type=PatchType.JSON,
    )
    stack.up(**QUIET)
    assert only(kube, HTTPRoute, namespace)["spec"]["rules"] == [weighted(v1=80, v2=20)]


# ---- what the Gateway API cannot express -----------------------------------------------------------------


def test_a_header_value_the_http_route_schema_rejects_fails_before_anything_is_written(
    inline_stack, stack_env, gateway_program: Program, kube: Any, namespace: str
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
    inline_stack, stack_env, gateway_program: Program, kube: Any, namespace: str
) -> None:
    stack = inline_stack(gateway_program, env=stack_env)
    stack.up(**QUIET)
    hostnames = ["demo.example.com", "www.example.com"]
    gateway_program.gateway = canary.GatewayApi(gateway="public-gw", namespace="infra", hostnames=hostnames)
    assert stack.up(**QUIET).summary.resource_changes == {"update": 1, "same": 1}
    assert only(kube, HTTPRoute, namespace)["spec"]["hostnames"] == hostnames
