"""Run a rollout step's analysis against a Prometheus-compatible query API (I/O).

Each measurement is one instant query (``GET /api/v1/query``) that must answer exactly one number. A
query that fails, times out, answers no series, several series, or NaN is an error of that measurement,
never a pass (see ``model.analysis``). Any query API that speaks Prometheus' HTTP API serves: Prometheus,
Thanos, VictoriaMetrics, Alibaba Cloud's managed Prometheus.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from ..errors import AnalysisFailedError
from ..model import Analyze
from ..model.analysis import MetricTally, render_query

QUERY_TIMEOUT_SECONDS = 5.0

Measurement = tuple[float | None, str]
"""A value, or None and why there is none."""


def run_analysis(step: Analyze, sleep: Callable[[float], None] = time.sleep) -> str:
    """Take the step's measurements; raise ``AnalysisFailedError`` as soon as a metric decides.
    Returns what was measured, for the progress lines: ``error-rate 0, 0.002 (max 0.05)``."""
    analysis = step.analysis
    tallies = [
        MetricTally(metric, analysis.failure_limit, analysis.consecutive_error_limit)
        for metric in analysis.metrics
    ]
    for round_ in range(analysis.count):
        if round_:
            sleep(analysis.interval_seconds)
        for tally in tallies:
            tally.measured(*measure(analysis.prometheus_url, render_query(tally.metric.query, step.names)))
            verdict = tally.verdict()
            if verdict is not None:
                raise AnalysisFailedError(step.version, step.percent, verdict)
    for tally in tallies:
        verdict = tally.final_verdict()
        if verdict is not None:
            raise AnalysisFailedError(step.version, step.percent, verdict)
    return "; ".join(tally.summary() for tally in tallies)


def measure(prometheus_url: str, query: str) -> Measurement:
    """One instant query: its one number, or None and the reason."""
    import httpx2 as httpx

    try:
        address = f"{prometheus_url.rstrip('/')}/api/v1/query"
        response = httpx.get(address, params={"query": query}, timeout=QUERY_TIMEOUT_SECONDS)
        body: Any = response.json()
    except (httpx.HTTPError, OSError, ValueError) as error:
        return None, f"the query API at {prometheus_url} did not answer: {error or type(error).__name__}"
    if not isinstance(body, dict) or body.get("status") != "success":
        problem = body.get("error") if isinstance(body, dict) else None
        return None, f"the query API refused the query (HTTP {response.status_code}): {problem or body!r}"
    return one_number(body.get("data") or {})


def one_number(data: dict[str, Any]) -> Measurement:
    """The value of an instant query's ``data``: a scalar, or a vector of exactly one series."""
    kind, result = data.get("resultType"), data.get("result")
    if kind == "scalar" and isinstance(result, list):
        return _number(result[1])
    if kind != "vector" or not isinstance(result, list):
        return None, f"the query answered a {kind}, not one number"
    if len(result) != 1:
        return None, (
            f"the query answered {len(result)} series, not one: aggregate it (sum, max, ...) to one number"
            if result
            else "the query answered no series (no traffic yet, or a selector that matches nothing)"
        )
    return _number(result[0].get("value", [None, None])[1])


def _number(text: Any) -> Measurement:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None, f"the query answered {text!r}, not a number"
    if math.isnan(value):
        return None, "the query answered NaN (a ratio over no requests?)"
    return value, ""
