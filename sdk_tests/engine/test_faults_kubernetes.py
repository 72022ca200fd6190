"""The fault suite on Kubernetes gateways: apiserver faults injected into real `pulumi up` / `destroy`
runs of a Gateway API and an Istio release.

The stack's kubeconfig points at the fault proxy (``rig.kube_faults``) in front of the real apiserver,
so every request of the plugin under test can be answered with an error status (503, 500, 429 with
Retry-After, 409, 403) or held past the client's timeout (dropped, or made but answered late). Each
scenario arms rules for one operation, runs it, and then the invariant check of
``sdk_tests.engine.invariants``, which reads the route with the rig's own client, never through the
proxy. A scenario says whether the run must recover by itself (transient faults are retried with
backoff; a write that timed out is simply applied again) or fail with a message naming the operation
and the status (a permanent fault at once; a transient one that outlasts the retries after them).

As in the MSE suite, one stack serves many scenarios: create/destroy cycles, a sequence of updates on a
running release (a failure is followed by a plain ``up``; the MSE suite refreshes first), and
adopt/restore cycles of a route a platform team made by hand. ``test_the_suite_has_enough_scenarios``
counts both suites.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lightkube import Client, KubeConfig

import pulumi_canary as canary
from pulumi_canary.drivers.retry import ATTEMPTS
from rig.cluster import LocalCluster
from rig.kube_faults import FaultProxy, KubeFault
from sdk_tests.conftest import StackFactory
from sdk_tests.engine import test_faults_mse as mse
from sdk_tests.engine.conftest import Workload
from sdk_tests.engine.fault_scenarios import FailureCheck, Scenario, run, scenario
from sdk_tests.engine.gateway_views import GatewayApiView, HTTPRoute, IstioView, KubeView, VirtualService
from sdk_tests.engine.invariants import Release, verify, verify_destroyed
from sdk_tests.engine.kube_program import (
    Program,
    gateway_api,
    istio,
    legacy_http_route,
    legacy_virtual_service,
)
from sdk_tests.engine.mse_program import QUIET

CLIENT_TIMEOUT_SECONDS = 10.0  # lightkube's default, which the product keeps
BEYOND_TIMEOUT = CLIENT_TIMEOUT_SECONDS + 0.5
TRANSIENT = {409, 429, 500, 502, 503, 504}

HTTP_ROUTE = r"/httproutes/[^/]+$"
HTTP_ROUTES = r"/httproutes$"
VERSION_SERVICE = r"/services/demo-service-v\d$"
VIRTUAL_SERVICE = r"/virtualservices/[^/]+$"
DESTINATION_RULE = r"/destinationrules/[^/]+$"
PODS = r"/pods$"
DEPLOYMENT = r"/deployments/[^/]+$"
APPLY, JSON_PATCH = "apply-patch", "json-patch"


def unavailable(method: str, path: str, count: int = 1, status: int = 503, kind: str = "") -> KubeFault:
    return KubeFault(method, path, status=status, count=count, content_type=kind)


def throttled(method: str, path: str, count: int = 2) -> KubeFault:
    return KubeFault(method, path, status=429, retry_after_seconds=1, count=count)


def refused(method: str, path: str, status: int = 403, kind: str = "") -> KubeFault:
    return KubeFault(method, path, status=status, content_type=kind)


def timed_out(method: str, path: str, *, made: bool, kind: str = "") -> KubeFault:
    """Held past the client's timeout: ``made`` forwards it first (the change happens, its answer is
    late), otherwise it is dropped when the client has given up."""
    return KubeFault(method, path, delay_seconds=BEYOND_TIMEOUT, forward_first=made, content_type=kind)


def passes(method: str, path: str, count: int = 1, kind: str = "") -> KubeFault:
    """Lets ``count`` requests through untouched, so that the next rule hits a later one."""
    return KubeFault(method, path, count=count, content_type=kind)


def kube_failure_check(proxy: FaultProxy) -> FailureCheck:
    """A failure names the operation and the status; permanent faults and conditional writes (JSON
    patches that test a resourceVersion, recomputed by the next run) are not retried, transient ones
    are retried a bounded number of times."""

    def check(case: Scenario, message: str) -> None:
        failing = next(rule for rule in case.faults if rule.status is not None)
        faulted = [request for request in proxy.requests() if request.faulted]
        assert faulted, f"{case}: no faulted request was logged"
        assert "Kubernetes API refused" in message and "operation=" in message, f"{case}: {message}"
        assert f"http_status={failing.status}" in message, f"{case}: the error lacks the status: {message}"
        retried = failing.status in TRANSIENT and failing.content_type != JSON_PATCH
        assert len(faulted) == (ATTEMPTS if retried else 1), (
            f"{case}: {len(faulted)} faulted attempts (bounded retries for transient faults, none for "
            "permanent ones or conditional writes)"
        )

    return check


@pytest.fixture(scope="session")
def fault_proxy(cluster: LocalCluster) -> Iterator[FaultProxy]:
    with FaultProxy.for_cluster(cluster) as running:
        yield running


@pytest.fixture(scope="session")
def faulty_kubeconfig(fault_proxy: FaultProxy, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fault_proxy.write_kubeconfig(tmp_path_factory.mktemp("faulty") / "kubeconfig")


GATEWAYS: dict[str, tuple[Any, type[KubeView]]] = {
    "gateway_api": (gateway_api, GatewayApiView),
    "istio": (istio, IstioView),
}


@pytest.fixture(params=sorted(GATEWAYS))
def gateway(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def released(
    gateway: str, inline_stack: StackFactory, fault_proxy: FaultProxy, faulty_kubeconfig: Path, kube: Any,
    kubeconfig: Path, namespace: str, workload: Workload,
) -> Release:
    workload.wait_ready(workload.deploy("v2", replicas=1, image="demo:2.0"), 1)
    fault_proxy.clear_faults()
    make_gateway, view = GATEWAYS[gateway]
    program = Program(make_gateway(), namespace)
    stack = inline_stack(program, env={"KUBECONFIG": str(faulty_kubeconfig)})
    return Release(view(kube, namespace, kubeconfig, fault_proxy), namespace, kube, program, stack)


# ---- create / destroy cycles -------------------------------------------------------------------------

CREATE_DESTROY: dict[str, list[tuple[Scenario, Scenario]]] = {
    "gateway_api": [
        (
            scenario("create: apply HTTPRoute 503 twice", unavailable("PATCH", HTTP_ROUTE, 2), recovers=True),
            scenario("destroy: delete HTTPRoute 500 once", unavailable("DELETE", HTTP_ROUTE, 1, 500),
                     recovers=True),
        ),
        (
            scenario("create: apply a version Service 403", refused("PATCH", VERSION_SERVICE),
                     recovers=False),
            scenario("destroy: delete a version Service 503 beyond the retries",
                     unavailable("DELETE", VERSION_SERVICE, ATTEMPTS), recovers=False),
        ),
        (
            scenario("create: apply HTTPRoute made but answered after the client's timeout",
                     timed_out("PATCH", HTTP_ROUTE, made=True), recovers=True),
            scenario("destroy: apply HTTPRoute (traffic to stable) 409 Conflict twice",
                     unavailable("PATCH", HTTP_ROUTE, 2, 409), recovers=True),
        ),
    ],
    "istio": [
        (
            scenario("create: apply DestinationRule 503 twice", unavailable("PATCH", DESTINATION_RULE, 2),
                     recovers=True),
            scenario("destroy: delete VirtualService 503 twice", unavailable("DELETE", VIRTUAL_SERVICE, 2),
                     recovers=True),
        ),
        (
            scenario("create: get DestinationRule held past the client's timeout",
                     timed_out("GET", DESTINATION_RULE, made=False), recovers=True),
            scenario("destroy: apply DestinationRule (subset removal) 503 beyond the retries",
                     unavailable("PATCH", DESTINATION_RULE, ATTEMPTS), recovers=False),
        ),
    ],
}


def test_create_and_destroy_survive_faults(gateway: str, released: Release, fault_proxy: FaultProxy) -> None:
    check = kube_failure_check(fault_proxy)
    released.program.split = {"weights": {"v1": 90, "v2": 10}}
    for create, destroy in CREATE_DESTROY[gateway]:
        verify(released, succeeded=run(released, create, released.stack.up, check))
        verify_destroyed(released, succeeded=run(released, destroy, released.stack.destroy, check))


# ---- a running release: weight changes, promotions, a policy-owned canary Deployment ------------------

UPDATES: dict[str, list[tuple[dict[str, Any], int, Scenario]]] = {
    "gateway_api": [
        (mse.V1_V2, 20, scenario("split: apply HTTPRoute 503 beyond the retries",
                                 unavailable("PATCH", HTTP_ROUTE, ATTEMPTS), recovers=False)),
        (mse.V1_V2, 30, scenario("split: list pods (readiness) 429 with Retry-After twice",
                                 throttled("GET", PODS), recovers=True)),
        (mse.V2_V1, 0, scenario("promote by rotation: apply HTTPRoute 403", refused("PATCH", HTTP_ROUTE),
                                recovers=False)),
        (mse.V1_V3, 10, scenario("new canary v3 with its Deployment: apply Deployment 503 twice",
                                 unavailable("PATCH", DEPLOYMENT, 2), recovers=True)),
    ],
    "istio": [
        (mse.V1_V2, 20, scenario("split: apply VirtualService 429 with Retry-After twice",
                                 throttled("PATCH", VIRTUAL_SERVICE), recovers=True)),
        (mse.V2_V1, 0, scenario("promote by rotation: get VirtualService 403",
                                refused("GET", VIRTUAL_SERVICE), recovers=False)),
        (mse.V1_V3, 10, scenario("new canary v3 with its Deployment: apply DestinationRule 403",
                                 refused("PATCH", DESTINATION_RULE), recovers=False)),
        (mse.V1_V2, 0, scenario("back to canary v2: delete the v3 Deployment 500 twice",
                                unavailable("DELETE", DEPLOYMENT, 2, 500), recovers=True)),
    ],
}


def test_a_running_release_survives_faults(gateway: str, released: Release, fault_proxy: FaultProxy) -> None:
    check = kube_failure_check(fault_proxy)
    released.program.split = {"canary_weight": 10}
    released.stack.up(**QUIET)
    for policy, canary_weight, case in UPDATES[gateway]:
        released.program.policy = dict(policy)
        released.program.split = {"canary_weight": canary_weight}
        # After a failure here the user runs `pulumi up` again (the MSE suite refreshes first).
        verify(released, succeeded=run(released, case, released.stack.up, check))


# ---- adopting a route made by hand, and restoring it --------------------------------------------------

ADOPT_RESTORE: dict[str, list[tuple[Scenario, Scenario]]] = {
    "gateway_api": [
        (
            scenario("adopt: the adoption's JSON patch 409 Conflict",
                     unavailable("PATCH", HTTP_ROUTE, 1, 409, JSON_PATCH), recovers=False),
            scenario("restore: the hand-back JSON patch 403",
                     refused("PATCH", HTTP_ROUTE, 403, JSON_PATCH), recovers=False),
        ),
    ],
    "istio": [
        (
            scenario("adopt: apply VirtualService after the adoption 503 beyond the retries",
                     unavailable("PATCH", VIRTUAL_SERVICE, ATTEMPTS, 503, APPLY), recovers=False),
            scenario("restore: apply VirtualService (the values back) 503 twice",
                     passes("PATCH", VIRTUAL_SERVICE, 1, APPLY),
                     unavailable("PATCH", VIRTUAL_SERVICE, 2, 503, APPLY), recovers=True),
        ),
    ],
}
LEGACY = {"gateway_api": (HTTPRoute, legacy_http_route), "istio": (VirtualService, legacy_virtual_service)}


def test_adoption_and_restore_survive_faults(
    gateway: str, released: Release, fault_proxy: FaultProxy, kubeconfig: Path
) -> None:
    """A create that fails after adopting leaves Pulumi with no record: the snapshot on the route itself
    must still bring the route back exactly (values, labels, annotations, field owners), never delete it."""
    check = kube_failure_check(fault_proxy)
    resource, manifest = LEGACY[gateway]
    platform = Client(config=KubeConfig.from_file(kubeconfig), field_manager="platform-team")
    platform.apply(resource.from_dict(manifest(released.namespace)))
    before = released.view.route_shape()
    released.program.route = canary.RouteMatch(name="legacy", path="/demo")
    released.program.split = {"weights": {"v1": 80, "v2": 20}}
    for adopt, restore in ADOPT_RESTORE[gateway]:
        verify(released, succeeded=run(released, adopt, released.stack.up, check))
        destroyed = run(released, restore, released.stack.destroy, check)
        verify_destroyed(released, succeeded=destroyed, restored=before)


def kubernetes_scenarios() -> list[Scenario]:
    pairs = [*CREATE_DESTROY.values(), *ADOPT_RESTORE.values()]
    return [case for cycles in pairs for pair in cycles for case in pair] + [
        case for updates in UPDATES.values() for _, _, case in updates
    ]


def test_the_suite_has_enough_scenarios() -> None:
    """Both suites, MSE and Kubernetes, each scenario named once."""
    every = mse.mse_scenarios() + kubernetes_scenarios()
    assert len({case.name for case in mse.mse_scenarios()}) == len(mse.mse_scenarios())
    assert len(kubernetes_scenarios()) >= 20, len(kubernetes_scenarios())
    assert len(every) >= 50, len(every)


def test_the_safety_check_sees_traffic_to_missing_or_unready_versions(
    gateway: str, kube: Any, kubeconfig: Path, namespace: str, workload: Workload, fault_proxy: FaultProxy
) -> None:
    """The raw-object half of ``unsafe`` can fail: a hand-made route that sends traffic to a version
    that does not exist, or to one without ready pods, is reported (no stack needed)."""
    from lightkube.models.core_v1 import ServicePort, ServiceSpec
    from lightkube.models.meta_v1 import ObjectMeta
    from lightkube.resources.core_v1 import Service

    from pulumi_canary.model import LiveRoute

    kube.apply(Service(metadata=ObjectMeta(name="demo-service-v3", namespace=namespace),
                       spec=ServiceSpec(selector={"app": "demo", "version": "v3"},
                                        ports=[ServicePort(port=80)])))
    host = f"demo-service.{namespace}.svc.cluster.local"
    if gateway == "gateway_api":
        refs = [{"name": "demo-service-v9", "port": 80, "weight": 50},
                {"name": "demo-service-v3", "port": 80, "weight": 50}]
        route = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
                 "metadata": {"name": "bad", "namespace": namespace},
                 "spec": {"parentRefs": [{"name": "public-gw"}], "rules": [{"backendRefs": refs}]}}
        kube.apply(HTTPRoute.from_dict(route))
        expected = ["Service demo-service-v9, which does not exist",
                    "Service demo-service-v3, which has no ready endpoints"]
    else:
        targets = [{"destination": {"host": host, "subset": "demo-service-v9"}, "weight": 50},
                   {"destination": {"host": host, "subset": "demo-service-v1"}, "weight": 40}]
        route = {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
                 "metadata": {"name": "bad", "namespace": namespace},
                 "spec": {"hosts": ["demo.example.com"], "http": [{"route": targets}]}}
        kube.apply(VirtualService.from_dict(route))
        expected = ["weights sum to 90, not 100", "subset demo-service-v9, which does not exist",
                    "subset demo-service-v1, which does not exist"]
    _, view = GATEWAYS[gateway]
    release = Release(view(kube, namespace, kubeconfig, fault_proxy), namespace, kube,
                      Program(GATEWAYS[gateway][0](), namespace), stack=None)
    problems = release.view.unsafe(release, LiveRoute())
    for sentence in expected:
        assert any(sentence in problem for problem in problems), (sentence, problems)
    assert len(problems) == len(expected), problems
