"""The model layer stays pure: no pulumi, no Kubernetes client, no cloud SDK; a stable public surface."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
from importlib import import_module

import pulumi_canary.model as model

FORBIDDEN = ("pulumi", "lightkube", "alibabacloud", "Tea", "darabonba", "grpc")
PACKAGE_DIR = pathlib.Path(model.__file__).resolve().parent.parent

REPORT_LOADED = f"""
import json, sys
loaded = sorted(name for name in sys.modules
                if name.split('.')[0] in {FORBIDDEN!r} or name.split('.')[0].startswith('alibabacloud'))
print(json.dumps(loaded))
"""


def loaded_after(code: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", code + REPORT_LOADED], capture_output=True, text=True, check=True, timeout=60
    )
    loaded: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


def test_importing_the_model_imports_no_heavy_dependency() -> None:
    assert loaded_after("import pulumi_canary.model") == []


def test_the_model_modules_themselves_import_no_heavy_dependency() -> None:
    # Bypass pulumi_canary/__init__.py (owned by the adapter) to blame the model alone.
    stub_parent = (
        "import sys, types; package = types.ModuleType('pulumi_canary'); "
        f"package.__path__ = [{str(PACKAGE_DIR)!r}]; sys.modules['pulumi_canary'] = package\n"
        "import pulumi_canary.model, pulumi_canary.model.syntax\n"
    )
    assert loaded_after(stub_parent) == []


def test_all_lists_exactly_the_public_names() -> None:
    lazy = set(model._MODULE_OF)
    assert set(model.__all__) == lazy
    assert len(model.__all__) == len(set(model.__all__))
    for name in model.__all__:
        assert getattr(model, name) is getattr(import_module(model._MODULE_OF[name], model.__name__), name)


def test_what_a_program_declares_loads_no_pydantic_and_no_gateway_spec() -> None:
    """A program imports the resource and argument classes; pydantic, the gateway specs and the rest of
    the model (planning, validation, diff) wait for the provider, which keeps the import cheap."""
    code = (
        "import sys, json\n"
        "import pulumi_canary as canary\n"
        "canary.CanaryPolicy, canary.TrafficSplit, canary.Step, canary.Analysis\n"
        "canary.MseGateway(gateway_id='gw-1', region='cn-hangzhou').to_props()\n"
        "canary.GatewayApi(gateway='gw').to_props(), canary.Istio(hosts=['a.example.com']).to_props()\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('pulumi_canary.', 'pydantic')))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = set(json.loads(result.stdout.strip().splitlines()[-1]))
    assert "pulumi_canary.adapter.resources" in loaded
    assert {module for module in loaded if module.startswith("pydantic")} == set()
    heavy = {"gateways", "planning", "steps", "analysis", "validation", "diff", "specs", "fields"}
    assert {module for module in loaded if module.split(".")[2:3] in ([name] for name in heavy)} == set()
