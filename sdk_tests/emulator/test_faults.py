"""Fault injection fires the configured number of times, in order, then stops; latency is real."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from alibabacloud_mse20190531 import models as mse
from alibabacloud_mse20190531.client import Client
from alibabacloud_tea_openapi.exceptions import ServerException, ThrottlingException

from pulumi_canary.emulator import EmulatorServer, FaultRule
from sdk_tests.emulator.helpers import GATEWAY, make_client


def _get_gateway(client: Client) -> mse.GetGatewayResponse:
    return client.get_gateway(mse.GetGatewayRequest(gateway_unique_id=GATEWAY))


def _control(server: EmulatorServer, method: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{server.url}/_emulator/{path}", data=data, method=method)
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def test_http_fault_fires_count_times_then_stops(client: Client, server: EmulatorServer) -> None:
    server.add_faults([FaultRule(action="GetGateway", status=503, code="ServiceUnavailable", count=2)])

    for _ in range(2):
        with pytest.raises(ServerException) as raised:
            _get_gateway(client)
        assert (raised.value.status_code, raised.value.code) == (503, "ServiceUnavailable")

    assert _get_gateway(client).body.success is True
    assert server.pending_faults() == []
    assert [(record.status, record.fault) for record in server.requests()] == [
        (503, True),
        (503, True),
        (200, False),
    ]


def test_fault_for_another_action_does_not_fire(client: Client, server: EmulatorServer) -> None:
    server.add_faults([FaultRule(action="ApplyGatewayRoute", count=1)])

    assert _get_gateway(client).body.success is True
    assert [rule.action for rule in server.pending_faults()] == ["ApplyGatewayRoute"]


def test_rules_are_consumed_in_order(client: Client, server: EmulatorServer) -> None:
    server.add_faults(
        [
            {
                "action": "*",
                "error_shape": "success_false",
                "status": 409,
                "code": "Conflict.First",
                "count": 1,
            },
            {"action": "GetGateway", "error_shape": "success_false", "code": "Second", "count": 1},
        ]
    )

    first, second, third = (_get_gateway(client) for _ in range(3))

    assert (first.status_code, first.body.success, first.body.code) == (200, False, 409)
    assert (second.body.success, second.body.code) == (False, 400)
    assert third.body.success is True
    assert [record.code for record in server.requests()] == ["Conflict.First", "Second", "200"]


def test_latency_delays_the_answer_and_then_runs_the_action(client: Client, server: EmulatorServer) -> None:
    server.add_faults([FaultRule(action="GetGateway", error_shape="none", latency_seconds=0.3)])

    started = time.monotonic()
    slow = _get_gateway(client)
    slow_seconds = time.monotonic() - started
    started = time.monotonic()
    _get_gateway(client)
    fast_seconds = time.monotonic() - started

    assert slow.body.data.gateway_unique_id == GATEWAY
    assert slow_seconds >= 0.3
    assert fast_seconds < 0.2
    assert server.requests()[0].duration_ms >= 300


def test_latency_after_the_action_makes_the_change_before_the_slow_answer(
    client: Client, server: EmulatorServer
) -> None:
    from darabonba.exceptions import UnretryableException

    impatient = make_client(server.endpoint, read_timeout_ms=200)
    server.add_faults([FaultRule(action="GetGateway", error_shape="none", latency_seconds=0.5,
                                 latency_after_action=True)])

    with pytest.raises(UnretryableException):
        _get_gateway(impatient)

    time.sleep(0.5)
    (record,) = server.requests("GetGateway")
    assert (record.status, record.success, record.fault) == (200, True, True), "the action ran"


def test_retry_after_makes_the_sdk_raise_throttling(client: Client, server: EmulatorServer) -> None:
    server.add_faults([FaultRule(status=429, code="Throttling.User", retry_after_ms=1500)])

    with pytest.raises(ThrottlingException) as raised:
        _get_gateway(client)

    assert (raised.value.status_code, raised.value.code, raised.value.retry_after) == (
        429,
        "Throttling.User",
        1500,
    )


def test_faults_over_http_control_plane(client: Client, server: EmulatorServer) -> None:
    answer = _control(server, "POST", "faults", [{"action": "GetGateway", "status": 500, "count": 3}])
    assert answer == {"pending": 1}
    assert _control(server, "GET", "faults")["rules"][0]["count"] == 3

    with pytest.raises(ServerException):
        _get_gateway(client)
    assert _control(server, "GET", "faults")["rules"][0]["count"] == 2

    _control(server, "DELETE", "faults")
    assert _get_gateway(client).body.success is True


@pytest.mark.parametrize(
    "rule",
    [
        {"action": "GetGateway", "count": 0},
        {"action": "GetGateway", "error_shape": "explode"},
        {"action": "GetGateway", "status": 200},
        {"action": "GetGateway", "latency": 1},
        {"action": "GetGateway", "latency_seconds": 1, "latency_after_action": True},
        {"action": "GetGateway", "error_shape": "none", "latency_after_action": "yes"},
    ],
)
def test_malformed_fault_rules_are_refused(server: EmulatorServer, rule: dict[str, Any]) -> None:
    with pytest.raises(urllib.error.HTTPError) as raised:
        _control(server, "POST", "faults", [rule])

    assert raised.value.code == 400
    assert server.pending_faults() == []
