"""Rollout steps of a TrafficSplit: declared, validated, and walked by the plan (pure)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pulumi_canary.model import Pause, SetWeights, WaitReady, check_split, plan_split

from .factories import split, split_props
from .simulator import World
from .test_model_planning import live, wait

STEPS = [{"weight": 10, "pause_seconds": 30}, {"weight": 25, "pause_seconds": 60}, {"weight": 50}]


def rollout(canary_weight: int, **changes: Any) -> Any:
    return split(weights=None, canary_weight=canary_weight, steps=STEPS, **changes)


def test_a_rise_walks_every_step_below_the_target_waiting_for_the_canary_and_holding_each() -> None:
    plan = plan_split(rollout(100), live(weights={"v1": 100, "v2": 0}))
    assert plan == (
        wait("v2"), SetWeights({"v1": 90, "v2": 10}), Pause("v2", 10, 30),
        wait("v2"), SetWeights({"v1": 75, "v2": 25}), Pause("v2", 25, 60),
        wait("v2"), SetWeights({"v1": 50, "v2": 50}),  # no pause declared: straight on
        wait("v2"), SetWeights({"v1": 0, "v2": 100}),
    )


def test_steps_at_or_above_the_target_are_not_walked() -> None:
    plan = plan_split(rollout(25), live(weights={"v1": 100, "v2": 0}))
    assert plan == (wait("v2"), SetWeights({"v1": 90, "v2": 10}), Pause("v2", 10, 30),
                    wait("v2"), SetWeights({"v1": 75, "v2": 25}))


def test_a_walk_cut_short_holds_the_step_it_stands_at_again_then_walks_on() -> None:
    plan = plan_split(rollout(100), live(weights={"v1": 90, "v2": 10}))
    assert plan == (
        Pause("v2", 10, 30),  # the hold that was cut short, again
        wait("v2"), SetWeights({"v1": 75, "v2": 25}), Pause("v2", 25, 60),
        wait("v2"), SetWeights({"v1": 50, "v2": 50}),
        wait("v2"), SetWeights({"v1": 0, "v2": 100}),
    )
    between = plan_split(rollout(100), live(weights={"v1": 80, "v2": 20}))
    assert between[:2] == (wait("v2"), SetWeights({"v1": 75, "v2": 25})), "between steps: walk on"


def test_a_fall_is_one_immediate_move() -> None:
    plan = plan_split(rollout(0), live(weights={"v1": 50, "v2": 50}))
    assert plan == (wait("v1"), SetWeights({"v1": 100, "v2": 0}))
    lower = plan_split(rollout(10), live(weights={"v1": 50, "v2": 50}))
    assert not any(isinstance(step, Pause) for step in lower)


def test_without_steps_a_rise_is_one_move_as_before() -> None:
    plan = plan_split(split(weights=None, canary_weight=50), live(weights={"v1": 100, "v2": 0}))
    assert plan == (wait("v2"), SetWeights({"v1": 50, "v2": 50}))


def test_allow_unready_walks_without_waiting() -> None:
    plan = plan_split(rollout(50, allow_unready=True), live(weights={"v1": 100, "v2": 0}))
    assert not any(isinstance(step, WaitReady) for step in plan)
    assert [step.weights for step in plan if isinstance(step, SetWeights)] == [
        {"v1": 90, "v2": 10}, {"v1": 75, "v2": 25}, {"v1": 50, "v2": 50}
    ]


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        ([{"weight": 10}, {"weight": 10}], {"steps[1].weight": "must rise strictly: 10 comes after 10"}),
        ([{"weight": 30}, {"weight": 20}], {"steps[1].weight": "must rise strictly: 20 comes after 30"}),
        ([{"weight": 0}], {"steps[0].weight": "a step gives the canary 1 to 99 percent, got 0"}),
        ([{"weight": 100}], {"steps[0].weight": "a step gives the canary 1 to 99 percent, got 100"}),
        ([{"weight": 150}], {"steps[0].weight": "must be a whole number from 0 to 100, got 150"}),
        ([{"weight": 10, "pause_seconds": -1}], {"steps[0].pause_seconds": "got -1"}),
        ([{"pause_seconds": 5}], {"steps[0].weight": "is required"}),
        ("10,50", {"steps": "must be a list of Step(weight, pause_seconds)"}),
    ],
)
def test_bad_steps_name_the_step_and_the_reason(steps: object, expected: dict[str, str]) -> None:
    found = {failure.property: failure.reason for failure in check_split(split_props(steps=steps))}
    assert found.keys() == expected.keys(), found
    for where, fragment in expected.items():
        assert fragment in found[where], found


@settings(max_examples=300, deadline=None)
@given(
    weights=st.lists(st.integers(1, 99), unique=True, max_size=5).map(sorted),
    start=st.integers(0, 100),
    target=st.integers(0, 100),
)
def test_every_walk_is_safe_and_ends_at_the_target(weights: list[int], start: int, target: int) -> None:
    steps = [{"weight": weight, "pause_seconds": 1} for weight in weights]
    spec = split(weights=None, canary_weight=target, steps=steps)
    state = live(weights={"v1": 100 - start, "v2": start})
    plan = plan_split(spec, state)
    world = World.from_live(state)
    assert world.run(plan), "the simulator refused a step"
    moved = [step.weights["v2"] for step in plan if isinstance(step, SetWeights)]
    assert (moved[-1] if moved else start) == target
    assert moved == sorted(moved) or len(moved) <= 1, "a walk only rises; a fall is one move"
