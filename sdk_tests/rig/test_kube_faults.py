"""The fault proxy in front of the real apiserver: rules fire as often as they say, then requests pass."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from lightkube import ApiError, Client, KubeConfig
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ConfigMap

from rig.cluster import LocalCluster
from rig.kube_faults import FaultProxy, KubeFault


@pytest.fixture(scope="module")
def proxy(cluster: LocalCluster) -> Iterator[FaultProxy]:
    with FaultProxy.for_cluster(cluster) as running:
        yield running


@pytest.fixture
def faulty(proxy: FaultProxy, tmp_path: Path) -> Iterator[Client]:
    """A lightkube client that talks to the apiserver through the proxy, with a short timeout."""
    proxy.clear_faults()
    proxy.clear_requests()
    config = KubeConfig.from_file(proxy.write_kubeconfig(tmp_path / "kubeconfig"))
    yield Client(config=config, field_manager="fault-test", timeout=httpx.Timeout(1.0))
    proxy.clear_faults()


def config_map(name: str, namespace: str, value: str = "1") -> ConfigMap:
    return ConfigMap(metadata=ObjectMeta(name=name, namespace=namespace), data={"value": value})


def test_a_rule_fires_its_count_then_requests_pass_through(
    proxy: FaultProxy, faulty: Client, kube: Any, namespace: str
) -> None:
    kube.create(config_map("seen", namespace))
    proxy.add_faults([KubeFault("GET", r"/configmaps/seen$", status=503, count=2)])
    for _ in range(2):
        with pytest.raises(ApiError) as refused:
            faulty.get(ConfigMap, "seen", namespace=namespace)
        assert refused.value.status.code == 503
        assert refused.value.status.reason == "ServiceUnavailable"
    assert faulty.get(ConfigMap, "seen", namespace=namespace).data == {"value": "1"}
    assert not proxy.pending_faults()
    assert [(r.status, r.faulted) for r in proxy.requests("GET", "/configmaps/seen")] == [
        (503, True), (503, True), (200, False)
    ]


def test_rules_match_method_and_path_and_fire_in_order(
    proxy: FaultProxy, faulty: Client, kube: Any, namespace: str
) -> None:
    proxy.add_faults([
        KubeFault("PATCH", r"/configmaps/"),  # lets the first patch through
        KubeFault("PATCH", r"/configmaps/", status=409, content_type="apply-patch"),
    ])
    with pytest.raises(ApiError) as missing:
        faulty.get(ConfigMap, "missing", namespace=namespace)  # a GET: no rule hits it
    assert missing.value.status.code == 404 and len(proxy.pending_faults()) == 2
    faulty.apply(config_map("applied", namespace), field_manager="fault-test")
    with pytest.raises(ApiError) as conflict:
        faulty.apply(config_map("applied", namespace, "2"), field_manager="fault-test")
    assert conflict.value.status.code == 409 and conflict.value.status.reason == "Conflict"
    assert kube.get(ConfigMap, "applied", namespace=namespace).data == {"value": "1"}
    faulty.apply(config_map("applied", namespace, "3"), field_manager="fault-test")
    assert kube.get(ConfigMap, "applied", namespace=namespace).data == {"value": "3"}


def test_a_throttled_answer_says_when_to_retry(proxy: FaultProxy, namespace: str) -> None:
    proxy.add_faults([KubeFault("DELETE", r"/configmaps/", status=429, retry_after_seconds=2)])
    host, port = proxy.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    connection.request("DELETE", f"/api/v1/namespaces/{namespace}/configmaps/anything")
    answer = connection.getresponse()
    assert answer.status == 429 and answer.getheader("Retry-After") == "2"
    assert b'"retryAfterSeconds": 2' in answer.read()
    connection.close()


def test_a_delay_beyond_the_client_timeout_drops_or_makes_the_change(
    proxy: FaultProxy, faulty: Client, kube: Any, namespace: str
) -> None:
    proxy.add_faults([
        KubeFault("POST", r"/configmaps$", delay_seconds=1.5),
        KubeFault("POST", r"/configmaps$", delay_seconds=1.5, forward_first=True),
    ])
    with pytest.raises(httpx.TimeoutException):
        faulty.create(config_map("dropped", namespace))
    with pytest.raises(httpx.TimeoutException):
        faulty.create(config_map("made", namespace))
    threading.Event().wait(1.0)  # both held requests are over
    names = {item.metadata.name for item in kube.list(ConfigMap, namespace=namespace)}
    assert "made" in names and "dropped" not in names
    assert not proxy.pending_faults()


def test_watches_stream_through_as_events_happen(faulty: Client, kube: Any, namespace: str) -> None:
    seen: list[str] = []
    first = threading.Event()

    def watch() -> None:
        for kind, obj in faulty.watch(ConfigMap, namespace=namespace):
            name = obj.metadata.name if obj.metadata else None
            seen.append(f"{kind} {name}")
            if name == "watched":
                first.set()
                return

    reader = threading.Thread(target=watch, daemon=True)
    reader.start()
    threading.Event().wait(0.5)
    kube.create(config_map("watched", namespace))
    assert first.wait(10), f"the event never came through; saw {seen}"
    assert "ADDED watched" in seen
