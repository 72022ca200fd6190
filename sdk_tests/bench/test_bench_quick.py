"""The benchmark harness runs in quick mode and produces every figure (timings are not asserted)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from rig import tools

FIGURES = (
    "`import pulumi` (fresh interpreter)",
    "`import pulumi, pulumi_canary` + resource classes",
    "MSE (emulator): preview, N=1",
    "MSE (emulator): up (create), N=3",
    "MSE (emulator): up (create), N=3, CPU of the engine and provider",
    "MSE (emulator): refresh, N=3",
    "MSE (emulator): one weight change in a stack of N=3",
    "Gateway API: preview, N=3",
    "Gateway API: up (create), N=3",
    "Gateway API: up (create), N=3, CPU of the engine and provider",
    "Gateway API: up (create), N=3, floor plus the objects alone (written, no reads)",
    "Gateway API: one weight change in a stack of N=3",
    "Gateway API: refresh, N=1",
    "MSE (emulator): one weight change in a stack of N=1",
)
TRAFFIC_FIGURES = (
    "MSE (emulator): time to traffic, rollback 50% -> 0, pulumi-canary, N=3",
    "Gateway API: time to traffic, rollback 50% -> 0, pulumi-canary, N=3",
    "Gateway API: time to traffic, rollback 50% -> 0, pulumi-kubernetes (HTTPRoute, skipAwait), N=3",
)
PEER_FIGURES = tuple(
    f"Gateway API vs pulumi-kubernetes: {what}, N={count}"
    for count in (1, 3)
    for what in ("preview", "up (create)", "one weight change", "refresh")
)
SIZES = ("MSE: state per resource, N=3", "Gateway API: state per resource, N=3")


def test_the_quick_benchmark_produces_every_figure(tmp_path: Path) -> None:
    output = tmp_path / "RESULTS.md"
    subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--output", str(output)],
        cwd=tools.ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    results = output.read_text()
    for figure in FIGURES:
        row = next((line for line in results.splitlines() if line.startswith(f"| {figure} |")), None)
        assert row is not None, f"missing figure: {figure}"
        assert " / " in row, f"no min / median / max for {figure}: {row}"
    for figure in TRAFFIC_FIGURES:  # p50 / p95, the floor's p50 / p95, the ratio
        row = next((line for line in results.splitlines() if line.startswith(f"| {figure} |")), None)
        assert row is not None and re.search(r"\| p50 [\d.]+ / p95 [\d.]+ s \| p50 [\d.]+ / p95", row), figure
    for figure in TRAFFIC_FIGURES[:2]:  # pulumi-canary's against the goal
        budget = f"{figure}: p50 <= the floor's p50 + 0.5 s"
        assert re.search(rf"^\| {re.escape(budget)} \| (yes|\*\*no\*\*) \|", results, re.M), budget
    # pulumi-canary, the peer with skipAwait, the ratio, the floor's ratio, the peer by default
    for figure in PEER_FIGURES:
        row = next((line for line in results.splitlines() if line.startswith(f"| {figure} |")), None)
        assert row is not None and row.count(" / ") == 6 and re.search(r"\| [\d.]+ \| [\d.]+ \|", row), figure
        budget = f"{figure}: pulumi-canary <= 1.0 x skipAwait"
        met, measured = r"(yes|\*\*no\*\*)", r"[\d.]+ \(the no-op floor alone: [\d.]+\)"
        assert re.search(rf"^\| {re.escape(budget)} \| {met} \| {measured} \|$", results, re.M), budget
    for figure in SIZES:
        assert re.search(
            rf"^\| {re.escape(figure)} \| \d+ B total, \d+ B inputs\+outputs \| \d+ B total \| [\d.]+ \|",
            results,
            re.M,
        ), figure
    assert "API calls for one weight change in N=3: " in results
    # The host's share of other guests and of waiting, and the CPU of what serves the calls.
    load = r"steal \d+%, iowait \d+%; CPU s: etcd [\d.]+, kube-apiserver [\d.]+, [^()]*MSE emulator [\d.]+"
    for label in (r"MSE \(emulator\)", "Gateway API"):
        host = rf"^- {label}: the host during the `up` at N=3: {load} \(floor\), {load} \(pulumi-canary\)$"
        assert re.search(host, results, re.M), host
    assert "MSE (emulator): API calls for one weight change in N=3: none" not in results
    # The change runs as the audited identity (the timed runs do not): its patch must be counted. The
    # readiness gate before the canary's weight rises reads the pods; a refresh never does.
    change = re.search(r"^- Gateway API: API calls for one weight change in N=3: (.*)$", results, re.M)
    assert change is not None and "k8s patch httproutes x1" in change.group(1), change
    assert "k8s list pods x1" in change.group(1), change.group(1)
    refresh = re.search(r"^- Gateway API: API calls for refresh, N=3: (.*)$", results, re.M)
    # A policy and its split report one route: a refresh reads it once for both.
    assert refresh is not None and "k8s get httproutes x3," in refresh.group(1), refresh
    assert "pods" not in refresh.group(1), refresh.group(1)
    mse_refresh = re.search(r"^- MSE \(emulator\): API calls for refresh, N=3: (.*)$", results, re.M)
    assert mse_refresh is not None and "GetGatewayRouteDetail x3," in mse_refresh.group(1), mse_refresh
    for item in (
        "Gateway API one weight change at N=3 <= 1.1 x the floor's",
        "MSE (emulator) refresh reads each route once",
        "Gateway API vs pulumi-kubernetes: up (create), N=3: pulumi-canary <= 1.0 x skipAwait",
        "Gateway API vs pulumi-kubernetes: refresh, N=1: pulumi-canary <= 1.0 x skipAwait",
        "MSE (emulator) up ratio at N=3 <= 1.2",
    ):
        assert re.search(rf"^\| {re.escape(item)} \| (yes|\*\*no\*\*) \| [\d.]+", results, re.M), item
    assert "## Budget" in results
