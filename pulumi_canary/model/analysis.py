"""Metric analysis of a rollout step (pure): what is declared, how a query names the step's versions,
and how measurements add up to a verdict.

An analysis takes ``count`` measurements, ``interval_seconds`` apart, of every metric. A measurement
fails when the value crosses the metric's ``max`` or ``min``; an error is a measurement that could not be
taken (the query failed, answered nothing, or answered something that is not a number). The step fails
once more than ``failure_limit`` measurements of one metric failed, or more than
``consecutive_error_limit`` in a row erred: a metric source that cannot answer is no evidence of health.
"""

from __future__ import annotations

import math
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated

from pydantic import BeforeValidator

from ._text import Path, Problem
from .fields import WHOLE_NUMBER, SpecModel, between, checked, list_to_tuple, non_empty_list, word_problem

__all__ = [
    "PLACEHOLDERS",
    "AnalysisSpec",
    "MetricSpec",
    "MetricTally",
    "WebhookSpec",
    "analysis_problems",
    "render_query",
    "url_problem",
]

PLACEHOLDERS = ("canary", "stable", "service", "namespace")
"""What a query may name as ``{{canary}}`` and so on: the versions of the step and the Service."""


def url_problem(value: str) -> str | None:
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{value!r} is not an http(s) URL with a host, e.g. 'http://prometheus.monitoring:9090'"
    return None


def _query_problem(value: str) -> str | None:
    if not value.strip():
        return "must not be empty: give a PromQL expression that answers one number"
    if len(value) > 8192:
        return f"is {len(value)} characters long; at most 8192"
    return None


class MetricSpec(SpecModel):
    """One metric of an analysis: a PromQL query that answers one number, and its bounds.

    Example: ``{"name": "error-rate", "query": "sum(rate(...{{canary}}...))", "max": 0.01}``.
    """

    name: Annotated[str, checked(word_problem("metric name", 63, "error-rate"))]
    query: Annotated[str, checked(_query_problem)]
    max: float | None = None
    """The highest passing value (e.g. an error rate); give ``max``, ``min`` or both."""
    min: float | None = None
    """The lowest passing value (e.g. a success rate)."""

    def crossed(self, value: float) -> str | None:
        """How ``value`` crosses a bound (``0.05 > max 0.01``), or None when it passes."""
        if self.max is not None and value > self.max:
            return f"{value:g} > max {self.max:g}"
        if self.min is not None and value < self.min:
            return f"{value:g} < min {self.min:g}"
        return None


class AnalysisSpec(SpecModel):
    """The analysis at every rollout step: ``count`` measurements of each metric, ``interval_seconds``
    apart, from a Prometheus-compatible query API at ``prometheus_url``."""

    prometheus_url: Annotated[str, checked(url_problem)]
    metrics: Annotated[
        tuple[MetricSpec, ...], BeforeValidator(list_to_tuple), non_empty_list("metric, e.g. an error rate")
    ]
    interval_seconds: Annotated[int, WHOLE_NUMBER, between(1, 3600)] = 10
    count: Annotated[int, WHOLE_NUMBER, between(1, 100)] = 3
    failure_limit: Annotated[int, WHOLE_NUMBER, between(0, 100)] = 0
    consecutive_error_limit: Annotated[int, WHOLE_NUMBER, between(0, 100)] = 4


class WebhookSpec(SpecModel):
    """A gate before each rise of a rollout (Flagger's confirm-traffic-increase): ``url`` gets a POST
    naming the step, and the canary's share rises only once it answers 2xx. Any other answer, or none
    within ``timeout_seconds``, is asked again every ``interval_seconds`` until the rollout's progress
    deadline.

    Example: ``{"name": "approve", "url": "http://gate.ops:8080/approve"}``.
    """

    name: Annotated[str, checked(word_problem("webhook name", 63, "approve"))]
    url: Annotated[str, checked(url_problem)]
    timeout_seconds: Annotated[int, WHOLE_NUMBER, between(1, 60)] = 10
    interval_seconds: Annotated[int, WHOLE_NUMBER, between(1, 3600)] = 10


