"""No credential ends up in the state, the engine's logs or the provider's output.

A full flow (create with a policy-owned canary Deployment, a split, a refresh, a preview, a promotion, a
destroy) runs with the credentials only in the stack config, as pulumi-alicloud and pulumi-kubernetes
users set them: ``alicloud:accessKey``, ``alicloud:secretKey`` (secret) and ``kubernetes:kubeconfig``
(secret, the file's content, which holds the cluster's bearer token). Everything the engine prints at
log verbosity 9 to stderr (the provider's own stderr included), the state exported after each step
(``pulumi stack export``), every file of the backend and the pickled providers are then searched.

The engine itself records the stack config as the inputs of the default ``pulumi-python`` provider
(secrets encrypted): an export with ``--show-secrets`` (the Automation API's ``export_stack``) decrypts
them there, so that export is only checked for where they appear: nowhere but that encrypted config.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dill  # type: ignore[import-untyped]
import pytest
from pulumi.automation import ConfigValue

import pulumi_canary as canary
from pulumi_canary.emulator import EmulatorServer
from rig.cluster import LocalCluster
from sdk_tests.engine.conftest import ACCESS_KEY_ID, ACCESS_KEY_SECRET, Workload
from sdk_tests.engine.mse_program import Program, route_weights

CREDENTIAL_VARIABLES = (
    "KUBECONFIG", "ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALICLOUD_ACCESS_KEY",
    "ALICLOUD_SECRET_KEY",
)


@pytest.fixture
def config_only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No credential in the environment (nor a default kubeconfig): only the stack config has them."""
    for name in CREDENTIAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


SECRET_SIG = "4dabf18193072939515e22adb298388d"


def revealed(value: Any) -> Any:
    """A value from a ``--show-secrets`` export with its secret wrappers taken off."""
    if isinstance(value, dict) and value.get(SECRET_SIG) and "plaintext" in value:
        return revealed(json.loads(value["plaintext"]))
    if isinstance(value, dict):
        return {key: revealed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [revealed(item) for item in value]
    return value


def pickled_providers(state: dict[str, Any]) -> Iterator[bytes]:
    """The bytes of every pickled dynamic provider, followed by the unpickled object's attributes."""
    for resource in state.get("resources", []):
        provider = revealed((resource.get("inputs") or {}).get("__provider"))
        if isinstance(provider, str):
            raw = base64.b64decode(provider)
            yield raw + repr(vars(dill.loads(raw))).encode()


def plain_export(stack: Any) -> str:
    """``pulumi stack export`` as a user runs it (secrets stay encrypted)."""
    workspace = stack.workspace
    args = ["stack", "export", "--stack", stack.name]
    return str(workspace.pulumi_command.run(args, workspace.work_dir, workspace.env_vars).stdout)


def test_no_secret_in_state_logs_or_pickled_providers(
    config_only, inline_stack, program: Program, emulator: EmulatorServer, gateway_id: str,
    workload: Workload, cluster: LocalCluster, kubeconfig: Path, pulumi_root: Path,
) -> None:
    secrets = {"access key secret": ACCESS_KEY_SECRET, "bearer token": cluster.token}
    assert cluster.token in kubeconfig.read_text(), "the kubeconfig must carry the bearer token"
    stack = inline_stack(program, env={})
    stack.set_config("alicloud:accessKey", ConfigValue(ACCESS_KEY_ID))
    stack.set_config("alicloud:secretKey", ConfigValue(ACCESS_KEY_SECRET, secret=True))
    stack.set_config("kubernetes:kubeconfig", ConfigValue(kubeconfig.read_text(), secret=True))

    printed: list[str] = []
    loud = {"on_output": printed.append, "on_error": printed.append, "log_to_std_err": True,
            "log_verbosity": 9, "debug": True}
    exports: list[str] = []
    revealed_states: list[dict[str, Any]] = []

    def run(operation: Any, **options: Any) -> None:
        result = operation(**loud, **options)
        printed.extend([result.stdout or "", result.stderr or ""])
        exports.append(plain_export(stack))
        revealed_states.append(stack.export_stack().deployment)

    program.policy = {
        "stable_version": "v1", "canary_version": "v3",
        "canary_deployment": canary.CanaryDeployment(image="demo:3.0", replicas=1),
    }
    program.split = {"canary_weight": 0}
    run(stack.up)
    workload.wait_ready("demo-service-v3", 1)
    program.split = {"canary_weight": 20}
    run(stack.up)
    assert route_weights(emulator, gateway_id) == {"v1": 80, "v3": 20}, "the config credentials worked"
    run(stack.refresh)
    run(stack.preview, diff=True)
    program.policy = {"stable_version": "v3", "canary_version": "v1"}
    program.split = {"canary_weight": 0}
    run(stack.up)
    run(stack.destroy)

    assert sum(len(line) for line in printed) > 10_000, "verbose engine logs were captured"
    logs = "\n".join(printed)
    plain_states = "\n".join(exports)
    providers = [pickled for state in revealed_states for pickled in pickled_providers(state)]
    assert providers, "the state holds pickled providers"
    ours = [
        revealed(resource)
        for state in revealed_states
        for resource in state.get("resources", [])
        if not resource["type"].startswith("pulumi:providers:")
    ]
    assert any(r["type"].endswith(":CanaryPolicy") for r in ours)
    ours_text = json.dumps(ours)
    backend_files = [path for path in pulumi_root.rglob("*") if path.is_file()]
    for what, secret in secrets.items():
        assert secret not in logs, f"the {what} is in the engine's output or logs"
        assert secret not in plain_states, f"the {what} is in the exported state"
        assert secret not in ours_text, f"the {what} is in a resource's inputs or outputs"
        for pickled in providers:
            assert secret.encode() not in pickled, f"the {what} is in a pickled provider"
        for path in backend_files:
            assert secret.encode() not in path.read_bytes(), f"the {what} is in {path}"
    for text in (logs, plain_states, ours_text):
        assert "Bearer " not in text and "bearer " not in text, "a bearer token was printed or stored"
