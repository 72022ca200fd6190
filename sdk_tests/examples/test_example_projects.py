"""Every example is a complete Pulumi project whose README and config files name only config keys that its
program reads (no cluster needed; the runs are in the other tests of this folder)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from sdk_tests.examples.conftest import EXAMPLES

PROJECTS = sorted(path.name for path in EXAMPLES.iterdir() if (path / "Pulumi.yaml").exists())
CONFIG_COMMAND = re.compile(r"pulumi config (?:set|rm) ([\w:]+)")


def test_every_example_folder_but_ci_is_a_project_and_every_one_has_a_readme() -> None:
    folders = {path.name for path in EXAMPLES.iterdir() if path.is_dir() and path.name != "__pycache__"}
    assert folders - set(PROJECTS) == {"ci"}
    assert set(PROJECTS) == {
        "gateway-api", "istio", "mse-canary", "progressive", "stack-per-environment", "with-pulumi-kubernetes"
    }
    assert [name for name in sorted(folders) if not (EXAMPLES / name / "README.md").exists()] == []


@pytest.mark.parametrize("name", PROJECTS)
def test_the_venv_pulumi_install_makes_in_a_project_is_ignored_by_git(name: str) -> None:
    made = EXAMPLES / name / "venv" / "bin" / "python"  # what `pulumi install` creates (runtime virtualenv)
    runtime = yaml.safe_load((EXAMPLES / name / "Pulumi.yaml").read_text())["runtime"]
    assert runtime["options"]["virtualenv"] == "venv"
    ignored = subprocess.run(["git", "check-ignore", "-q", str(made)], cwd=EXAMPLES, check=False)
    assert ignored.returncode == 0, f"{made.relative_to(EXAMPLES)} is not in .gitignore"


@pytest.mark.parametrize("name", PROJECTS)
def test_the_project_reads_every_key_its_files_name(name: str) -> None:
    folder = EXAMPLES / name
    settings = yaml.safe_load((folder / "Pulumi.yaml").read_text())
    assert settings["runtime"]["name"] == "python"
    assert "-e ../.." in (folder / "requirements.txt").read_text()
    program = read(folder)
    assert "import pulumi_canary as canary" in program
    compile(program, str(folder / "__main__.py"), "exec")
    keys = set(settings.get("config") or {})
    keys |= {key for key in CONFIG_COMMAND.findall((folder / "README.md").read_text()) if ":" not in key}
    for stack_file in folder.glob("Pulumi.*.yaml"):
        for key in yaml.safe_load(stack_file.read_text())["config"]:
            project, _, bare = key.partition(":")
            assert project == settings["name"], f"{stack_file.name}: {key}"
            keys.add(bare)
    unread = sorted(key for key in keys if f'"{key}"' not in program)
    assert not unread, f"{name}: config keys the program never reads: {unread}"


def read(folder: Path) -> str:
    return (folder / "__main__.py").read_text()
