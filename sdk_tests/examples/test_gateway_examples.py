"""examples/gateway-api and examples/istio: the same release on a Kubernetes gateway, by config only.

What the policy writes is read back from the apiserver (after the CRDs' defaulting), with the helpers of
the conformance harness of each gateway.
"""

from __future__ import annotations

from typing import Any

from lightkube.resources.core_v1 import Service

from sdk_tests.conformance import gateway_api, istio
from sdk_tests.engine.conftest import SERVICE, Workload
from sdk_tests.examples.conftest import QUIET, configure

HTTPRoute = gateway_api.HTTPRoute
VirtualService, DestinationRule = istio.VirtualService, istio.DestinationRule
PARENT = {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "public-gw", "namespace": "infra"}


def test_gateway_api_example(example, kube: Any, namespace: str, workload: Workload) -> None:
    project = example("gateway-api")
    stack = project.stack("dev", {"namespace": namespace, "hostname": "demo.example.com",
                                  "canaryHeader": "x-canary=always"})

    up = stack.up(**QUIET)
    route = gateway_api.only(kube, HTTPRoute, namespace)
    assert up.outputs["http_route"].value == route["metadata"]["name"]
    assert route["spec"]["parentRefs"] == [PARENT]  # gateway and gatewayNamespace: Pulumi.yaml defaults
    assert route["spec"]["hostnames"] == ["demo.example.com"]
    assert route["spec"]["rules"] == [
        gateway_api.header_rule("v2", **{"x-canary": "always"}), gateway_api.weighted(v1=100, v2=0)
    ]

    configure(stack, {"canaryImage": "demo:2.0", "canaryWeight": "20"})
    stack.up(**QUIET)
    assert workload.deployment(f"{SERVICE}-v2").spec.template.spec.containers[0].image == "demo:2.0"
    rules = gateway_api.only(kube, HTTPRoute, namespace)["spec"]["rules"]
    assert rules[1] == gateway_api.weighted(v1=80, v2=20)

    configure(stack, {"stableVersion": "v2", "canaryVersion": "v3", "canaryImage": None, "canaryWeight": "0"})
    stack.up(**QUIET)
    assert gateway_api.only(kube, HTTPRoute, namespace)["spec"]["rules"] == [
        gateway_api.header_rule("v3", **{"x-canary": "always"}), gateway_api.weighted(v2=100, v3=0)
    ]
    assert gateway_api.names(kube, Service, namespace) == {SERVICE, f"{SERVICE}-v2", f"{SERVICE}-v3"}

    stack.destroy(**QUIET)
    assert gateway_api.names(kube, HTTPRoute, namespace) == set()
    assert gateway_api.names(kube, Service, namespace) == {SERVICE}
    assert f"{SERVICE}-v2" in workload.deployment_names(), "the new stable keeps running"


def test_istio_example(example, kube: Any, namespace: str, workload: Workload) -> None:
    project = example("istio")
    stack = project.stack("dev", {"namespace": namespace, "gateway": "istio-system/public"})

    up = stack.up(**QUIET)
    service = gateway_api.only(kube, VirtualService, namespace)
    assert up.outputs["virtual_service"].value == service["metadata"]["name"]
    assert service["spec"]["hosts"] == ["demo.example.com"]  # the host: a Pulumi.yaml default
    assert service["spec"]["gateways"] == ["istio-system/public"]
    assert service["spec"]["http"] == [istio.weighted(namespace, v1=100, v2=0)]
    assert istio.subsets(kube, namespace) == [istio.subset("v1"), istio.subset("v2")]

    configure(stack, {"canaryImage": "demo:2.0", "canaryWeight": "20"})
    stack.up(**QUIET)
    assert workload.deployment(f"{SERVICE}-v2").spec.template.metadata.labels["version"] == "v2"
    http = gateway_api.only(kube, VirtualService, namespace)["spec"]["http"]
    assert http == [istio.weighted(namespace, v1=80, v2=20)]

    configure(stack, {"stableVersion": "v2", "canaryVersion": "v3", "canaryImage": None, "canaryWeight": "0"})
    stack.up(**QUIET)
    http = gateway_api.only(kube, VirtualService, namespace)["spec"]["http"]
    assert http == [istio.weighted(namespace, v2=100, v3=0)]
    assert istio.subsets(kube, namespace) == [istio.subset("v2"), istio.subset("v3")]

    stack.destroy(**QUIET)
    assert gateway_api.names(kube, VirtualService, namespace) == set()
    assert gateway_api.names(kube, DestinationRule, namespace) == set()
