"""Provider operations take turns per route and per Service only; reads shared across operations."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from typing import Any

from pulumi_canary.adapter.serial import taking_turns, turn_keys
from pulumi_canary.drivers.memo import HandOff, Sightings


def _props(path: str, service: str) -> dict[str, Any]:
    return {
        "gateway": {"kind": "gateway_api", "gateway": "gw", "namespace": "default"},
        "service": {"name": service, "namespace": "default", "port": 80},
        "route": {"path": path},
    }


def _overlap(first: dict[str, Any], second: dict[str, Any]) -> bool:
    """Whether two operations on these inputs ran at the same time (each holds its turn 0.2 s)."""
    inside = threading.Semaphore(0)
    met = threading.Event()
    running = [0]
    guard = threading.Lock()

    @taking_turns
    def operation(_self: object, _props: dict[str, Any]) -> None:
        with guard:
            running[0] += 1
            if running[0] == 2:
                met.set()
        inside.release()
        met.wait(0.2)
        with guard:
            running[0] -= 1

    threads = [threading.Thread(target=operation, args=(None, props)) for props in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return met.is_set()


def test_operations_on_different_routes_and_services_run_side_by_side() -> None:
    assert _overlap(_props("/a", "svc-a"), _props("/b", "svc-b"))


def test_two_policies_on_one_path_take_turns() -> None:
    assert not _overlap(_props("/same", "svc-a"), _props("/same", "svc-b"))


def test_two_policies_of_one_service_take_turns() -> None:
    assert not _overlap(_props("/a", "svc"), _props("/b", "svc"))


def test_the_same_path_on_two_gateways_does_not_share_a_turn() -> None:
    other = _props("/same", "svc") | {"gateway": {"kind": "gateway_api", "gateway": "gw2"}}
    assert turn_keys(_props("/same", "svc")).isdisjoint(turn_keys(other))


def test_an_update_holds_the_turns_of_its_old_and_new_route() -> None:
    held = threading.Event()
    release = threading.Event()

    @taking_turns
    def update(_self: object, _id: str, _olds: dict[str, Any], _news: dict[str, Any]) -> None:
        held.set()
        release.wait(5)

    mover = threading.Thread(target=update, args=(None, "id", _props("/old", "s1"), _props("/new", "s2")))
    mover.start()
    assert held.wait(5)
    started = time.monotonic()
    timer = threading.Timer(0.3, release.set)
    timer.start()
    taking_turns(lambda _self, _props: None)(None, _props("/old", "s3"))
    assert time.monotonic() - started >= 0.25  # waited for the update's turn of /old
    mover.join()


def test_a_hand_off_is_taken_once() -> None:
    reads: list[str] = []
    hand_off = HandOff(window_seconds=60)

    def fetch() -> str:
        reads.append("read")
        return f"answer {len(reads)}"

    assert hand_off.read("route", fetch) == "answer 1"
    assert hand_off.read("route", fetch) == "answer 1"  # the second resource of the pair takes it
    assert hand_off.read("route", fetch) == "answer 2"  # gone once taken: asked again
    assert hand_off.read("other", fetch) == "answer 3"


def test_a_hand_off_older_than_its_window_is_not_taken() -> None:
    hand_off = HandOff(window_seconds=0.05)
    answers = iter(["first", "second"])
    hand_off.read("route", lambda: next(answers))
    time.sleep(0.1)
    assert hand_off.read("route", lambda: next(answers)) == "second"


RACE = """
import sys, threading
sys.setswitchinterval(1e-6)
from pulumi_canary.drivers.kube import prime_decoders
from lightkube.core.decoders import decode_list
from lightkube.resources.core_v1 import Pod
barrier = threading.Barrier(8)
def first_use():
    barrier.wait()
    prime_decoders()
    decode_list(b'{"items": [{"metadata": {"name": "p", "labels": {"version": "v1"}}}]}', Pod)
threads = [threading.Thread(target=first_use) for _ in range(8)]
[t.start() for t in threads]
[t.join() for t in threads]
print("decoded")
"""


def test_the_decoders_can_be_primed_from_many_threads_at_once() -> None:
    result = subprocess.run([sys.executable, "-c", RACE], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "decoded"


def test_a_sighting_holds_for_its_window_only() -> None:
    seen = Sightings(window_seconds=0.05)
    assert not seen.recently_seen("gw")
    seen.saw("gw")
    assert seen.recently_seen("gw") and not seen.recently_seen("other")
    time.sleep(0.1)
    assert not seen.recently_seen("gw")
