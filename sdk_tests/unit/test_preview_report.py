"""The pull-request report renders what the preview JSON says (pure, no engine)."""

from __future__ import annotations

from typing import Any

from pulumi_canary.reporting.preview import UNKNOWN, render

POLICY = "urn:pulumi:prod::infra::pulumi-python:dynamic/canary:CanaryPolicy::checkout"
SPLIT = "urn:pulumi:prod::infra::pulumi-python:dynamic/canary:TrafficSplit::checkout"


def step(op: str, urn: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> dict[str, Any]:
    made: dict[str, Any] = {"op": op, "urn": urn}
    if old is not None:
        made["oldState"] = {"outputs": old}
    if new is not None:
        made["newState"] = {"inputs": new}
    return made


def versions(stable: str, canary: str, **extra: Any) -> dict[str, Any]:
    return {"stable_version": stable, "canary_version": canary, **extra}


def test_a_weight_change_shows_before_after_and_bars() -> None:
    old = versions("v1", "v2", weights={"v1": 90, "v2": 10})
    new = versions("v1", "v2", weights={"v1": 50, "v2": 50})
    report = render({"steps": [step("update", SPLIT, old, new)], "changeSummary": {"update": 1}})
    assert "| `v1` | 90% | 50% | `██████████░░░░░░░░░░` |" in report
    assert "| `v2` | 10% | 50% |" in report
    assert "Resources: 1 update." in report


def test_canary_weight_is_expanded_against_the_policy_versions() -> None:
    old = versions("v1", "v2", canary_weight=0)
    new = versions("v1", "v2", canary_weight=25)
    report = render({"steps": [step("update", SPLIT, old, new)]})
    assert "| `v1` | 100% | 75% |" in report and "| `v2` | 0% | 25% |" in report


def test_a_rise_past_rollout_steps_shows_the_walk_and_a_fall_shows_none() -> None:
    steps = [{"weight": 10, "pause_seconds": 60}, {"weight": 25}, {"weight": 80, "pause_seconds": 5}]
    old = versions("v1", "v2", canary_weight=0, steps=steps)
    new = versions("v1", "v2", canary_weight=50, steps=steps)
    report = render({"steps": [step("update", SPLIT, old, new)]})
    assert "- rollout of `v2`: 0% → 10% (hold 60s) → 25% (hold 0s) → 50%" in report
    assert "- no analysis: each step only holds" in report
    metric = {"name": "error-rate", "query": "q", "max": 0.01}
    analysed = {**new, "analysis": {"prometheus_url": "http://p", "metrics": [metric], "count": 2}}
    report = render({"steps": [step("update", SPLIT, old, analysed)]})
    expected = "analysis at each step and at the target: `error-rate` ≤ 0.01; 2 measurement(s) every 10s"
    assert expected in report
    assert "within progress_deadline_seconds (600s by default), or the traffic goes back" in report
    gated = {**new, "webhooks": [{"name": "approve", "url": "http://gate"}], "progress_deadline_seconds": 90}
    report = render({"steps": [step("update", SPLIT, old, gated)]})
    assert "- before each rise: `approve` must answer 2xx" in report and "within 90s" in report
    back = render({"steps": [step("update", SPLIT, new, old)]})
    assert "rollout of" not in back, "a rollback is one move"


def test_unknown_weights_say_unknown() -> None:
    new = versions("v1", UNKNOWN, canary_weight=10)
    report = render({"steps": [step("create", SPLIT, None, new)]})
    assert "TrafficSplit `checkout` (create)" in report
    assert "known only during the update" in report


def test_promotions_are_named() -> None:
    rotate = render({"steps": [step("update", POLICY, versions("v1", "v2"), versions("v2", "v1"))]})
    assert "**promotion (rotate)**: `v2` becomes stable, `v1` is the next canary" in rotate
    new_value = render({"steps": [step("update", POLICY, versions("v1", "v2"), versions("v2", "v3"))]})
    assert "**promotion (new label value)**: `v2` becomes stable, next canary `v3`" in new_value


def test_image_changes_are_listed() -> None:
    old = versions("v1", "v2", canary_deployment={"image": "shop:2.0"})
    new = versions("v1", "v2", canary_deployment={"image": "shop:2.1"})
    assert "canary image: `shop:2.0` → `shop:2.1`" in render({"steps": [step("update", POLICY, old, new)]})


def test_deletes_and_replacements_that_move_traffic_are_loud() -> None:
    deleted = render({"steps": [step("delete", POLICY, versions("v1", "v2"), None)]})
    assert "**Warning:** deleting this policy moves ALL traffic to stable `v1`" in deleted
    split_deleted = render({"steps": [step("delete", SPLIT, versions("v1", "v2", canary_weight=20), None)]})
    assert "sends 100% of the route back to stable `v1`" in split_deleted
    replaced = render(
        {
            "steps": [
                step("delete-replaced", POLICY, versions("v1", "v2"), None),
                step("create-replacement", POLICY, None, versions("v1", "v2")),
            ]
        }
    )
    assert "CanaryPolicy `checkout` (replace)" in replaced and "REPLACED" in replaced


def test_a_preview_without_canary_changes_says_so() -> None:
    other = "urn:pulumi:prod::infra::kubernetes:apps/v1:Deployment::web"
    report = render({"steps": [step("update", other, {}, {}), step("same", POLICY, {}, {})]})
    assert "No canary policy or traffic split changes." in report
