"""rig.backends and rig.load against the real cluster: kwok's pods answer real requests on their pod IPs.

Requests go straight to pod IPs (no gateway). Those addresses exist only inside the private network
namespace of rig.netns, so these tests fail, rather than skip, outside it.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx2
import pytest
from lightkube.models.apps_v1 import DeploymentSpec
from lightkube.models.core_v1 import Container, ContainerPort, PodSpec, PodTemplateSpec
from lightkube.models.meta_v1 import LabelSelector, ObjectMeta
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Pod

from rig.backends import DEFAULT_PORT, ERROR_RATE_ANNOTATION, LATENCY_ANNOTATION, Address, Backends, PodInfo
from rig.load import LoadRun, Summary, read_records

WAIT_SECONDS = 60.0


pytestmark = pytest.mark.usefixtures("private_network")


@pytest.fixture(scope="module")
def backends(kubeconfig: Path) -> Iterator[Backends]:
    with Backends(kubeconfig) as running:
        yield running


def pod_template(
    version: str, ports: Sequence[int], annotations: Mapping[str, str] | None = None
) -> tuple[ObjectMeta, PodSpec]:
    labels = {"app": "shop", "version": version}
    declared = [ContainerPort(containerPort=port) for port in ports] or None
    container = Container(name="app", image=f"shop:{version}", ports=declared)
    return ObjectMeta(labels=labels, annotations=dict(annotations or {})), PodSpec(containers=[container])


def deployment(
    name: str, namespace: str, version: str, replicas: int, ports: Sequence[int] = ()
) -> Deployment:
    metadata, spec = pod_template(version, ports)
    return Deployment(
        metadata=ObjectMeta(name=name, namespace=namespace),
        spec=DeploymentSpec(
            replicas=replicas,
            selector=LabelSelector(matchLabels=metadata.labels),
            template=PodTemplateSpec(metadata=metadata, spec=spec),
        ),
    )


def bare_pod(name: str, namespace: str, version: str, annotations: Mapping[str, str]) -> Pod:
    metadata, spec = pod_template(version, (), annotations)
    metadata.name, metadata.namespace = name, namespace
    return Pod(metadata=metadata, spec=spec)


def in_namespace(served: Mapping[Address, PodInfo], namespace: str) -> dict[Address, PodInfo]:
    return {address: pod for address, pod in served.items() if pod.namespace == namespace}


def serving_count(namespace: str, count: int) -> Callable[[dict[Address, PodInfo]], bool]:
    return lambda served: len(in_namespace(served, namespace)) == count


def serve_one_pod(kube: Any, backends: Backends, namespace: str, annotations: Mapping[str, str]) -> Address:
    kube.create(bare_pod("shop-canary", namespace, "v2", annotations))
    (address,) = in_namespace(backends.wait_serving(serving_count(namespace, 1), WAIT_SECONDS), namespace)
    return address


def url(address: Address) -> str:
    return f"http://{address[0]}:{address[1]}/shop"


def get(address: Address) -> httpx2.Response:
    return httpx2.get(url(address), timeout=5.0, trust_env=False)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.05)


def expected_endpoints(kube: Any, namespace: str) -> dict[Address, Any]:
    """Every (pod IP, port) the API server says should answer, from the pods' own specs."""
    expected: dict[Address, Any] = {}
    for pod in kube.list(Pod, namespace=namespace):
        declared = [port.containerPort for container in pod.spec.containers for port in container.ports or []]
        for port in declared or [DEFAULT_PORT]:
            expected[(pod.status.podIP, port)] = pod
    return expected


def test_ready_pods_answer_on_their_pod_ips_with_their_version(
    kube, namespace: str, backends: Backends
) -> None:
    kube.create(deployment("shop-v1", namespace, "v1", replicas=2))  # declares no port: the default one
    kube.create(deployment("shop-v2", namespace, "v2", replicas=1, ports=(8080, 9090)))
    served = in_namespace(backends.wait_serving(serving_count(namespace, 4), WAIT_SECONDS), namespace)

    expected = expected_endpoints(kube, namespace)
    assert set(served) == set(expected)
    for address, pod in expected.items():
        response = get(address)
        version = pod.metadata.labels["version"]
        assert response.status_code == 200, address
        assert response.json() == {"pod": pod.metadata.name, "namespace": namespace, "version": version}
        assert (response.headers["X-Pod"], response.headers["X-Version"]) == (pod.metadata.name, version)


