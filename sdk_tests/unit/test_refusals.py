"""How the providers report failures to the engine, called as the engine calls them: check failures of
nested properties carry their path in the reason, and a ``CanaryError`` leaving any provider method is
formatted by ``traceback.format_exc`` (what pulumi's dynamic provider server sends to the CLI) as its
message alone, while any other exception keeps its traceback, in each of several threads at once."""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pulumi_canary.adapter import refusals
from pulumi_canary.adapter.providers import CanaryPolicyProvider, TrafficSplitProvider
from pulumi_canary.errors import CanaryError, InvalidInputError, NotReadyError

from .factories import split_props

PROVIDERS = [CanaryPolicyProvider, TrafficSplitProvider]
REPORTING = refusals._reporting_refusals(lambda: None).__code__


@pytest.fixture(autouse=True)
def _format_exc_restored(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The replacement stays for the life of a provider process; here it goes with each test."""
    monkeypatch.setattr(traceback, "format_exc", traceback.format_exc)
    yield


def formatted(call: Callable[[], Any]) -> str:
    """What the dynamic provider server sends the engine when ``call`` raises."""
    try:
        call()
    except Exception:
        return traceback.format_exc()
    raise AssertionError("the call was expected to raise")


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("method", refusals.PROVIDER_METHODS)
def test_every_method_the_engine_calls_reports_refusals(provider: type, method: str) -> None:
    assert getattr(provider, method).__code__ is REPORTING


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_refusal_is_its_message_alone(provider: type) -> None:
    with pytest.raises(InvalidInputError) as raised:
        provider().create({"__owner": "canarytest/test/demo"})
    text = formatted(lambda: provider().create({"__owner": "canarytest/test/demo"}))
    assert text == f"{raised.value}\n"


def test_a_real_bug_keeps_its_traceback() -> None:
    props = split_props()  # valid, but without the owner the resource class always sets
    formatted(lambda: TrafficSplitProvider().create({}))  # a refusal first: the replacement is in place

    text = formatted(lambda: TrafficSplitProvider().read("demo/split", props))

    assert text.startswith("Traceback (most recent call last):\n"), text
    assert "pulumi_canary/adapter/providers.py" in text and text.endswith("KeyError: '__owner'\n"), text


def test_each_thread_formats_its_own_exception() -> None:
    refusals.install_clean_format_exc()
    refusals.install_clean_format_exc()  # idempotent: installed once, not wrapped twice
    assert traceback.format_exc.__module__ == refusals.__name__
    start, results = threading.Barrier(8), []

    def handle(make: Callable[[], Exception]) -> None:
        start.wait()
        for _ in range(500):
            try:
                raise make()
            except Exception as error:
                results.append((error, traceback.format_exc()))

    def refusal() -> Exception:
        return NotReadyError("version v2 has 0 ready endpoint(s)")

    def bug() -> Exception:
        return ValueError("a bug")

    threads = [threading.Thread(target=handle, args=(refusal if i % 2 else bug,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 8 * 500
    for error, text in results:
        if isinstance(error, CanaryError):
            assert text == "version v2 has 0 ready endpoint(s)\n"
        else:
            assert text.startswith("Traceback (most recent call last):\n"), text
            assert text.endswith("ValueError: a bug\n"), text


@pytest.mark.parametrize(
    ("weights", "expected"),
    [
        ({"v1": 110, "v2": -10}, ("", "property weights.v1: must be a whole number from 0 to 100, got 110")),
        ({"v1": 90, "v2": 5}, ("weights", "weights must sum to exactly 100, got 95")),
    ],
)
def test_a_nested_check_failure_names_its_path_in_the_reason(
    weights: dict[str, int], expected: tuple[str, str]
) -> None:
    result = TrafficSplitProvider().check({}, split_props(weights=weights))
    failures = [(failure.property, failure.reason) for failure in result.failures]
    assert any(prop == expected[0] and reason.startswith(expected[1]) for prop, reason in failures), failures
