"""``python -m pulumi_canary.emulator`` prints its address, serves the SDK, and stops on SIGTERM."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from alibabacloud_mse20190531 import models as mse

from pulumi_canary.emulator.cli import main
from sdk_tests.emulator.conftest import PROXY_VARIABLES
from sdk_tests.emulator.helpers import ACCESS_KEY_ID, ACCESS_KEY_SECRET, make_client

REPO_ROOT = Path(__file__).resolve().parents[2]
LISTENING = "MSE emulator listening on http://"


@pytest.fixture
def emulator_process() -> Iterator[tuple[subprocess.Popen[str], str]]:
    env = {key: value for key, value in os.environ.items() if key not in PROXY_VARIABLES}
    env["ALIBABA_CLOUD_ACCESS_KEY_ID"] = ACCESS_KEY_ID
    env["ALIBABA_CLOUD_ACCESS_KEY_SECRET"] = ACCESS_KEY_SECRET
    process = subprocess.Popen(
        [sys.executable, "-m", "pulumi_canary.emulator", "--port", "0", "--seed-gateway", "gw-test"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(
        target=lambda: lines.put(process.stdout.readline() if process.stdout else ""), daemon=True
    ).start()
    try:
        first_line = lines.get(timeout=10)
        yield process, first_line
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_cli_serves_the_sdk_and_exits_on_a_stop_signal(
    emulator_process: tuple[subprocess.Popen[str], str], stop_signal: signal.Signals
) -> None:
    process, first_line = emulator_process
    assert first_line.startswith(LISTENING), first_line
    endpoint = first_line.strip().removeprefix(LISTENING)
    host, port = endpoint.split(":")
    assert host == "127.0.0.1" and int(port) > 0

    gateway = make_client(endpoint).get_gateway(mse.GetGatewayRequest(gateway_unique_id="gw-test"))
    assert gateway.body.data.gateway_unique_id == "gw-test"

    process.send_signal(stop_signal)
    stdout, stderr = process.communicate(timeout=10)
    assert process.returncode == 0
    assert stdout == ""
    assert ACCESS_KEY_SECRET not in stderr + first_line


def test_cli_refuses_half_a_credential_pair(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ALIBABA_CLOUD_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", raising=False)

    code = main(["--port", "0", "--access-key-secret", "only-a-secret"])

    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert "access key id" in captured.err
    assert "only-a-secret" not in captured.err


def test_cli_refuses_a_missing_kubeconfig(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main(["--port", "0", "--kubeconfig", str(tmp_path / "absent.yaml")])

    assert code == 2
    assert "absent.yaml" in capsys.readouterr().err
