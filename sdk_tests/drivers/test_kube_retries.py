"""Kubernetes calls of the workloads driver: transient failures (409, 429, 5xx, network) are retried with
backoff; permanent ones fail at once; deleting or releasing what is already gone succeeds. A stand-in
client replaces lightkube's transport, so each failure happens exactly when the test says."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import httpx2
import pytest
from lightkube import ApiError

from pulumi_canary.drivers.retry import ATTEMPTS
from pulumi_canary.drivers.workloads import ServiceTarget, Workloads
from pulumi_canary.errors import PermanentApiError, PreconditionError, TransientApiError

TARGET = ServiceTarget("shop", "cart", "version")


def api_error(code: int) -> ApiError:
    status = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": f"{code}!", "code": code}
    request = httpx2.Request("GET", "https://apiserver.test/apis")
    return ApiError(request=request, response=httpx2.Response(code, json=status, request=request))


def network_error() -> Exception:
    return httpx2.ConnectError("connection refused", request=httpx2.Request("GET", "https://apiserver.test"))


class FlakyClient:
    """Answers every call with the next scripted failure, then with ``answer``."""

    def __init__(self, failures: list[Exception], answer: Callable[[], Any]) -> None:
        self.failures = list(failures)
        self.answer = answer
        self.calls = 0

    def _call(self, *_args: Any, **_kwargs: Any) -> Any:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return self.answer()

    get = list = delete = patch = apply = _call


def Service() -> Any:  # noqa: N802 - shaped like lightkube's model
    return SimpleNamespace(spec=SimpleNamespace(selector={"app": "cart"}))


@pytest.mark.parametrize(
    "failures",
    [
        [api_error(500)],
        [api_error(503), api_error(429)],
        [api_error(409)],
        [network_error(), network_error()],
    ],
    ids=["500", "503-then-429", "409", "network"],
)
def test_transient_failures_are_retried(failures: list[Exception]) -> None:
    sleeps: list[float] = []
    client = FlakyClient(failures, Service)
    assert Workloads(client, "p/s/demo", sleep=sleeps.append).selector(TARGET) == {"app": "cart"}  # type: ignore[arg-type]
    assert client.calls == len(failures) + 1 and len(sleeps) == len(failures)


def test_a_lasting_failure_gives_up_after_the_attempts() -> None:
    sleeps: list[float] = []
    client = FlakyClient([api_error(503)] * ATTEMPTS, Service)
    with pytest.raises(TransientApiError) as raised:
        Workloads(client, "p/s/demo", sleep=sleeps.append).selector(TARGET)  # type: ignore[arg-type]
    assert client.calls == ATTEMPTS
    assert "operation=get service" in str(raised.value) and "http_status=503" in str(raised.value)


@pytest.mark.parametrize("code", [400, 403, 422])
def test_permanent_failures_are_not_retried(code: int) -> None:
    sleeps: list[float] = []
    client = FlakyClient([api_error(code)], Service)
    with pytest.raises(PermanentApiError):
        Workloads(client, "p/s/demo", sleep=sleeps.append).selector(TARGET)  # type: ignore[arg-type]
    assert client.calls == 1 and sleeps == []


def test_a_missing_service_is_a_precondition_not_an_api_error() -> None:
    client = FlakyClient([api_error(404)], Service)
    with pytest.raises(PreconditionError, match="does not exist"):
        Workloads(client, "p/s/demo", sleep=lambda _s: None).selector(TARGET)  # type: ignore[arg-type]


OWNED = SimpleNamespace(metadata=SimpleNamespace(annotations={"pulumi-canary.io/owner": "p/s/demo"}))


def test_deleting_a_deployment_that_vanished_meanwhile_succeeds() -> None:
    """Read says it is there, the delete says 404 (someone else deleted it in between): fine."""
    calls: list[str] = []

    class Client:
        def get(self, *_args: Any, **_kwargs: Any) -> Any:
            calls.append("get")
            return OWNED

        def delete(self, *_args: Any, **_kwargs: Any) -> Any:
            calls.append("delete")
            raise api_error(404)

    Workloads(Client(), "p/s/demo", sleep=lambda _s: None).delete_canary(TARGET, "v2")  # type: ignore[arg-type]
    assert calls == ["get", "delete"]
