"""What stops or gates a rollout: webhooks asked before each rise, the progress deadline, and the record
of a failed rollout that keeps the next ``up`` from walking it again until ``retry`` says so.

The plan is pure; the webhook client and the deadline run for real (a webhook server on loopback, real
sleeps of a second or so); the MSE Description codec is the one the driver writes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from pulumi_canary.drivers.executor import RolloutClock
from pulumi_canary.drivers.mse.wire import (
    MAX_DESCRIPTION_LENGTH,
    adopted_description,
    decode_restore_copy,
    owner_marker,
    owner_of,
    rollout_of,
    with_rollout,
)
from pulumi_canary.drivers.webhooks import confirm
from pulumi_canary.errors import RolloutDeadlineError, RolloutHaltedError
from pulumi_canary.model import (
    ApplyCanaryDeployment,
    Confirm,
    Drain,
    LiveDeployment,
    LiveRoute,
    Pause,
    RolloutRecord,
    RouteSnapshot,
    ScaleCanary,
    SetWeights,
    WaitReady,
    check_split,
    plan_delete_split,
    plan_rollback,
    plan_split,
    plan_update_policy,
    resumes_walk,
)
from rig.webhook import WebhookGate

from .factories import policy, split, split_props
from .test_model_planning import live

STEPS = [{"weight": 10}, {"weight": 25}]
HOOK = {"name": "approve", "url": "http://127.0.0.1:9/approve"}


def gated(canary_weight: int, **changes: Any) -> Any:
    return split(
        **{"weights": None, "canary_weight": canary_weight, "steps": STEPS, "webhooks": [HOOK], **changes}
    )


def failed(target: int = 50, retry: int = 0, canary: str = "v2") -> RolloutRecord:
    return RolloutRecord(
        "failed", canary, target, 10, retry, "metric error-rate measured 0.4 > max 0.05", "t"
    )


# ---- webhooks in the plan -------------------------------------------------------------------------------


def test_each_rise_of_a_walk_is_confirmed_first_but_a_step_held_again_is_not() -> None:
    plan = plan_split(gated(50), live(weights={"v1": 100, "v2": 0}))
    assert [type(step).__name__ for step in plan[:3]] == ["Confirm", "WaitReady", "SetWeights"]
    assert [step.percent for step in plan if isinstance(step, Confirm)] == [10, 25, 50]
    resumed = plan_split(gated(50), live(weights={"v1": 90, "v2": 10}))
    assert [step.percent for step in resumed if isinstance(step, Confirm)] == [25, 50]


def test_a_fall_asks_no_webhook() -> None:
    plan = plan_split(gated(0), live(weights={"v1": 75, "v2": 25}))
    assert not any(isinstance(step, Confirm) for step in plan)


@pytest.mark.parametrize(
    ("hook", "where", "fragment"),
    [
        ({"name": "approve", "url": "ftp://gate"}, "webhooks[0].url", "http(s) URL"),
        ({"url": "http://gate"}, "webhooks[0].name", "required"),
        ({**HOOK, "timeout_seconds": 0}, "webhooks[0].timeout_seconds", "1"),
    ],
)
def test_bad_webhooks_name_the_property(hook: dict[str, Any], where: str, fragment: str) -> None:
    failures = {failure.property: failure.reason for failure in check_split(split_props(webhooks=[hook]))}
    assert where in failures and fragment in failures[where], failures


def test_a_progress_deadline_out_of_range_is_refused() -> None:
    failures = {f.property: f.reason for f in check_split(split_props(progress_deadline_seconds=0))}
    assert "progress_deadline_seconds" in failures, failures


# ---- the record of a failed rollout, and retry ----------------------------------------------------------


def test_a_failed_rollout_is_not_walked_again_to_the_same_target_and_the_message_says_how_to_retry() -> None:
    with pytest.raises(RolloutHaltedError) as refused:
        plan_split(gated(50), live(weights={"v1": 100, "v2": 0}, rollout=failed()))
    message = str(refused.value)
    assert "failed at 10% on its way to 50%" in message and "0.4 > max 0.05" in message, message
    assert "retry=1" in message, message


@pytest.mark.parametrize(
    ("changes", "record"),
    [
        ({"retry": 1}, failed()),  # retry raised
        ({}, failed(target=25)),  # another target
        ({}, failed(canary="v9")),  # another canary version
        ({}, RolloutRecord("succeeded", "v2", 50, 50, 0, "", "t")),
    ],
)
def test_a_raised_retry_another_target_or_a_success_walks(
    changes: dict[str, Any], record: RolloutRecord
) -> None:
    plan = plan_split(gated(50, **changes), live(weights={"v1": 100, "v2": 0}, rollout=record))
    assert plan[-1] == SetWeights({"v1": 50, "v2": 50})


def test_lowering_the_canary_after_a_failure_needs_no_retry() -> None:
    plan = plan_split(gated(0), live(weights={"v1": 90, "v2": 10}, rollout=failed()))
    assert plan[-1] == SetWeights({"v1": 100, "v2": 0})
    assert not any(isinstance(step, Confirm) for step in plan)


def test_a_record_reads_back_and_a_damaged_one_reads_as_none() -> None:
    record = failed()
    assert RolloutRecord.from_text(record.to_text()) == record
    for damaged in (
        "",
        "{",
        "[]",
        '{"status": "maybe"}',
        record.to_text().replace('"retry":0', '"retry":"0"'),
    ):
        assert RolloutRecord.from_text(damaged) is None, damaged


def test_an_mse_description_carries_the_record_beside_the_marker_and_the_restore_copy() -> None:
    original = RouteSnapshot("7", ("v1",), {"Description": "the user's", "Services": [], "Predicates": {}})
    adopted = adopted_description("stack/demo", original)
    described = with_rollout(adopted, failed())
    assert rollout_of(described) == failed()
    assert owner_of(described, "stack/demo") == "self"
    restored = decode_restore_copy(described, "7")
    assert restored is not None and restored.data["Description"] == "the user's"
    again = with_rollout(described, failed(retry=1))
    assert rollout_of(again) == failed(retry=1) and again.count(";rollout=") == 1
    assert rollout_of(owner_marker("stack/demo")) is None


def test_an_mse_record_without_room_drops_its_detail_first() -> None:
    long = RolloutRecord("failed", "v2", 50, 10, 0, "x" * 300 + "".join(map(str, range(200))), "t")
    marker = owner_marker("o") + "y" * (MAX_DESCRIPTION_LENGTH - 200)
    described = with_rollout(marker, long)
    assert len(described) <= MAX_DESCRIPTION_LENGTH
    kept = rollout_of(described)
    assert kept is not None and kept.detail == "" and kept.target == 50


# ---- the deadline and the webhook client, for real -----------------------------------------------------


def test_the_clock_sleeps_within_the_deadline_and_raises_at_it() -> None:
    clock = RolloutClock(1)
    started = time.monotonic()
    clock.sleep(0.2, "v2", 10, "holding")
    with pytest.raises(RolloutDeadlineError) as missed:
        clock.sleep(30, "v2", 10, "webhook approve never approved")
    assert time.monotonic() - started < 5, "it waited for the deadline, not the whole sleep"
    assert "progress_deadline_seconds=1" in str(missed.value) and "approve" in str(missed.value)
    assert missed.value.percent == 10


@pytest.fixture
def gate() -> Iterator[WebhookGate]:
    with WebhookGate() as server:
        yield server


def confirm_step(url: str) -> Confirm:
    plan = plan_split(gated(50, webhooks=[{**HOOK, "url": url}]), live(weights={"v1": 100, "v2": 0}))
    return next(step for step in plan if isinstance(step, Confirm))


def test_a_webhook_is_asked_until_it_approves(gate: WebhookGate) -> None:
    gate.queue(403, 500)
    lines: list[str] = []
    slept: list[str] = []
    confirm(confirm_step(gate.url), lambda _seconds, why: slept.append(why), lines.append)
    assert len(gate.requests) == 3, gate.requests
    assert gate.requests[0] == {
        "phase": "confirm-step",
        "weight": 10,
        "canary": "v2",
        "stable": "v1",
        "service": "demo-service",
        "namespace": "default",
    }
    assert "answered HTTP 403" in lines[0] and "answered HTTP 500" in lines[1], lines
    assert "it last answered HTTP 500" in slept[-1], slept


def test_a_webhook_that_never_approves_ends_at_the_deadline(gate: WebhookGate) -> None:
    gate.default = 403
    clock = RolloutClock(1)
    with pytest.raises(
        RolloutDeadlineError, match="webhook approve never approved 10%: it last answered HTTP 403"
    ):
        confirm(
            confirm_step(gate.url),
            lambda seconds, why: clock.sleep(seconds, "v2", 10, why),
            lambda _line: None,
        )


def test_a_webhook_that_does_not_answer_is_a_refusal() -> None:
    step = confirm_step("http://127.0.0.1:9/approve")
    slept: list[str] = []
    with pytest.raises(RuntimeError):

        def sleep(_seconds: float, why: str) -> None:
            slept.append(why)
            raise RuntimeError("stop asking")

        confirm(step, sleep, lambda _line: None)
    assert "did not answer at http://127.0.0.1:9/approve" in slept[0], slept


def test_status_shows_where_the_last_rollout_ended_on_the_canary_row() -> None:
    from pulumi_canary.reporting.status import VersionStatus, as_json, table

    stable = VersionStatus("demo", "gw", "rt-1", "v1", "stable", 100, 2)
    canary = VersionStatus("demo", "gw", "rt-1", "v2", "canary", 0, 1, failed().to_props())
    lines = table([stable, canary]).splitlines()
    assert lines[0].split()[-1] == "ROLLOUT" and lines[1].split()[-1] == "-"
    assert lines[2].endswith("failed at 10% (target 50%, retry 0)"), lines
    assert lines[-1] == (
        "demo: last rollout of v2 failed at 10% (target 50%) at t, retry 0: "
        "metric error-rate measured 0.4 > max 0.05"
    ), lines
    assert '"status": "failed"' in as_json([canary])


# ---- canary replicas that follow the weight --------------------------------------------------------------


def scaled(canary_weight: int, **changes: Any) -> Any:
    return split(weights=None, canary_weight=canary_weight, steps=STEPS, canary_min_replicas=1, **changes)


def with_canary(replicas: int, weights: dict[str, int], stable_replicas: int = 4) -> LiveRoute:
    owned = {"v2": LiveDeployment("demo:2.0", replicas)}
    return live(weights=weights, deployments=owned, stable_replicas=stable_replicas)


def test_the_canary_is_scaled_and_ready_before_each_rise() -> None:
    plan = plan_split(scaled(50), with_canary(1, {"v1": 100, "v2": 0}))
    moves = [step for step in plan if isinstance(step, ScaleCanary | WaitReady | SetWeights)]
    assert moves == [
        WaitReady("v2", 1, 300),  # 10% of 4 replicas is 1, which it has
        SetWeights({"v1": 90, "v2": 10}),
        WaitReady("v2", 1, 300),  # 25% of 4 is 1 too
        SetWeights({"v1": 75, "v2": 25}),
        ScaleCanary("v2", 2),  # 50% of 4
        WaitReady("v2", 2, 300),
        SetWeights({"v1": 50, "v2": 50}),
    ]


def test_the_canary_is_scaled_down_only_after_it_falls_and_drains() -> None:
    plan = plan_split(scaled(0), with_canary(2, {"v1": 50, "v2": 50}))
    kinds = [type(step).__name__ for step in plan]
    assert kinds[-3:] == ["SetWeights", "Drain", "ScaleCanary"], plan
    assert plan[-1] == ScaleCanary("v2", 1), "never below the declared fewest"


def test_a_rollback_and_the_split_delete_scale_the_canary_back_down() -> None:
    rollback = plan_rollback(scaled(50), with_canary(2, {"v1": 50, "v2": 50}), {"v1": 100, "v2": 0})
    assert rollback[-1] == ScaleCanary("v2", 1) and isinstance(rollback[-2], Drain), rollback
    deleted = plan_delete_split(scaled(50), with_canary(2, {"v1": 50, "v2": 50}))
    assert [type(step).__name__ for step in deleted] == ["WaitReady", "SetWeights", "Drain", "ScaleCanary"]


def test_a_canary_the_policy_does_not_own_is_not_scaled() -> None:
    plan = plan_split(scaled(50), live(weights={"v1": 100, "v2": 0}, stable_replicas=4))
    assert not any(isinstance(step, ScaleCanary) for step in plan)


def test_the_policy_keeps_the_replicas_the_split_gave_its_canary() -> None:
    deployment = {"image": "demo:2.0", "replicas": 1, "match_traffic_weight": True}
    spec = policy(canary_deployment=deployment)
    state = live(weights={"v1": 50, "v2": 50}, deployments={"v2": LiveDeployment("demo:2.0", 3)})
    assert plan_update_policy(spec, spec, state) == ()
    new_image = policy(canary_deployment={**deployment, "image": "demo:2.1"})
    (apply,) = [
        step for step in plan_update_policy(spec, new_image, state) if isinstance(step, ApplyCanaryDeployment)
    ]
    assert apply.deployment.replicas == 3 and apply.deployment.image == "demo:2.1"


# ---- where a walk resumes ---------------------------------------------------------------------------


def test_a_walk_that_stands_at_a_step_resumes_there_unless_a_rollout_ended_there() -> None:
    held = split(weights=None, canary_weight=50, steps=[{"weight": 10, "pause_seconds": 5}, {"weight": 25}])
    at_10 = live(weights={"v1": 90, "v2": 10})
    assert resumes_walk(held, at_10)
    assert Pause("v2", 10, 5) in plan_split(held, at_10), "its hold may have been cut short: again"
    ended = replace(at_10, rollout=RolloutRecord("succeeded", "v2", 10, 10, 0, "", "t"))
    assert not resumes_walk(held, ended)
    assert Pause("v2", 10, 5) not in plan_split(held, ended), "a rollout ended there: walk on"
    assert not resumes_walk(held, live(weights={"v1": 95, "v2": 5})), "5% is no step"
    assert not resumes_walk(gated(10), at_10), "nothing to walk"
