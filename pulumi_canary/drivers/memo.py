"""Reads answered again from memory within one operation, until a write that may change them.

A driver lives for one provider operation. Its plan was made from what it read at the start, so asking
the API the same question again before writing anything only costs round trips (and, on MSE, API quota).
Polls that wait for something to change ask with ``fresh=True``.
"""

from __future__ import annotations

import pickle
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
