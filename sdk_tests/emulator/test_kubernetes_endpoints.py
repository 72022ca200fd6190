"""KubernetesEndpoints reads a Service's selector and its ready pods through lightkube.

The API server is answered by an in-process transport here; the real-apiserver tests live elsewhere.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest

from pulumi_canary.emulator import KubernetesEndpoints

KUBECONFIG = """
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {server: "https://127.0.0.1:6443", insecure-skip-tls-verify: true}
users:
- name: test
  user: {token: test-token}
contexts:
- name: test
  context: {cluster: test, user: test, namespace: default}
current-context: test
"""


def _pod(name: str, labels: dict[str, str], *, ready: bool, terminating: bool = False) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": "shop", "labels": labels}
    if terminating:
        metadata["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


def _service(name: str, selector: dict[str, str] | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"ports": [{"port": 8080, "targetPort": 8080}, {"port": 9090}]}
    if selector is not None:
        spec["selector"] = selector
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": spec,
    }


class FakeApiServer:
    def __init__(self) -> None:
        self.requests: list[httpx2.Request] = []
        self.services = {"cart": _service("cart", {"app": "cart"}), "manual": _service("manual", None)}
        self.pods = [
            _pod("v1-a", {"app": "cart", "version": "v1"}, ready=True),
            _pod("v1-b", {"app": "cart", "version": "v1"}, ready=True),
            _pod("v2-starting", {"app": "cart", "version": "v2"}, ready=False),
            _pod("v2-leaving", {"app": "cart", "version": "v2"}, ready=True, terminating=True),
            _pod("v2-a", {"app": "cart", "version": "v2", "track": "canary"}, ready=True),
        ]

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        path = request.url.path
        if path.startswith("/api/v1/namespaces/shop/services/"):
            name = path.rsplit("/", 1)[1]
            if name not in self.services:
                status = {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "status": "Failure",
                    "reason": "NotFound",
                    "message": f'services "{name}" not found',
                    "code": 404,
                }
                return httpx2.Response(404, json=status)
            return httpx2.Response(200, json=self.services[name])
        if path == "/api/v1/namespaces/shop/pods":
            pod_list = {
                "apiVersion": "v1",
                "kind": "PodList",
                "metadata": {"resourceVersion": "1"},
                "items": self.pods,
            }
            return httpx2.Response(200, content=json.dumps(pod_list).encode())
        return httpx2.Response(500, json={"message": f"unexpected {request.method} {request.url}"})


@pytest.fixture
def api() -> FakeApiServer:
    return FakeApiServer()


@pytest.fixture
def endpoints(tmp_path: Path, api: FakeApiServer) -> KubernetesEndpoints:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG)
    return KubernetesEndpoints(kubeconfig, transport=httpx2.MockTransport(api))


def test_ready_pods_are_read_through_the_service_selector(
    endpoints: KubernetesEndpoints, api: FakeApiServer
) -> None:
    labels = endpoints.ready_pod_labels("shop", "cart")

    assert labels == [
        {"app": "cart", "version": "v1"},
        {"app": "cart", "version": "v1"},
        {"app": "cart", "version": "v2", "track": "canary"},
    ]
    pod_list = api.requests[-1]
    assert pod_list.url.params["labelSelector"] == "app=cart"
    assert pod_list.headers["authorization"] == "Bearer test-token"


def test_ports_come_from_the_service(endpoints: KubernetesEndpoints) -> None:
    assert endpoints.service_ports("shop", "cart") == [8080, 9090]


def test_missing_service_is_none(endpoints: KubernetesEndpoints) -> None:
    assert endpoints.ready_pod_labels("shop", "ghost") is None
    assert endpoints.service_ports("shop", "ghost") is None


def test_service_without_selector_has_no_pod_endpoints(
    endpoints: KubernetesEndpoints, api: FakeApiServer
) -> None:
    assert endpoints.ready_pod_labels("shop", "manual") == []
    assert all(not request.url.path.endswith("/pods") for request in api.requests)
