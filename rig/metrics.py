"""Prometheus in the rig, scraping Traefik every second, and the per-version queries canary analysis uses.

Traefik labels its service metrics with the service it sent the request to, and the plugin gives every
version a service of its own (a Service per version on the Gateway API; a load balancer per version in
the MSE data plane), so a version's request rate, error rate and latency are one PromQL query each.
"""

from __future__ import annotations

import json
import math
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from rig import tools
from rig.cluster import Process, free_port, http_ok, spawn_logged, stop_process, wait_until

SCRAPE_SECONDS = 1


@dataclass(frozen=True)
class VersionStats:
    """What the gateway measured of one version over a window: requests per second, the share of them
    answered 5xx, and the 99th percentile of their latency in seconds (NaN without requests)."""

    request_rate: float
    error_rate: float
    p99_seconds: float


@dataclass
class Prometheus:
    """Start with ``with Prometheus(workdir, targets=["127.0.0.1:PORT"]) as prometheus:``."""

    workdir: Path
    targets: list[str]
    port: int = field(default_factory=free_port)
    process: Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Prometheus:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "prometheus.yml"
        # JSON is YAML: no YAML writer is needed before the virtualenv's packages are.
        config.write_text(
            json.dumps(
                {
                    "global": {
                        "scrape_interval": f"{SCRAPE_SECONDS}s",
                        "evaluation_interval": f"{SCRAPE_SECONDS}s",
                    },
                    "scrape_configs": [
                        {"job_name": "traefik", "static_configs": [{"targets": self.targets}]}
                    ],
                }
            )
        )
        self.process = spawn_logged(
            "prometheus",
            [
                str(tools.PROMETHEUS.folder / "prometheus"),
                f"--config.file={config}",
                f"--storage.tsdb.path={self.workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            self.workdir / "prometheus.log",
        )
        wait_until(self.process, lambda: http_ok(f"{self.url}/-/ready"), "prometheus /-/ready")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process.popen)
            self.process = None


def query(url: str, promql: str) -> dict[str, float]:
    """An instant query against the Prometheus at ``url``: the ``service`` label of each series -> value."""
    address = f"{url}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
    with urllib.request.urlopen(address, timeout=10) as response:
        body = json.load(response)
    if body.get("status") != "success":
        raise RuntimeError(f"prometheus refused {promql!r}: {body.get('error')}")
    return {
        str(series["metric"].get("service", "")): float(series["value"][1])
        for series in body["data"]["result"]
    }


def version_queries(service: str, window: str) -> dict[str, str]:
    """The three PromQL queries for a Traefik service (a regular expression on its ``service`` label)."""
    selector = f'service=~"{service}"'
    requests = f"sum by (service) (rate(traefik_service_requests_total{{{selector}}}[{window}]))"
    errors = f'sum by (service) (rate(traefik_service_requests_total{{{selector},code=~"5.."}}[{window}]))'
    histogram = f"traefik_service_request_duration_seconds_bucket{{{selector}}}"
    buckets = f"sum by (service, le) (rate({histogram}[{window}]))"
    return {
        "request_rate": requests,
        "error_rate": f"({errors} or ({requests} * 0)) / {requests}",
        "p99_seconds": f"histogram_quantile(0.99, {buckets})",
    }


def version_stats(url: str, services: dict[str, str], window: str = "10s") -> dict[str, VersionStats]:
    """Per version, what Traefik measured over ``window``; ``services`` maps a version to the regular
    expression of its Traefik service."""
    stats = {}
    for version, service in services.items():
        values = {name: _one(query(url, promql)) for name, promql in version_queries(service, window).items()}
        stats[version] = VersionStats(**values)
    return stats


def _one(series: dict[str, float]) -> float:
    # One Traefik service per version: more series would mean the expression caught two versions.
    if len(series) > 1:
        raise RuntimeError(f"expected one series, got {sorted(series)}")
    return next(iter(series.values()), math.nan)
