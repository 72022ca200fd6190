"""The Kubernetes API is the real one: CRD schema and CEL validation, controllers, scheduling, endpoints."""

from __future__ import annotations

import time
from typing import Any

import pytest
from lightkube import ApiError
from lightkube.generic_resource import create_namespaced_resource
from lightkube.models.apps_v1 import DeploymentSpec
from lightkube.models.core_v1 import Container, PodSpec, PodTemplateSpec, ServicePort, ServiceSpec
from lightkube.models.meta_v1 import LabelSelector, ObjectMeta
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Service
from lightkube.resources.discovery_v1 import EndpointSlice

HTTPRoute = create_namespaced_resource("gateway.networking.k8s.io", "v1", "HTTPRoute", "httproutes")
VirtualService = create_namespaced_resource(
    "networking.istio.io", "v1", "VirtualService", "virtualservices"
)


def http_route(name: str, namespace: str, weights: tuple[int, int]) -> Any:
    return HTTPRoute(
        metadata=ObjectMeta(name=name, namespace=namespace),
        spec={
            "parentRefs": [{"name": "public-gw"}],
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/demo"}}],
                    "backendRefs": [
                        {"name": "demo-v1", "port": 80, "weight": weights[0]},
                        {"name": "demo-v2", "port": 80, "weight": weights[1]},
                    ],
                }
            ],
        },
    )


def test_apiserver_accepts_a_weighted_http_route(kube, namespace: str) -> None:
    kube.apply(http_route("weighted", namespace, (90, 10)))
    stored = kube.get(HTTPRoute, "weighted", namespace=namespace)
    weights = [ref["weight"] for ref in stored["spec"]["rules"][0]["backendRefs"]]
    assert weights == [90, 10]


def test_apiserver_rejects_a_weight_the_crd_schema_forbids(kube, namespace: str) -> None:
    with pytest.raises(ApiError) as rejected:
        kube.apply(http_route("too-heavy", namespace, (1_000_001, 10)))
    assert rejected.value.status.code == 422
    assert "1000000" in str(rejected.value.status.message)


def test_apiserver_enforces_cel_rules(kube, namespace: str) -> None:
    route = http_route("bad-path", namespace, (90, 10))
    # A CEL rule on HTTPRoute: a PathPrefix value must start with '/'.
    route["spec"]["rules"][0]["matches"][0]["path"]["value"] = "demo"
    with pytest.raises(ApiError) as rejected:
        kube.apply(route)
    assert rejected.value.status.code == 422


def test_istio_crds_are_served(kube, namespace: str) -> None:
    service = VirtualService(
        metadata=ObjectMeta(name="demo", namespace=namespace),
        spec={"hosts": ["demo"], "http": [{"route": [{"destination": {"host": "demo", "subset": "v1"}}]}]},
    )
    kube.apply(service)
    assert kube.get(VirtualService, "demo", namespace=namespace)["spec"]["hosts"] == ["demo"]


def wait_for(condition: Any, what: str, timeout: float = 90.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_deployment_pods_become_ready_and_fill_the_endpoint_slice(kube, namespace: str) -> None:
    labels = {"app": "demo", "version": "v1"}
    kube.apply(
        Deployment(
            metadata=ObjectMeta(name="demo-v1", namespace=namespace),
            spec=DeploymentSpec(
                replicas=2,
                selector=LabelSelector(matchLabels=labels),
                template=PodTemplateSpec(
                    metadata=ObjectMeta(labels=labels),
                    spec=PodSpec(containers=[Container(name="app", image="demo:1.0")]),
                ),
            ),
        )
    )
    kube.apply(
        Service(
            metadata=ObjectMeta(name="demo", namespace=namespace),
            spec=ServiceSpec(selector={"app": "demo"}, ports=[ServicePort(port=80, targetPort=8080)]),
        )
    )

    def ready_replicas() -> bool:
        status = kube.get(Deployment, "demo-v1", namespace=namespace).status
        return bool(status and status.readyReplicas == 2)

    wait_for(ready_replicas, "2 ready replicas")

    def ready_endpoints() -> int:
        slices = kube.list(EndpointSlice, namespace=namespace, labels={"kubernetes.io/service-name": "demo"})
        return sum(
            1
            for endpoint_slice in slices
            for endpoint in endpoint_slice.endpoints or []
            if endpoint.conditions and endpoint.conditions.ready
        )

    assert wait_for(lambda: ready_endpoints() == 2, "2 ready endpoints in the EndpointSlice")


def test_both_gateway_api_channels_are_on_disk_and_the_experimental_one_is_served(kube) -> None:
    from lightkube.resources.apiextensions_v1 import CustomResourceDefinition

    from rig import tools

    for channel in ("standard", "experimental"):
        crd = tools.CRDS.folder / "gateway-api" / channel / "gateway.networking.k8s.io_httproutes.yaml"
        assert crd.is_file()
    served = kube.get(CustomResourceDefinition, "httproutes.gateway.networking.k8s.io")
    assert served.metadata.annotations["gateway.networking.k8s.io/channel"] == "experimental"
    assert kube.get(CustomResourceDefinition, "destinationrules.networking.istio.io").spec.group == (
        "networking.istio.io"
    )
