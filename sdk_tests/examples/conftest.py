"""Fixtures for the example tests: each example runs as the Pulumi project it is, from a copy.

The rig has no Python language host, so a project's ``__main__.py`` runs as an Automation API inline
program (as ``make demo`` runs the root program), in a workspace whose ``work_dir`` is a copy of the
example folder: the CLI reads that folder's ``Pulumi.yaml`` (project config defaults included) and its
``Pulumi.<stack>.yaml`` files, and writes its salts into the copy, never into the repo.
"""

from __future__ import annotations

import os
import runpy
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from rig import tools, workspace
from rig.backends import Backends
from rig.cluster import LocalCluster
from rig.gateway import Traefik
from rig.metrics import Prometheus

# The engine tests' fixtures: the MSE emulator connected to the session cluster, a fresh gateway per test,
# the stack environment with credentials, and the stable workload (demo-service, demo-service-v1 ready).
from sdk_tests.engine.conftest import emulator, gateway_id, stack_env, workload

__all__ = [
    "ExampleProject", "backends", "emulator", "example", "gateway_id", "prometheus", "stack_env", "traefik",
    "workload",
]

EXAMPLES = tools.ROOT / "examples"
QUIET = {"on_output": lambda _line: None}


# The real data plane of sdk_tests/traffic/conftest.py (pods that answer, Traefik serving the rig's Gateway,
# Prometheus scraping Traefik), for the examples that need requests. Made here per module rather than
# imported: those fixtures are session-scoped, and this folder runs before sdk_tests/rig and
# sdk_tests/traffic, where a Backends still running would hold every pod's address (the rig's own Backends
# could then listen on none) and a second Traefik takes the Gateway's listener port over.
@pytest.fixture(scope="module")
def backends(kubeconfig: Path, private_network: None) -> Iterator[Backends]:
    """Pod IPs can be listened on only inside the private network namespace (``private_network``)."""
    with Backends(kubeconfig) as running:
        yield running


@pytest.fixture(scope="module")
def traefik(
    cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory, backends: Backends
) -> Iterator[Traefik]:
    with Traefik(cluster, tmp_path_factory.mktemp("traefik")) as running:
        yield running


@pytest.fixture(scope="module")
def prometheus(traefik: Traefik, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    target = traefik.metrics_url.removeprefix("http://").removesuffix("/metrics")
    with Prometheus(tmp_path_factory.mktemp("prometheus"), targets=[target]) as running:
        yield running


class ExampleProject:
    """A copy of ``examples/<name>`` and the stacks made from it (destroyed when the test ends)."""

    def __init__(self, name: str, where: Path, env: Mapping[str, str], path: Sequence[Path] = ()) -> None:
        self.folder = where / name
        shutil.copytree(EXAMPLES / name, self.folder, ignore=shutil.ignore_patterns("venv", "__pycache__"))
        self.root = where / "pulumi"
        self.env = dict(env)
        self.path = [str(folder) for folder in path]  # put before the rig's PATH (provider plugins)
        self.name = yaml.safe_load((self.folder / "Pulumi.yaml").read_text())["name"]
        self.stacks: list[Any] = []

    def run_program(self) -> None:
        runpy.run_path(str(self.folder / "__main__.py"), run_name="__main__")

    def stack(self, name: str, config: Mapping[str, str] | None = None,
              env: Mapping[str, str] | None = None) -> Any:
        """Create (or select) stack ``name``; ``config`` is set on top of ``Pulumi.<name>.yaml``."""
        from pulumi import automation as auto

        environment = workspace.hermetic_env(self.root, {**self.env, **(env or {})})
        environment["PATH"] = os.pathsep.join([*self.path, environment["PATH"]])
        options = auto.LocalWorkspaceOptions(
            work_dir=str(self.folder),
            pulumi_home=environment["PULUMI_HOME"],
            env_vars=environment,
            pulumi_command=auto.PulumiCommand(root=str(tools.pulumi_bin_dir().parent)),
        )
        made = auto.create_or_select_stack(name, self.name, self.run_program, opts=options)
        if config:
            configure(made, config)
        self.stacks.append(made)
        return made

    def stack_file(self, stack: str) -> Path:
        return self.folder / f"Pulumi.{stack}.yaml"


def configure(stack: Any, settings: Mapping[str, str | None]) -> None:
    """Set (or, for None, remove) project config keys, as `pulumi config set/rm` would."""
    from pulumi import automation as auto

    for key, value in settings.items():
        if value is None:
            stack.remove_config(key)
    stack.set_all_config({k: auto.ConfigValue(v) for k, v in settings.items() if v is not None})


@pytest.fixture
def example(tmp_path: Path, stack_env: dict[str, str]) -> Iterator[Callable[..., ExampleProject]]:
    made: list[ExampleProject] = []

    def copy(name: str, env: Mapping[str, str] | None = None, path: Sequence[Path] = ()) -> ExampleProject:
        project = ExampleProject(name, tmp_path, {**stack_env, **(env or {})}, path)
        made.append(project)
        return project

    yield copy
    for project in made:
        for stack in project.stacks:
            if stack.export_stack().deployment.get("resources"):  # a test that stopped half-way
                stack.destroy(**QUIET)
            stack.workspace.remove_stack(stack.name)
