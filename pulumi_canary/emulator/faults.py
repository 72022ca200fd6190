"""Fault injection: make chosen API actions slow or fail, a given number of times.

Rules are consumed in the order they were added: a request fires the first pending rule whose
``action`` is its action (or ``"*"``), and that rule's ``count`` goes down by one; at zero it is gone.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

__all__ = ["ERROR_SHAPES", "FaultInjector", "FaultRule"]

ERROR_SHAPES = ("http", "success_false", "none")


@dataclass(frozen=True)
class FaultRule:
    """One injected fault.

    * ``error_shape``: ``"http"`` answers HTTP ``status`` (default 500) with JSON ``{Code: code, ...}``,
      which makes the SDK raise; ``"success_false"`` answers HTTP 200 with ``Success:false``, integer
      ``Code`` = ``status`` (default 400) and ``ErrorCode`` = ``code``; ``"none"`` only adds latency.
    * ``latency_seconds``: sleep before answering (also for ``"none"``, which then runs the action).
    * ``latency_after_action``: with ``"none"``, run the action first and only then sleep: the change is
      made but its answer comes late (a client that times out must find what its attempt did). By
      default the sleep comes first, like a request queued in front of the gateway.
    * ``retry_after_ms``: adds ``x-acs-retry-after``, which makes the SDK raise ``ThrottlingException``.

    Example: ``FaultRule(action="ApplyGatewayRoute", status=503, code="ServiceUnavailable", count=2)``.
    """

    action: str = "*"
    error_shape: str = "http"
    status: int | None = None
    code: str = "InternalError"
    message: str = "Injected fault."
    count: int = 1
    latency_seconds: float = 0.0
    latency_after_action: bool = False
    retry_after_ms: int | None = None

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> FaultRule:
        """Build a rule from JSON; unknown keys and wrong types raise ``ValueError``."""
        known = {item.name for item in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ValueError(f"unknown fault rule keys {unknown}; known keys are {sorted(known)}")
        rule = cls(**dict(raw))
        rule.validate()
        return rule

    def validate(self) -> None:
        if not isinstance(self.action, str) or not self.action:
            raise ValueError(f"action must be an action name or '*', got {self.action!r}")
        if self.error_shape not in ERROR_SHAPES:
            raise ValueError(f"error_shape must be one of {ERROR_SHAPES}, got {self.error_shape!r}")
        _check_int(self.count, "count", minimum=1)
        if self.status is not None:
            _check_int(self.status, "status", minimum=100)
        if self.error_shape == "http" and not 400 <= self.http_status <= 599:
            raise ValueError(f"an http fault needs a status of 400..599, got {self.http_status}")
        if not isinstance(self.latency_seconds, int | float) or self.latency_seconds < 0:
            raise ValueError(f"latency_seconds must be a number >= 0, got {self.latency_seconds!r}")
        if not isinstance(self.latency_after_action, bool):
            raise ValueError(f"latency_after_action must be true or false, got {self.latency_after_action!r}")
        if self.latency_after_action and self.error_shape != "none":
            raise ValueError('latency_after_action needs error_shape "none" (the action must run)')
        if self.retry_after_ms is not None:
            _check_int(self.retry_after_ms, "retry_after_ms", minimum=1)
        if not isinstance(self.code, str) or not isinstance(self.message, str):
            raise ValueError("code and message must be strings")

    @property
    def http_status(self) -> int:
        """The status this rule answers with (the body's integer ``Code`` for ``success_false``)."""
        if self.status is not None:
            return self.status
        return 500 if self.error_shape == "http" else 400

    def matches(self, action: str) -> bool:
        return self.action in ("*", action)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check_int(value: Any, what: str, *, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{what} must be an integer >= {minimum}, got {value!r}")


class FaultInjector:
    """The queue of pending fault rules (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []

    def add(self, rules: Iterable[FaultRule]) -> None:
        rules = list(rules)
        for rule in rules:
            rule.validate()
        with self._lock:
            self._rules.extend(rules)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def pending(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def take(self, action: str) -> FaultRule | None:
        """The rule that fires for this call of ``action``, if any (its count is consumed)."""
        with self._lock:
            for index, rule in enumerate(self._rules):
                if rule.matches(action):
                    if rule.count <= 1:
                        del self._rules[index]
                    else:
                        self._rules[index] = replace(rule, count=rule.count - 1)
                    return rule
            return None
