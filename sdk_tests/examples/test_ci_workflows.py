"""examples/ci: the GitHub Actions workflows parse and do what their READMEs say (not run here; the report
step of preview.yml runs for real in test_stack_per_environment.py)."""

from __future__ import annotations

from rig import tools
from sdk_tests.examples.workflows import load, step, steps


def project_dir(workflow: dict) -> str:
    folder = workflow["env"]["PROJECT_DIR"]
    assert (tools.ROOT / folder / "Pulumi.yaml").exists(), folder
    assert any(path.startswith(folder) for path in workflow["on"][next(iter(workflow["on"]))]["paths"])
    return str(folder)


def matrix_stacks(workflow: dict) -> list[str]:
    stacks = [stack for job in workflow["jobs"].values() for stack in job["strategy"]["matrix"]["stack"]]
    folder = tools.ROOT / project_dir(workflow)
    assert all((folder / f"Pulumi.{stack}.yaml").exists() for stack in stacks), stacks
    return stacks


def test_preview_workflow_posts_the_canary_report_on_pull_requests() -> None:
    workflow = load("preview.yml")
    assert set(workflow["on"]) == {"pull_request"}
    assert workflow["permissions"]["pull-requests"] == "write"
    assert matrix_stacks(workflow) == ["dev", "staging", "prod"]
    report = step(workflow, "Canary report")
    assert "pulumi preview --stack" in report["run"] and "--json" in report["run"]
    assert "| venv/bin/pulumi-canary preview-report - --output \"$RUNNER_TEMP/report.md\"" in report["run"]
    names = [s.get("name") for s in steps(workflow)]
    comment = step(workflow, "Post the report on the pull request")
    assert names.index("Canary report") < names.index(comment["name"])
    assert comment["uses"].startswith("actions/github-script@")
    script = comment["with"]["script"]
    assert "report.md" in script and "createComment" in script and "updateComment" in script


def test_up_workflow_applies_each_environment_in_turn_on_merge() -> None:
    workflow = load("up.yml")
    assert workflow["on"]["push"]["branches"] == ["main"]
    (job,) = workflow["jobs"].values()
    assert job["strategy"]["max-parallel"] == 1 and job["strategy"]["fail-fast"] is True
    assert matrix_stacks(workflow) == ["dev", "staging", "prod"]
    assert job["environment"] == "${{ matrix.stack }}"
    assert 'pulumi up --stack "${{ matrix.stack }}" --yes' in step(workflow, "pulumi up")["run"]
    assert "pulumi-canary status --state -" in step(workflow, "Live canary state")["run"]
