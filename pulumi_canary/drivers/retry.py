"""Bounded backoff with jitter for errors a retry can help, and the poll that waits for readiness."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from ..errors import ApiError

T = TypeVar("T")

ATTEMPTS = 5
FIRST_DELAY_SECONDS = 0.2
MAX_DELAY_SECONDS = 5.0


def with_retries(
    action: Callable[[], T], *, attempts: int = ATTEMPTS, sleep: Callable[[float], None] = time.sleep
) -> T:
    """Run ``action``; retry a retryable ``ApiError`` after a jittered backoff, ``attempts`` times at most."""
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except ApiError as error:
            if not error.retryable or attempt == attempts:
                raise
            ceiling = min(MAX_DELAY_SECONDS, FIRST_DELAY_SECONDS * 2 ** (attempt - 1))
            delay = random.uniform(0, ceiling)  # full jitter: many clients do not retry in step
            if error.retry_after_seconds:  # the API said how long to wait (throttling): respect it
                delay = min(MAX_DELAY_SECONDS, max(delay, error.retry_after_seconds))
            sleep(delay)
    raise AssertionError("unreachable: the loop returns or raises")


def wait_for_count(
    count: Callable[[bool], int],
    minimum: int,
    timeout_seconds: float,
    *,
    too_few: Callable[[int], Exception],
    sleep: Callable[[float], None] = time.sleep,
    every_seconds: float = 1.0,
) -> int:
    """Poll ``count(fresh)`` until it reaches ``minimum``; past the timeout raise ``too_few(last count)``.

    The first look passes ``fresh=False``: it may reuse this operation's read (the plan's view). Later
    polls ask again."""
    deadline = time.monotonic() + timeout_seconds
    fresh = False
    while True:
        found = count(fresh)
        if found >= minimum:
            return found
        if time.monotonic() >= deadline:
            raise too_few(found)
        sleep(every_seconds)
        fresh = True
