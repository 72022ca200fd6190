"""`pulumi-canary preview-report` and `pulumi-canary status` on a real stack."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from pulumi_canary.emulator import EmulatorServer
from sdk_tests.engine.conftest import Workload
from sdk_tests.engine.mse_program import QUIET, Program


def cli(args: list[str], env: dict[str, str], stdin: str | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "pulumi_canary.cli", *args], input=stdin, capture_output=True, text=True,
        env={**os.environ, **env}, check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_preview_report_and_status_describe_a_weight_change(
    inline_stack, stack_env, program: Program, emulator: EmulatorServer, workload: Workload, tmp_path: Path
) -> None:
    workload.wait_ready(workload.deploy("v2", replicas=1), 1)
    program.split = {"weights": {"v1": 90, "v2": 10}}
    stack = inline_stack(program, env=stack_env)
    stack.up(**QUIET)

    program.split = {"weights": {"v1": 70, "v2": 30}}
    preview = stack.preview(json=True, **QUIET)
    report = cli(["preview-report", "-"], stack_env, stdin=preview.stdout)
    assert "### TrafficSplit `demo` (update)" in report
    assert "| `v1` | 90% | 70% |" in report and "| `v2` | 10% | 30% |" in report

    state = tmp_path / "state.json"
    state.write_text(json.dumps({"deployment": stack.export_stack().deployment}))
    rows = json.loads(cli(["status", "--state", str(state), "--json"], stack_env))
    by_version = {row["version"]: row for row in rows}
    assert by_version["v1"]["weight"] == 90 and by_version["v1"]["ready_endpoints"] == 2
    assert by_version["v2"]["weight"] == 10 and by_version["v2"]["ready_endpoints"] == 1
    assert by_version["v1"]["role"] == "stable" and by_version["v2"]["role"] == "canary"
    table = cli(["status", "--state", str(state)], stack_env)
    header = ["POLICY", "GATEWAY", "ROUTE", "VERSION", "ROLE", "WEIGHT", "READY", "ROLLOUT"]
    assert table.splitlines()[0].split() == header
