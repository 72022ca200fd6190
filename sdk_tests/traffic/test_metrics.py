"""Prometheus, scraping the rig's Traefik, tells each version's request rate, error rate and p99 apart.

A canary that answers half its requests with 500, slowly, next to a healthy stable version: the
per-version queries of ``rig.metrics`` (what canary analysis will use) must see exactly that.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from lightkube.resources.core_v1 import Pod
from lightkube.types import PatchType

from rig.backends import ERROR_RATE_ANNOTATION, LATENCY_ANNOTATION
from rig.load import LoadRun
from rig.metrics import Prometheus, query, version_stats
from sdk_tests.traffic.release import GATEWAYS

BAD_CANARY = {ERROR_RATE_ANNOTATION: "0.5", LATENCY_ANNOTATION: "250"}
REQUESTS = 600


def make_bad(kube: Any, namespace: str, version: str) -> None:
    for pod in kube.list(Pod, namespace=namespace, labels={"version": version}):
        patch = {"metadata": {"annotations": BAD_CANARY}}
        kube.patch(Pod, pod.metadata.name, patch, namespace=namespace, patch_type=PatchType.MERGE)


def wait_scraped(prometheus: Prometheus, services: dict[str, str], counts: dict[str, int]) -> None:
    """Until Prometheus has scraped every request the load generator counted per version."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        seen = {
            version: sum(
                query(prometheus.url, f'sum(traefik_service_requests_total{{service=~"{pattern}"}})').values()
            )
            for version, pattern in services.items()
        }
        if all(seen[version] >= counts.get(version, 0) for version in services):
            return
        time.sleep(0.5)
    raise TimeoutError(f"Prometheus saw {seen}, the load generator {counts}")


@pytest.mark.parametrize("kind", GATEWAYS)
def test_per_version_rate_errors_and_p99(
    launch, kind: str, prometheus: Prometheus, namespace: str, kube: Any
) -> None:
    deployed = launch(kind, canary_replicas=1)
    make_bad(kube, namespace, "v2")
    deployed.apply({"v1": 50, "v2": 50}, split={"weights": {"v1": 50, "v2": 50}})
    gateway = deployed.gateway

    summary = LoadRun(deployed.url, requests=REQUESTS, seconds=60, rate=60).run()
    services = {version: gateway.service_pattern(version) for version in ("v1", "v2")}
    wait_scraped(prometheus, services, summary.by_version)
    stats = version_stats(prometheus.url, services, window="1m")

    assert summary.errors_by_version.get("v1", 0) == 0 < summary.errors_by_version.get("v2", 0), summary
    assert stats["v1"].error_rate == 0, stats
    assert 0.3 < stats["v2"].error_rate < 0.7, stats
    assert 0.5 < stats["v1"].request_rate / stats["v2"].request_rate < 2, stats
    assert stats["v1"].p99_seconds < 0.1 < 0.2 < stats["v2"].p99_seconds, stats
