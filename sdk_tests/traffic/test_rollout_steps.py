"""A rise of the canary's share walks the declared steps inside one `pulumi up`, on the Gateway API and
on MSE, under load: the requests show each step's share, held for its pause, before the target; a fall
is one move; and not one request fails."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pulumi.automation.errors import CommandError

import pulumi_canary as canary
from rig.load import LoadRun, Record
from sdk_tests.traffic.release import GATEWAYS, QUIET
from sdk_tests.traffic.test_interrupts import PROVIDER, fresh_up, kill, leftovers_ended, victim  # noqa: F401
from sdk_tests.traffic.test_release_under_load import assert_all_served

RATE = 60
HOLD_SECONDS = 6
WINDOW_SECONDS = 3.0
STEPS = [
    canary.Step(weight=10, pause_seconds=HOLD_SECONDS),
    canary.Step(weight=25, pause_seconds=HOLD_SECONDS),
]


def canary_shares(records: list[Record], since: float, until: float) -> list[float]:
    """The canary's share of the answers in each window of ``WINDOW_SECONDS`` from ``since``."""
    shares: list[float] = []
    start = since
    while start + WINDOW_SECONDS <= until:
        window = [r for r in records if start <= r.t < start + WINDOW_SECONDS and r.version is not None]
        if window:
            shares.append(sum(r.version == "v2" for r in window) / len(window))
        start += WINDOW_SECONDS
    return shares


def first_index(shares: list[float], low: float, high: float) -> int:
    return next((i for i, share in enumerate(shares) if low <= share <= high), -1)


@pytest.mark.parametrize("kind", GATEWAYS)
def test_a_rise_walks_each_step_under_load_and_a_rollback_fails_nothing(
    launch, kind: str, tmp_path: Path
) -> None:
    deployed = launch(kind, canary_replicas=1)
    deployed.apply({"v1": 100})
    load_started = time.monotonic()
    with LoadRun(deployed.url, rate=RATE, out=tmp_path / "load.jsonl", requests=20_000, seconds=180) as load:
        time.sleep(1)
        began = time.monotonic() - load_started  # on the load's clock
        deployed.apply({"v1": 50, "v2": 50}, split={"canary_weight": 50, "steps": STEPS})
        walked = time.monotonic() - load_started - began
        time.sleep(2 * WINDOW_SECONDS)  # the target, served a while
        deployed.apply({"v1": 100}, split={"canary_weight": 0, "steps": STEPS})  # a rollback: one move
    records = load.records
    assert_all_served(load.summary(), records, {"v1", "v2"})
    assert walked >= 2 * HOLD_SECONDS, f"the walk took {walked:.1f}s, less than its two holds"

    shares = canary_shares(records, began, began + walked + 2 * WINDOW_SECONDS)
    at_10, at_25 = first_index(shares, 0.04, 0.16), first_index(shares, 0.19, 0.31)
    at_50 = first_index(shares, 0.42, 0.58)
    assert -1 < at_10 < at_25 < at_50, f"the canary's share per {WINDOW_SECONDS}s window: {shares}"


def test_a_rollout_longer_than_three_minutes_runs_through_the_engine_showing_its_progress(launch) -> None:
    """Long provider operations were reported to hang after about 180 s (pulumi #13841): this walk holds
    for 190 s inside one update, and its progress lines reach the CLI while it runs."""
    deployed = launch("gateway-api", canary_replicas=1)
    deployed.apply({"v1": 100})
    deployed.release.split = {
        "canary_weight": 50,
        "steps": [canary.Step(weight=10, pause_seconds=95), canary.Step(weight=25, pause_seconds=95)],
    }
    arrived: list[tuple[float, str]] = []
    began = time.monotonic()
    deployed.stack.up(on_output=lambda line: arrived.append((time.monotonic() - began, line)))
    took = time.monotonic() - began
    assert took > 190, f"the walk took {took:.0f}s"
    deployed.gateway.wait_for_weights(deployed.path, {"v1": 50, "v2": 50})
    first_hold = next(t for t, line in arrived if "pulumi-canary: hold version v2 at 10% for 95s" in line)
    assert first_hold < took - 150, f"the first hold was shown {first_hold:.0f}s in, of {took:.0f}s: not live"
    text = "\n".join(line for _, line in arrived)
    assert "pulumi-canary: hold version v2 at 25% for 95s" in text
    assert "pulumi-canary: set weights v1=50%, v2=50%" in text


@pytest.mark.usefixtures("leftovers_ended")  # the fixture, imported above, ends what a kill left running
@pytest.mark.parametrize("kind", GATEWAYS)
def test_a_rollout_killed_during_a_hold_fails_no_request_and_the_next_up_finishes_it(
    launch, kind: str, pulumi_root: Path, tmp_path: Path
) -> None:
    """SIGKILL of the provider while the canary holds its 10% step: the route keeps serving that step,
    no request fails, and a fresh `pulumi up` holds that step again (its hold, and any analysis, were
    cut short) before it walks on to the target."""
    deployed = launch(kind, canary_replicas=1)
    deployed.apply({"v1": 100})
    deployed.release.split = {
        "canary_weight": 50,
        "steps": [canary.Step(weight=10, pause_seconds=20), canary.Step(weight=25, pause_seconds=2)],
    }
    with LoadRun(deployed.url, rate=RATE, out=tmp_path / "load.jsonl", requests=20_000, seconds=180) as load:
        with ThreadPoolExecutor(max_workers=1) as pool:
            up = pool.submit(deployed.stack.up, **QUIET)
            deployed.gateway.wait_for_weights(deployed.path, {"v1": 90, "v2": 10}, timeout=90)
            time.sleep(2)  # well inside the 20 s hold
            assert not up.done(), "the up should still be holding the 10% step"
            kill(victim(pulumi_root / "home", PROVIDER))
            with pytest.raises(CommandError):
                up.result(timeout=120)
        time.sleep(2)
        deployed.gateway.wait_for_weights(deployed.path, {"v1": 90, "v2": 10}, timeout=5)
        began = time.monotonic()
        lines: list[str] = []
        fresh_up(deployed.stack, pulumi_root / "backend", on_output=lines.append)
        resumed = time.monotonic() - began
        deployed.gateway.wait_for_weights(deployed.path, {"v1": 50, "v2": 50})
    assert_all_served(load.summary(), load.records, {"v1", "v2"})
    assert resumed >= 20, f"the fresh up took {resumed:.0f}s: it did not hold the 10% step again"
    said = "the route stands at the 10% step, where an earlier `up` stopped before its hold or analysis ended"
    assert said in "\n".join(lines), lines
    assert set(deployed.stack.preview(**QUIET).change_summary) == {"same"}
