"""Importing the emulator is cheap and pulls in neither the Alibaba SDK nor lightkube."""

from __future__ import annotations

import json
import subprocess
import sys

import pulumi_canary.emulator as emulator

HEAVY_PREFIXES = ("alibabacloud", "darabonba", "Tea", "lightkube", "httpx2", "pulumi.")


def test_import_has_no_heavy_dependencies() -> None:
    probe = (
        "import json, sys; import pulumi_canary.emulator; "
        f"print(json.dumps(sorted(m for m in sys.modules if m.startswith({HEAVY_PREFIXES!r}))))"
    )
    output = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout

    assert json.loads(output) == []


def test_public_names() -> None:
    assert set(emulator.__all__) == {
        "API_VERSION",
        "DEFAULT_ACCESS_KEY_ID",
        "DEFAULT_ACCESS_KEY_SECRET",
        "BusinessError",
        "EmulatorServer",
        "EndpointSource",
        "FaultRule",
        "IllegalRequestError",
        "InternalError",
        "InvalidParameterError",
        "KubernetesEndpoints",
        "MseApiError",
        "MseBackend",
        "NoPermissionError",
        "NotFoundError",
        "RequestRecord",
        "RouteStatus",
        "StaticEndpoints",
        "WatchedEndpoints",
    }
    assert all(getattr(emulator, name) is not None for name in emulator.__all__)
