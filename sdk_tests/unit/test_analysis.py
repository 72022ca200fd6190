"""Metric analysis (pure parts): what check() accepts, where the plan measures, how measurements decide,
and how an instant query's answer becomes one number."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from pulumi_canary.drivers.analysis import one_number
from pulumi_canary.model import (
    Analyze,
    RolloutRecord,
    SetWeights,
    check_split,
    plan_rollback,
    plan_split,
    rollback_weights,
)
from pulumi_canary.model.analysis import MetricSpec, MetricTally, render_query

from .factories import split, split_props
from .test_model_planning import live

ERRORS = {"name": "error-rate", "query": "errors{{canary}}", "max": 0.01}
ANALYSIS = {"prometheus_url": "http://prometheus:9090", "metrics": [ERRORS], "count": 2}


def analysed(canary_weight: int, **analysis: Any) -> Any:
    steps = [{"weight": 10, "pause_seconds": 5}, {"weight": 25}]
    return split(weights=None, canary_weight=canary_weight, steps=steps, analysis={**ANALYSIS, **analysis})


def test_the_plan_measures_after_each_hold_and_at_the_target_of_a_rise() -> None:
    plan = plan_split(analysed(50), live(weights={"v1": 100, "v2": 0}))
    measured = [
        (step.percent, type(plan[i - 1]).__name__) for i, step in enumerate(plan) if isinstance(step, Analyze)
    ]
    assert measured == [(10, "Pause"), (25, "SetWeights"), (50, "SetWeights")]
    (first, *_) = [step for step in plan if isinstance(step, Analyze)]
    assert first.names == {"canary": "v2", "stable": "v1", "service": "demo-service", "namespace": "default"}


def test_a_fall_and_an_unchanged_split_measure_nothing() -> None:
    fall = plan_split(analysed(0), live(weights={"v1": 50, "v2": 50}))
    assert not any(isinstance(step, Analyze) for step in fall)
    assert plan_split(analysed(50), live(weights={"v1": 50, "v2": 50})) == ()


def test_a_rollback_goes_back_to_where_the_update_began_or_to_stable_when_it_resumed_a_walk() -> None:
    spec = analysed(50)
    assert rollback_weights(spec, live(weights={"v1": 95, "v2": 5})) == {"v1": 95, "v2": 5}, "was there"
    at_step = live(weights={"v1": 90, "v2": 10})
    assert rollback_weights(spec, at_step) == {"v1": 100, "v2": 0}, "10% is a step: resumed"
    ended_there = RolloutRecord("succeeded", "v2", 10, 10, 0, "", "t")
    assert rollback_weights(spec, replace(at_step, rollout=ended_there)) == {"v1": 90, "v2": 10}, "ended"
    assert rollback_weights(spec, live(weights={})) == {"v1": 100, "v2": 0}


def test_the_rollback_is_one_move_back_to_where_the_update_began() -> None:
    plan = plan_rollback(analysed(50), live(weights={"v1": 75, "v2": 25}), {"v1": 100, "v2": 0})
    assert [step for step in plan if isinstance(step, SetWeights)] == [SetWeights({"v1": 100, "v2": 0})]


@pytest.mark.parametrize(
    ("analysis", "where", "fragment"),
    [
        ({"metrics": [{"name": "e", "query": "q"}]}, "analysis.metrics[0]", "give max, min or both"),
        ({"metrics": [{"name": "e", "query": "q", "min": 2, "max": 1}]}, "analysis.metrics[0].min", "no"),
        ({"metrics": [ERRORS, ERRORS]}, "analysis.metrics[1].name", "names two metrics"),
        ({"metrics": []}, "analysis.metrics", "at least one metric"),
        ({"prometheus_url": "prometheus:9090"}, "analysis.prometheus_url", "not an http(s) URL"),
        ({"count": 2, "failure_limit": 2}, "analysis.failure_limit", "keep it below count"),
        ({"interval_seconds": 0}, "analysis.interval_seconds", "from 1 to 3600"),
        ({"metrics": [{**ERRORS, "query": " "}]}, "analysis.metrics[0].query", "must not be empty"),
    ],
)
def test_bad_analysis_names_the_property(analysis: dict[str, Any], where: str, fragment: str) -> None:
    found = {f.property: f.reason for f in check_split(split_props(analysis={**ANALYSIS, **analysis}))}
    assert where in found and fragment in found[where], found


def test_queries_name_the_steps_versions() -> None:
    names = {"canary": "v2", "namespace": "shop"}
    assert render_query('x{v="{{canary}}",ns="{{ namespace }}"}', names) == 'x{v="v2",ns="shop"}'


def test_failures_beyond_the_limit_decide_and_errors_in_a_row_too() -> None:
    metric = MetricSpec(name="error-rate", query="q", max=0.01)
    tally = MetricTally(metric, failure_limit=1, consecutive_error_limit=1)
    tally.measured(0.5)
    assert tally.verdict() is None, "one failure is within failure_limit 1"
    tally.measured(0.2)
    expected = "metric error-rate measured 0.2 > max 0.01 (2 failed measurement(s), failure_limit 1)"
    assert tally.verdict() == expected
    erring = MetricTally(metric, failure_limit=0, consecutive_error_limit=1)
    erring.measured(None, "refused")
    erring.measured(0.0)
    erring.measured(None, "refused")
    assert erring.verdict() is None, "errors must come in a row"
    erring.measured(float("nan"))
    assert "could not be measured 2 times in a row" in (erring.verdict() or "")


def test_a_metric_never_measured_fails_at_the_end() -> None:
    tally = MetricTally(MetricSpec(name="p99", query="q", min=0), failure_limit=0, consecutive_error_limit=5)
    tally.measured(None, "no series")
    assert tally.verdict() is None
    assert tally.final_verdict() == "metric p99 could not be measured at all: no series"


@pytest.mark.parametrize(
    ("data", "value", "reason"),
    [
        ({"resultType": "vector", "result": [{"metric": {}, "value": [1, "0.25"]}]}, 0.25, ""),
        ({"resultType": "scalar", "result": [1, "3"]}, 3.0, ""),
        ({"resultType": "vector", "result": []}, None, "no series"),
        ({"resultType": "vector", "result": [{"value": [1, "1"]}, {"value": [1, "2"]}]}, None, "2 series"),
        ({"resultType": "vector", "result": [{"value": [1, "NaN"]}]}, None, "NaN"),
        ({"resultType": "matrix", "result": []}, None, "a matrix"),
    ],
)
def test_an_instant_query_answers_one_number_or_says_why_not(data: Any, value: Any, reason: str) -> None:
    measured, why = one_number(data)
    assert measured == value and reason in why