def test_scaling_to_zero_closes_the_listeners_and_requests_then_fail(
    kube, namespace: str, backends: Backends
) -> None:
    kube.create(deployment("shop-v1", namespace, "v1", replicas=2, ports=(8080,)))
    before = in_namespace(backends.wait_serving(serving_count(namespace, 2), WAIT_SECONDS), namespace)
    assert [get(address).status_code for address in before] == [200, 200]

    kube.patch(Deployment, "shop-v1", {"spec": {"replicas": 0}}, namespace=namespace)
    backends.wait_serving(serving_count(namespace, 0), WAIT_SECONDS)

    for address in before:
        load = LoadRun(url(address), requests=5, seconds=30)
        summary = load.run()
        assert (summary.total, summary.errors) == (5, 5), load.records
        assert {(record.status, record.version) for record in load.records} == {(0, None)}
        assert all("Connect" in str(record.error) for record in load.records), load.records


def test_deleting_a_pod_cuts_the_request_it_is_answering(kube, namespace: str, backends: Backends) -> None:
    address = serve_one_pod(kube, backends, namespace, {LATENCY_ANNOTATION: "60000"})
    slow = LoadRun(url(address), requests=1, seconds=30, concurrency=1, timeout=120).start()
    wait_for(lambda: backends.connections().get(address) == 1, "the slow request to reach the pod")

    kube.delete(Pod, "shop-canary", namespace=namespace)
    slow.wait(timeout=WAIT_SECONDS)

    assert slow.done
    (record,) = slow.records
    assert (record.status, record.error is not None) == (0, True), record
    assert address not in backends.served()
    with pytest.raises(httpx2.ConnectError):
        get(address)


def test_error_rate_annotation_answers_about_that_share_with_500(
    kube, namespace: str, backends: Backends
) -> None:
    address = serve_one_pod(kube, backends, namespace, {ERROR_RATE_ANNOTATION: "0.3"})
    load = LoadRun(url(address), requests=400, seconds=60)
    summary = load.run()

    # 400 draws at 0.3: mean 120, standard deviation 9.2; these bounds are more than 5 deviations away.
    assert summary.total == 400
    assert 70 <= summary.errors <= 170, summary
    assert Counter(record.status for record in load.records).keys() == {200, 500}
    assert summary.errors_by_version == {"v2": summary.errors}  # the pod itself answered the 500s

    kube.patch(Pod, "shop-canary", {"metadata": {"annotations": {ERROR_RATE_ANNOTATION: "0"}}},
               namespace=namespace)
    backends.wait_serving(lambda served: address in served and served[address].error_rate == 0, WAIT_SECONDS)
    assert LoadRun(url(address), requests=100, seconds=60).run().errors == 0


def test_latency_annotation_delays_every_answer(kube, namespace: str, backends: Backends) -> None:
    address = serve_one_pod(kube, backends, namespace, {LATENCY_ANNOTATION: "250"})
    load = LoadRun(url(address), requests=8, seconds=60)
    summary = load.run()
    assert (summary.total, summary.errors) == (8, 0)
    assert min(record.latency_ms for record in load.records) >= 250, load.records


def json_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def summary_of_lines(lines: list[dict[str, Any]]) -> tuple[int, int, dict[str, int]]:
    failed = sum(line["status"] == 0 or line["status"] >= 500 for line in lines)
    versions = Counter(line["version"] if line["version"] is not None else "(none)" for line in lines)
    return len(lines), failed, dict(versions)


def as_tuple(summary: Summary) -> tuple[int, int, dict[str, int]]:
    return summary.total, summary.errors, summary.by_version


def test_load_summary_matches_its_json_lines_and_stops_at_the_request_bound(
    kube, namespace: str, backends: Backends, tmp_path: Path
) -> None:
    address = serve_one_pod(kube, backends, namespace, {ERROR_RATE_ANNOTATION: "0.5"})
    out = tmp_path / "load.jsonl"
    summary = LoadRun(url(address), requests=120, seconds=60, out=out).run()

    lines = json_lines(out)
    assert len(lines) == 120
    assert set(lines[0]) == {"t", "status", "version", "pod", "latency_ms", "error"}
    assert as_tuple(summary) == summary_of_lines(lines)
    shares = {version: 100.0 * count / 120 for version, count in summary.by_version.items()}
    assert summary.share_percent == shares
    assert Summary.of(read_records(out)) == summary


def test_load_stops_at_its_time_bound(kube, namespace: str, backends: Backends, tmp_path: Path) -> None:
    address = serve_one_pod(kube, backends, namespace, {})
    out = tmp_path / "load.jsonl"
    # Paced at 20 per second for 1 s: the count bound (a million) is never the one reached.
    summary = LoadRun(url(address), requests=1_000_000, seconds=1.0, rate=20, out=out).run()

    lines = json_lines(out)
    assert 0 < len(lines) <= 20
    assert all(line["t"] < 1.0 for line in lines), lines
    assert as_tuple(summary) == summary_of_lines(lines)
