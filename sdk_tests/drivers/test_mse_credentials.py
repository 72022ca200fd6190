"""Where the MSE driver's credentials come from: each source that can be made on this machine signs real
calls of the official SDK, which the emulator verifies (a wrong secret is refused). The explicit sources
(stack config, then variables) win over the default chain of alibabacloud-credentials; the chain finds
the CLI profile and the credentials file; with nothing anywhere, one message names every source.

RRSA (OIDC) and the ECS RAM role need Alibaba Cloud's STS or the metadata service 100.100.100.200: the
tests only show that the chain is handed the RRSA variables, and keep the metadata service switched off
(ALIBABA_CLOUD_ECS_METADATA_DISABLED) so that no test leaves this machine."""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest

from pulumi_canary.drivers import credentials
from pulumi_canary.drivers.credentials import AlibabaCredentials
from pulumi_canary.drivers.mse import MseDriver
from pulumi_canary.emulator import EmulatorServer
from pulumi_canary.errors import ConfigurationError, PermanentApiError
from pulumi_canary.model import MseGatewaySpec, ServiceRefSpec

KEY_ID, SECRET = "LTAI-credentials-test", "credentials-test-secret"
STS_KEY_ID, STS_SECRET, STS_TOKEN = "STS.credentials-test", "sts-test-secret", "sts-security-token-0123"
WRONG_SECRET = "not-the-secret-of-this-key"
GATEWAY = "gw-credentials"
VARIABLE_PREFIXES = ("ALIBABA_CLOUD_", "ALICLOUD_")
SOURCES_NAMED = (
    "alicloud:accessKey", "ALIBABA_CLOUD_ACCESS_KEY_ID", "ALICLOUD_ACCESS_KEY", "ALIBABA_CLOUD_ROLE_ARN",
    "ALIBABA_CLOUD_OIDC_PROVIDER_ARN", "ALIBABA_CLOUD_OIDC_TOKEN_FILE", "~/.aliyun/config.json",
    "~/.alibabacloud/credentials.ini", "ALIBABA_CLOUD_CREDENTIALS_FILE", "ALIBABA_CLOUD_PROFILE",
    "ECS RAM role", "ALIBABA_CLOUD_CREDENTIALS_URI", "pulumi config set --secret alicloud:secretKey",
)


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(credentials={KEY_ID: SECRET, STS_KEY_ID: STS_SECRET}) as running:
        yield running


@pytest.fixture
def emulator(server: EmulatorServer) -> EmulatorServer:
    server.reset()
    server.seed_gateway(GATEWAY)
    return server


