"""The MSE driver's calls against the emulator: which failures are retried, how often, and what the
error a user finally sees says (operation, object, request id, what to do)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pulumi_canary.drivers.credentials import AlibabaCredentials
from pulumi_canary.drivers.mse import READ_TIMEOUT_ENV, MseDriver
from pulumi_canary.drivers.retry import ATTEMPTS, FIRST_DELAY_SECONDS, MAX_DELAY_SECONDS
from pulumi_canary.emulator import EmulatorServer, FaultRule
from pulumi_canary.errors import PermanentApiError, TransientApiError
from pulumi_canary.model import MseGatewaySpec, ServiceRefSpec

KEY_ID, SECRET = "test-ak-id", "test-ak-secret"
GATEWAY = "gw-drivertest"
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy")


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(credentials={KEY_ID: SECRET}) as running:
        yield running


@pytest.fixture
def emulator(server: EmulatorServer) -> EmulatorServer:
    server.reset()
    server.seed_gateway(GATEWAY)
    return server


def driver(endpoint: str, sleeps: list[float]) -> MseDriver:
    gateway = MseGatewaySpec(
        kind="mse", gateway_id=GATEWAY, region="cn-hangzhou", endpoint=f"http://{endpoint}"
    )
    service = ServiceRefSpec(name="demo-service", namespace="default", port=80)
    credentials = AlibabaCredentials(KEY_ID, SECRET)
    return MseDriver(gateway, service, credentials, "p/s/demo", "v2", sleep=sleeps.append)


def get_gateway(mse: MseDriver) -> object:
    return mse.call("GetGateway", {"GatewayUniqueId": GATEWAY})


@pytest.mark.parametrize(
    "rule",
    [
        FaultRule(action="GetGateway", status=500, count=2),
        FaultRule(action="GetGateway", status=503, code="ServiceUnavailable", count=4),
        FaultRule(action="GetGateway", status=400, code="Throttling.User", retry_after_ms=10, count=2),
        FaultRule(action="GetGateway", status=429, code="TooManyRequests", count=2),
        # Most response models of the SDK drop ErrorCode: a Success:false body is judged by its Code.
        FaultRule(action="GetGateway", error_shape="success_false", status=500, code="SystemBusy", count=2),
    ],
    ids=["500", "503x4", "throttled", "429", "success-false-500"],
)
def test_transient_failures_are_retried_with_bounded_jittered_backoff(
    emulator: EmulatorServer, rule: FaultRule
) -> None:
    emulator.add_faults([rule])
    sleeps: list[float] = []
    assert get_gateway(driver(emulator.endpoint, sleeps))
    assert len(emulator.requests("GetGateway")) == rule.count + 1
    assert len(sleeps) == rule.count
    for attempt, delay in enumerate(sleeps, start=1):
        assert 0 <= delay <= min(MAX_DELAY_SECONDS, FIRST_DELAY_SECONDS * 2 ** (attempt - 1))


def test_throttling_waits_as_long_as_the_api_asks(emulator: EmulatorServer) -> None:
    rule = FaultRule(action="GetGateway", status=400, code="Throttling.User", retry_after_ms=700)
    emulator.add_faults([rule])
    sleeps: list[float] = []
    assert get_gateway(driver(emulator.endpoint, sleeps))
    assert sleeps == [0.7]


def test_a_transient_failure_that_lasts_gives_up_after_the_attempts(emulator: EmulatorServer) -> None:
    emulator.add_faults([FaultRule(action="GetGateway", status=503, code="Unavailable", count=ATTEMPTS)])
    sleeps: list[float] = []
    with pytest.raises(TransientApiError) as raised:
        get_gateway(driver(emulator.endpoint, sleeps))
    last = emulator.requests("GetGateway")[-1]
    assert len(emulator.requests("GetGateway")) == ATTEMPTS and len(sleeps) == ATTEMPTS - 1
    message = str(raised.value)
    assert f"request_id={last.request_id}" in message and "operation=GetGateway" in message
    assert f"target=gateway {GATEWAY}" in message and "http_status=503" in message
    assert "run `pulumi up` again later" in message


@pytest.mark.parametrize(
    "rule",
    [
        FaultRule(action="GetGateway", status=403, code="NoPermission", message="RAM user lacks the action"),
        FaultRule(action="GetGateway", status=400, code="InvalidParameter"),
        FaultRule(action="GetGateway", error_shape="success_false", status=400, code="IllegalRequest"),
    ],
    ids=["403", "400", "success-false-400"],
)
def test_permanent_failures_fail_fast_with_the_request_id(emulator: EmulatorServer, rule: FaultRule) -> None:
    emulator.add_faults([rule])
    sleeps: list[float] = []
    with pytest.raises(PermanentApiError) as raised:
        get_gateway(driver(emulator.endpoint, sleeps))
    (request,) = emulator.requests("GetGateway")
    assert sleeps == []
    message = str(raised.value)
    assert f"request_id={request.request_id}" in message
    assert f"code={rule.code}" in message or f"code={rule.http_status}" in message
    assert rule.message in message and "operation=GetGateway" in message
    assert "fix the cause" in message


def test_an_answer_slower_than_the_read_timeout_is_retried(
    emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(READ_TIMEOUT_ENV, "0.3")
    emulator.add_faults([FaultRule(action="GetGateway", error_shape="none", latency_seconds=0.6)])
    sleeps: list[float] = []
    assert get_gateway(driver(emulator.endpoint, sleeps))
    assert len(sleeps) == 1


def test_an_unreachable_endpoint_is_transient_and_names_the_endpoint() -> None:
    sleeps: list[float] = []
    with pytest.raises(TransientApiError) as raised:
        get_gateway(driver("127.0.0.1:9", sleeps))
    assert len(sleeps) == ATTEMPTS - 1
    assert "got no usable answer from http://127.0.0.1:9" in str(raised.value)
