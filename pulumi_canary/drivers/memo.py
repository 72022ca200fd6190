"""Reads answered again from memory: within one operation until a write that may change them
(``ReadMemo``), once across two operations of one command (``HandOff``), and findings the preview's
advice may rely on for a while (``Sightings``).

A driver lives for one provider operation. Its plan was made from what it read at the start, so asking
the API the same question again before writing anything only costs round trips (and, on MSE, API quota).
Polls that wait for something to change ask with ``fresh=True``.
"""

from __future__ import annotations

import pickle
import threading
import time
from collections.abc import Callable, Hashable
from typing import TypeVar, cast

T = TypeVar("T")
Key = tuple[Hashable, ...]
"""What was asked: its first item names the question (an action, ``get``, ``pods``...)."""


class ReadMemo:
    def __init__(self) -> None:
        # Answers are kept pickled: every caller gets its own copy to change as it likes, and a pickle
        # round trip costs a fraction of a deep copy for lists of many objects.
        self._answers: dict[Key, bytes] = {}

    def read(self, key: Key, fetch: Callable[[], T], *, fresh: bool = False) -> T:
        """``fetch()``'s answer for ``key``, from memory unless ``fresh``."""
        if fresh or key not in self._answers:
            answer = fetch()
            self._answers[key] = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
            return answer
        return cast(T, pickle.loads(self._answers[key]))  # bytes this memo pickled itself

    def forget(self, keep: Callable[[Key], bool] = lambda _key: False) -> None:
        """Drop the answers a write may have changed (all of them unless ``keep`` says otherwise)."""
        self._answers = {key: answer for key, answer in self._answers.items() if keep(key)}


class HandOff:
    """An answer one operation read, handed to the next operation that asks the same question, once,
    within ``window_seconds``; then it is gone, and the question goes to the API again.

    For reads that two resources make in one ``pulumi refresh``: a provider process lives for one
    command, and the engine reads every resource of the stack one after the other.
    """

    def __init__(self, window_seconds: float) -> None:
        self._window = window_seconds
        self._guard = threading.Lock()
        self._answers: dict[Hashable, tuple[float, object]] = {}

    def read(self, key: Hashable, fetch: Callable[[], T]) -> T:
        """The answer an earlier ``read`` of ``key`` handed on, else ``fetch()``'s (handed on in turn)."""
        now = time.monotonic()
        with self._guard:
            kept = self._answers.pop(key, None)
            self._answers = {k: v for k, v in self._answers.items() if now - v[0] < self._window}
        if kept is not None and now - kept[0] < self._window:
            return cast(T, kept[1])  # stored by this method from a fetch of the same key
        answer = fetch()
        with self._guard:
            self._answers[key] = (time.monotonic(), answer)
        return answer


class Sightings:
    """Things an operation found that stay found for ``window_seconds``, for any operation of the
    process to rely on: what only the preview's advice rests on, never what a write does."""

    def __init__(self, window_seconds: float) -> None:
        self._window = window_seconds
        self._guard = threading.Lock()
        self._seen: dict[Hashable, float] = {}

    def saw(self, key: Hashable) -> None:
        with self._guard:
            self._seen[key] = time.monotonic()

    def recently_seen(self, key: Hashable) -> bool:
        with self._guard:
            seen = self._seen.get(key)
        return seen is not None and time.monotonic() - seen < self._window