@pytest.fixture(autouse=True)
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No Alibaba Cloud variable and an empty HOME; the ECS metadata service is off (it is not here)."""
    for name in list(os.environ):
        if name.startswith(VARIABLE_PREFIXES):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
    credentials.chain_for_environment.cache_clear()
    yield home
    credentials.chain_for_environment.cache_clear()


def driver(endpoint: str, config: dict[str, str] | None = None) -> MseDriver:
    gateway = MseGatewaySpec(kind="mse", gateway_id=GATEWAY, region="cn-hangzhou", endpoint=f"http://{endpoint}")
    service = ServiceRefSpec(name="demo-service", namespace="default", port=80)
    resolved = AlibabaCredentials.resolve(config or {})
    return MseDriver(gateway, service, resolved, "p/s/demo", "v2", sleep=lambda _seconds: None)


def assert_signed_call_works(emulator: EmulatorServer, endpoint: str | None = None,
                             config: dict[str, str] | None = None) -> None:
    data = driver(endpoint or emulator.endpoint, config).call("GetGateway", {"GatewayUniqueId": GATEWAY})
    assert data["GatewayUniqueId"] == GATEWAY
    (record,) = emulator.requests("GetGateway")
    assert record.success and record.signature == "v3"


def write_cli_profile(home: Path, *profiles: dict[str, str], current: str = "default") -> None:
    """The file `aliyun configure` writes."""
    folder = home / ".aliyun"
    folder.mkdir(exist_ok=True)
    (folder / "config.json").write_text(json.dumps({"current": current, "profiles": list(profiles)}))


def write_credentials_ini(path: Path, sections: dict[str, tuple[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(
        f"[{name}]\ntype = access_key\naccess_key_id = {key_id}\naccess_key_secret = {secret}\n\n"
        for name, (key_id, secret) in sections.items()
    ))


class RecordingRelay:
    """A TCP relay in front of the emulator that keeps the bytes the SDK sent: the headers on the wire."""

    def __init__(self, target: str) -> None:
        host, port = target.rsplit(":", 1)
        self._target = (host, int(port))
        self.sent = bytearray()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.endpoint = f"127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                downstream, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self._target)
            threading.Thread(target=self._pump, args=(downstream, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, downstream, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, record: bool) -> None:
        with contextlib.suppress(OSError):
            while chunk := source.recv(65536):
                if record:
                    self.sent.extend(chunk)
                sink.sendall(chunk)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self._listener.close()

    def header(self, name: str) -> list[str]:
        pattern = rb"(?im)^" + re.escape(name.encode()) + rb":[ \t]*([^\r\n]*)"
        return [value.decode() for value in re.findall(pattern, bytes(self.sent))]


@pytest.fixture
def relay(emulator: EmulatorServer) -> Iterator[RecordingRelay]:
    running = RecordingRelay(emulator.endpoint)
    yield running
    running.close()


# ---- the explicit sources ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "variables",
    [
        {"ALIBABA_CLOUD_ACCESS_KEY_ID": KEY_ID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": SECRET},
        {"ALICLOUD_ACCESS_KEY": KEY_ID, "ALICLOUD_SECRET_KEY": SECRET},
    ],
    ids=["ALIBABA_CLOUD", "ALICLOUD-aliases"],
)
def test_environment_variables_sign_the_calls(
    emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch, variables: dict[str, str]
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert_signed_call_works(emulator)


def test_the_stack_config_wins_over_the_variables_and_the_chain(
    emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch, home: Path
) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", WRONG_SECRET)
    write_cli_profile(home, {"name": "default", "mode": "AK", "access_key_id": KEY_ID,
                             "access_key_secret": WRONG_SECRET})
    assert_signed_call_works(emulator, config={"alicloud:accessKey": KEY_ID, "alicloud:secretKey": SECRET})


def test_the_variables_win_over_the_chain(emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch,
                                          home: Path) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", SECRET)
    write_cli_profile(home, {"name": "default", "mode": "AK", "access_key_id": KEY_ID,
                             "access_key_secret": WRONG_SECRET})
    assert_signed_call_works(emulator)


def test_an_sts_token_from_the_variables_goes_on_the_wire(
    emulator: EmulatorServer, relay: RecordingRelay, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", STS_KEY_ID)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", STS_SECRET)
    monkeypatch.setenv("ALIBABA_CLOUD_SECURITY_TOKEN", STS_TOKEN)
    assert_signed_call_works(emulator, endpoint=relay.endpoint)
    assert relay.header("x-acs-security-token") == [STS_TOKEN]


def test_half_an_access_key_is_a_configuration_error_not_a_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", KEY_ID)
    with pytest.raises(ConfigurationError, match="set alicloud:secretKey or ALIBABA_CLOUD_ACCESS_KEY_SECRET"):
        AlibabaCredentials.resolve({})


# ---- the default chain --------------------------------------------------------------------------------


def test_the_cli_profile_signs_the_calls(emulator: EmulatorServer, home: Path) -> None:
    write_cli_profile(home, {"name": "default", "mode": "AK", "access_key_id": KEY_ID,
                             "access_key_secret": SECRET})
    assert AlibabaCredentials.resolve({}).uses_default_chain
    assert_signed_call_works(emulator)


def test_an_sts_token_from_the_cli_profile_goes_on_the_wire(
    emulator: EmulatorServer, relay: RecordingRelay, home: Path
) -> None:
    write_cli_profile(home, {"name": "sts", "mode": "StsToken", "access_key_id": STS_KEY_ID,
                             "access_key_secret": STS_SECRET, "sts_token": STS_TOKEN}, current="sts")
    assert_signed_call_works(emulator, endpoint=relay.endpoint)
    assert relay.header("x-acs-security-token") == [STS_TOKEN]


def test_the_credentials_file_in_home_signs_the_calls(emulator: EmulatorServer, home: Path) -> None:
    write_credentials_ini(home / ".alibabacloud" / "credentials.ini", {"default": (KEY_ID, SECRET)})
    assert_signed_call_works(emulator)


def test_alibaba_cloud_credentials_file_and_profile_pick_the_file_and_section(
    emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "elsewhere" / "alibaba.ini"
    write_credentials_ini(path, {"default": (KEY_ID, WRONG_SECRET), "canary": (KEY_ID, SECRET)})
    monkeypatch.setenv("ALIBABA_CLOUD_CREDENTIALS_FILE", str(path))
    monkeypatch.setenv("ALIBABA_CLOUD_PROFILE", "canary")
    assert_signed_call_works(emulator)


def test_a_wrong_secret_from_the_chain_is_refused(emulator: EmulatorServer, home: Path) -> None:
    """The emulator checks what the chain found: the tests above would fail with other keys."""
    write_credentials_ini(home / ".alibabacloud" / "credentials.ini", {"default": (KEY_ID, WRONG_SECRET)})
    with pytest.raises(PermanentApiError, match="SignatureDoesNotMatch"):
        driver(emulator.endpoint).call("GetGateway", {"GatewayUniqueId": GATEWAY})


def test_nothing_anywhere_is_one_message_naming_every_source(emulator: EmulatorServer, home: Path) -> None:
    with pytest.raises(ConfigurationError) as raised:
        driver(emulator.endpoint).call("GetGateway", {"GatewayUniqueId": GATEWAY})
    message = str(raised.value)
    for source in SOURCES_NAMED:
        assert source in message
    # The chain itself was asked, in this HOME: the explicit sources did not stop at their own error.
    assert str(home / ".aliyun" / "config.json") in message
    assert raised.value.__cause__ is None and raised.value.__suppress_context__, "no SDK traceback chained"
    assert "Traceback" not in message
    assert emulator.requests() == [], "no call was sent without credentials"


def test_rrsa_variables_are_handed_to_the_chain(
    emulator: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An ACK pod's RRSA variables reach the chain's OIDC source, which reads the token file before it
    would call STS: here the file is missing, so the error names it and nothing leaves the machine."""
    token_file = tmp_path / "no-such-oidc-token"
    monkeypatch.setenv("ALIBABA_CLOUD_ROLE_ARN", "acs:ram::1234567890:role/canary")
    monkeypatch.setenv("ALIBABA_CLOUD_OIDC_PROVIDER_ARN", "acs:ram::1234567890:oidc-provider/ack-rrsa")
    monkeypatch.setenv("ALIBABA_CLOUD_OIDC_TOKEN_FILE", str(token_file))
    with pytest.raises(ConfigurationError) as raised:
        driver(emulator.endpoint).call("GetGateway", {"GatewayUniqueId": GATEWAY})
    assert "OIDCRoleArnCredentialsProvider" in str(raised.value)
    assert str(token_file) in str(raised.value)
    # The package logs each failing source, with a traceback, on a stderr handler of its own: not here.
    assert [record for record in caplog.records if record.name == credentials.CHAIN_LOGGER] == []


def test_secrets_are_not_in_repr_nor_in_the_error_of_a_broken_profile(home: Path) -> None:
    resolved = AlibabaCredentials(STS_KEY_ID, STS_SECRET, STS_TOKEN)
    assert STS_SECRET not in repr(resolved) and STS_TOKEN not in repr(resolved)
    write_cli_profile(home, {"name": "default", "mode": "NoSuchMode", "access_key_id": KEY_ID,
                             "access_key_secret": SECRET})
    with pytest.raises(ConfigurationError) as raised:
        AlibabaCredentials.resolve({}).sdk_credential()
    assert "NoSuchMode" in str(raised.value)
    assert SECRET not in "".join(traceback.format_exception(raised.value))
