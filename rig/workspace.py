"""Hermetic Pulumi workspaces: a file backend, a passphrase and a PULUMI_HOME of their own, no update
check and no automatic plugin downloads, running the real CLI built by ``rig.tools``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from rig import tools

if TYPE_CHECKING:
    from pulumi.automation import Stack

PASSPHRASE = "pulumi-canary-tests"


def hermetic_env(root: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for the CLI and everything it starts (the dynamic provider included)."""
    backend, home = root / "backend", root / "home"
    backend.mkdir(parents=True, exist_ok=True)
    home.mkdir(parents=True, exist_ok=True)
    python_bin = Path(sys.executable).parent
    env = {
        "PULUMI_BACKEND_URL": backend.as_uri(),
        "PULUMI_HOME": str(home),
        "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        # The dynamic-provider shim runs ${PULUMI_PYTHON_CMD:-python3}: make it this interpreter.
        "PULUMI_PYTHON_CMD": sys.executable,
        # Providers defined in the repo's test and rig modules are pickled by reference.
        "PYTHONPATH": str(tools.ROOT),
        "PATH": os.pathsep.join([str(tools.pulumi_bin_dir()), str(python_bin), os.environ.get("PATH", "")]),
    }
    env.update(extra or {})
    return env


def inline_stack(
    root: Path,
    project: str,
    stack: str,
    program: Callable[[], None],
    env: Mapping[str, str] | None = None,
) -> Stack:
    """An Automation API stack whose program runs in this process (no language host needed)."""
    from pulumi import automation as auto

    environment = hermetic_env(root, env)
    project_settings = auto.ProjectSettings(name=project, runtime="python")
    options = auto.LocalWorkspaceOptions(
        work_dir=str(root),
        pulumi_home=environment["PULUMI_HOME"],
        env_vars=environment,
        project_settings=project_settings,
        pulumi_command=auto.PulumiCommand(root=str(tools.pulumi_bin_dir().parent)),
    )
    return auto.create_or_select_stack(stack, project, program, opts=options)
