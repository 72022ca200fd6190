"""Reading the example GitHub Actions workflows of ``examples/ci``, and running one of their shell steps
here with stand-ins for what only a GitHub runner has."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from rig import tools

CI = tools.ROOT / "examples" / "ci"


def load(name: str) -> dict[str, Any]:
    document: dict[Any, Any] = yaml.safe_load((CI / name).read_text())
    # YAML 1.1 reads the bare key `on` as a boolean; GitHub reads it as the string.
    if True in document:
        document["on"] = document.pop(True)
    return document


def steps(workflow: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def step(workflow: Mapping[str, Any], name: str) -> dict[str, Any]:
    (found,) = [s for s in steps(workflow) if s.get("name") == name]
    return found


def run_step(workflow: str, name: str, *, project: Path, stack: str, pulumi_stdout: str,
             expected_pulumi_args: str, scratch: Path) -> Path:
    """Run the ``run:`` script of one step with bash as GitHub does (``-eo pipefail``), in ``project``.

    ``pulumi`` is a stand-in that checks its arguments and prints ``pulumi_stdout`` (recorded from a real
    run); ``venv/bin`` holds this virtualenv's ``pulumi-canary``, as ``pulumi install`` would. Returns
    the runner's temp folder (``RUNNER_TEMP``), which also holds the step summary.
    """
    script = step(load(workflow), name)["run"].replace("${{ matrix.stack }}", stack)
    assert "${{" not in script, script
    runner_temp, fake_bin = scratch / "runner-temp", scratch / "bin"
    runner_temp.mkdir(parents=True)
    fake_bin.mkdir()
    (scratch / "pulumi-stdout").write_text(pulumi_stdout)
    fake = fake_bin / "pulumi"
    fake.write_text(
        "#!/bin/sh\n"
        f'[ "$*" = "{expected_pulumi_args}" ] || {{ echo "unexpected: pulumi $*" >&2; exit 64; }}\n'
        f'cat "{scratch / "pulumi-stdout"}"\n'
    )
    fake.chmod(0o755)
    venv_bin = project / "venv" / "bin"
    venv_bin.mkdir(parents=True, exist_ok=True)
    (venv_bin / "pulumi-canary").symlink_to(Path(sys.executable).parent / "pulumi-canary")
    env = {
        **os.environ,
        "PATH": os.pathsep.join([str(fake_bin), os.environ.get("PATH", "")]),
        "RUNNER_TEMP": str(runner_temp),
        "GITHUB_STEP_SUMMARY": str(runner_temp / "summary.md"),
    }
    result = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=project,
                            env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return runner_temp
