"""WatchedEndpoints keeps Services and Pods of the real cluster in memory and follows their changes."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from lightkube.models.apps_v1 import DeploymentSpec
from lightkube.models.core_v1 import Container, PodSpec, PodTemplateSpec, ServicePort, ServiceSpec
from lightkube.models.meta_v1 import LabelSelector, ObjectMeta
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Service

from pulumi_canary.emulator import WatchedEndpoints


@pytest.fixture
def endpoints(kubeconfig: Path) -> Iterator[WatchedEndpoints]:
    with WatchedEndpoints(str(kubeconfig)) as watched:
        yield watched


def _service(kube: Any, namespace: str, name: str, port: int = 8080) -> None:
    kube.apply(
        Service(
            metadata=ObjectMeta(name=name, namespace=namespace),
            spec=ServiceSpec(selector={"app": name}, ports=[ServicePort(port=port)]),
        )
    )


def _deployment(kube: Any, namespace: str, app: str, version: str, replicas: int) -> None:
    labels = {"app": app, "version": version}
    kube.apply(
        Deployment(
            metadata=ObjectMeta(name=f"{app}-{version}", namespace=namespace),
            spec=DeploymentSpec(
                replicas=replicas,
                selector=LabelSelector(matchLabels=labels),
                template=PodTemplateSpec(
                    metadata=ObjectMeta(labels=labels),
                    spec=PodSpec(containers=[Container(name="app", image=f"{app}:{version}")]),
                ),
            ),
        )
    )


def _eventually(value: Callable[[], Any], wanted: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    seen = value()
    while seen != wanted and time.monotonic() < deadline:
        time.sleep(0.2)
        seen = value()
    assert seen == wanted


def _versions(endpoints: WatchedEndpoints, namespace: str, name: str) -> list[str] | None:
    pods = endpoints.ready_pod_labels(namespace, name)
    return None if pods is None else sorted(pod["version"] for pod in pods)


def test_ready_pods_follow_the_cluster(endpoints: WatchedEndpoints, kube: Any, namespace: str) -> None:
    _service(kube, namespace, "cart")
    _deployment(kube, namespace, "cart", "v1", 2)
    _eventually(lambda: _versions(endpoints, namespace, "cart"), ["v1", "v1"])

    _deployment(kube, namespace, "cart", "v2", 1)
    _eventually(lambda: _versions(endpoints, namespace, "cart"), ["v1", "v1", "v2"])

    _deployment(kube, namespace, "cart", "v1", 0)
    _eventually(lambda: _versions(endpoints, namespace, "cart"), ["v2"])

    kube.delete(Service, "cart", namespace=namespace)
    _eventually(lambda: endpoints.service_ports(namespace, "cart"), None)


def test_answers_come_from_memory_once_the_watch_delivered_them(
    endpoints: WatchedEndpoints, kube: Any, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _service(kube, namespace, "shelf", port=9090)
    _deployment(kube, namespace, "shelf", "v1", 1)
    _eventually(lambda: _versions(endpoints, namespace, "shelf"), ["v1"])

    def no_api_server(*_args: object) -> None:
        raise AssertionError("a watched Service was looked up on the API server")

    monkeypatch.setattr(endpoints._direct, "ready_pod_labels", no_api_server)
    monkeypatch.setattr(endpoints._direct, "service_ports", no_api_server)
    assert endpoints.service_ports(namespace, "shelf") == [9090]
    assert _versions(endpoints, namespace, "shelf") == ["v1"]


def test_a_service_made_a_moment_ago_is_read_from_the_api_server(
    endpoints: WatchedEndpoints, kube: Any, namespace: str
) -> None:
    endpoints.stop()  # nothing reaches the copy any more: only the direct read can know the Service
    time.sleep(0.5)
    _service(kube, namespace, "late", port=7070)
    assert endpoints.service_ports(namespace, "late") == [7070]
    assert endpoints.ready_pod_labels(namespace, "late") == []
    assert endpoints.service_ports(namespace, "never-made") is None