def analysis_problems(analysis: object) -> list[Problem]:
    """Cross-property problems of an analysis' props: each metric has a bound it can meet, metric names
    are unique, and ``failure_limit`` leaves room for a step to fail (below ``count``)."""
    if not isinstance(analysis, Mapping):
        return []
    metrics = analysis.get("metrics")
    problems: list[Problem] = []
    seen: set[str] = set()
    for index, metric in enumerate(metrics if isinstance(metrics, list | tuple) else []):
        if isinstance(metric, Mapping):
            problems.extend(_metric_problems(("analysis", "metrics", index), metric, seen))
    count, limit = _number(analysis.get("count", 3)), _number(analysis.get("failure_limit", 0))
    if count is not None and limit is not None and limit >= count:
        reason = f"is {limit:g} with count {count:g}: no step could ever fail; keep it below count"
        problems.append((("analysis", "failure_limit"), reason))
    return problems


def _metric_problems(where: Path, metric: Mapping[str, object], seen: set[str]) -> list[Problem]:
    problems: list[Problem] = []
    low, high = _number(metric.get("min")), _number(metric.get("max"))
    if metric.get("max") is None and metric.get("min") is None:
        problems.append((where, "give max, min or both: the bounds a passing measurement stays within"))
    elif low is not None and high is not None and low > high:
        problems.append(((*where, "min"), f"min {low:g} is above max {high:g}: no value could pass"))
    name = metric.get("name")
    if isinstance(name, str):
        if name in seen:
            problems.append(((*where, "name"), f"{name!r} names two metrics: give each its own name"))
        seen.add(name)
    return problems


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def render_query(query: str, names: Mapping[str, str]) -> str:
    """``query`` with ``{{canary}}``, ``{{stable}}``, ``{{service}}`` and ``{{namespace}}`` filled in
    (spaces inside the braces allowed, as in Flagger's templates)."""
    for name, value in names.items():
        for form in (f"{{{{{name}}}}}", f"{{{{ {name} }}}}"):
            query = query.replace(form, value)
    return query


@dataclass
class MetricTally:
    """The measurements of one metric at one step, and whether they have decided the step."""

    metric: MetricSpec
    failure_limit: int
    consecutive_error_limit: int
    failures: list[str] = field(default_factory=list)
    errors_in_a_row: int = 0
    last_error: str = ""
    values: list[float] = field(default_factory=list)

    def measured(self, value: float | None, error: str = "") -> None:
        if value is None or math.isnan(value):
            self.errors_in_a_row += 1
            self.last_error = error or "the query answered no number"
            return
        self.errors_in_a_row = 0
        self.values.append(value)
        crossed = self.metric.crossed(value)
        if crossed is not None:
            self.failures.append(crossed)

    def summary(self) -> str:
        """``error-rate 0, 0.002 (max 0.05)``: the values measured and the bounds."""
        bounds = [f"{name} {bound:g}" for name, bound in (("min", self.metric.min), ("max", self.metric.max))
                  if bound is not None]
        values = ", ".join(f"{value:g}" for value in self.values) or "no value"
        return f"{self.metric.name} {values} ({', '.join(bounds)})"

    def final_verdict(self) -> str | None:
        """Once every measurement is in: a metric never measured fails too (no evidence is no pass)."""
        if not self.values:
            return f"metric {self.metric.name} could not be measured at all: {self.last_error}"
        return self.verdict()

    def verdict(self) -> str | None:
        """Why the step fails on this metric, or None while it has not failed."""
        if len(self.failures) > self.failure_limit:
            return (
                f"metric {self.metric.name} measured {self.failures[-1]} "
                f"({len(self.failures)} failed measurement(s), failure_limit {self.failure_limit})"
            )
        if self.errors_in_a_row > self.consecutive_error_limit:
            return (
                f"metric {self.metric.name} could not be measured {self.errors_in_a_row} times in a row "
                f"(consecutive_error_limit {self.consecutive_error_limit}): {self.last_error}"
            )
        return None
