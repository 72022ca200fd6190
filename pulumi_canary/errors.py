"""The one exception tree of pulumi-canary.

::

    CanaryError                      every error this package raises on purpose
    ├── InvalidInputError            the program declares something impossible: (property, reason) pairs
    ├── ConfigurationError           pulumi-canary cannot be set up: no credentials, a broken kubeconfig...
    ├── PreconditionError            the live world does not allow the change (no pod carries the label...)
    │   └── RolloutHaltedError       this rollout failed before: raise ``retry`` to walk it again
    ├── OwnershipError               the object belongs to another stack/resource or another field manager
    ├── NotReadyError                a version has too few ready endpoints to receive traffic
    ├── RolloutFailedError           a rollout could not go on: the traffic went back to where it began
    │   ├── AnalysisFailedError      a step's metrics crossed a bound, or could not be measured
    │   └── RolloutDeadlineError     the rollout did not reach its target in progress_deadline_seconds
    └── ApiError                     a gateway or Kubernetes API call failed
        ├── TransientApiError        retrying can help (5xx, throttling, timeouts, conflicts)
        │   └── ChangedMeanwhileError  an optimistic write lost a race: read again, compute again
        └── PermanentApiError        retrying will not help (4xx, Success:false with a permanent code)

Every message says what was being done, on which object, and what to do next. ``ApiError`` carries the
operation, the target and the request id so a user can quote it to the cloud provider's support.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class CanaryError(Exception):
    """Base class: catch this to handle any error raised on purpose by pulumi-canary."""


@dataclass(frozen=True)
class Failure:
    """One problem with the declared inputs: the property path and a sentence saying why."""

    property: str
    reason: str

    def __str__(self) -> str:
        return f"{self.property}: {self.reason}"


class InvalidInputError(CanaryError):
    """The declared inputs are impossible; nothing was changed."""

    def __init__(self, failures: Sequence[Failure]) -> None:
        self.failures = tuple(failures)
        super().__init__("; ".join(str(failure) for failure in self.failures))


class ConfigurationError(CanaryError):
    """The stack or the environment does not let pulumi-canary reach a gateway or the cluster: missing
    credentials, an unreadable kubeconfig, a gateway kind no driver is registered for. Unlike a live-state
    problem it is never silenced, in ``preview`` either: the message names what to set."""


class PreconditionError(CanaryError):
    """The live state does not allow the declared change (checked before any write)."""


class OwnershipError(CanaryError):
    """The object is owned by someone else; pulumi-canary does not take it over silently."""


class NotReadyError(CanaryError):
    """A version would receive traffic but has too few ready endpoints."""


class RolloutFailedError(CanaryError):
    """A rollout could not go on at the canary's ``percent``. Raised by the step; the split's update
    sends the traffic back to where the rollout began, records the failure on the route, then raises it
    again saying so."""

    what = "the rollout"

    def __init__(self, version: str, percent: int, verdict: str) -> None:
        self.version, self.percent, self.verdict = version, percent, verdict
        super().__init__(f"{self.what} of version {version} at {percent}% failed: {verdict}")


class AnalysisFailedError(RolloutFailedError):
    """A rollout step's analysis failed: a metric crossed its bound, or could not be measured."""

    what = "the analysis"


class RolloutDeadlineError(RolloutFailedError):
    """A rollout did not reach its target within ``progress_deadline_seconds`` (a webhook that never
    approved, pods that were slow to get ready, holds longer than the deadline)."""


class RolloutHaltedError(PreconditionError):
    """The same rollout failed before: pulumi-canary does not walk it again until told to (``retry``)."""


class ApiError(CanaryError):
    """An API call failed. ``retryable`` says whether trying again can help."""

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        operation: str,
        target: str = "",
        code: str = "",
        status: int | None = None,
        request_id: str = "",
        retry_after_seconds: float | None = None,
    ) -> None:
        self.operation = operation
        self.target = target
        self.code = code
        self.status = status
        self.request_id = request_id
        self.retry_after_seconds = retry_after_seconds  # how long the API asked callers to wait, if it said
        details = [f"operation={operation}"]
        if target:
            details.append(f"target={target}")
        if code:
            details.append(f"code={code}")
        if status is not None:
            details.append(f"http_status={status}")
        if request_id:
            details.append(f"request_id={request_id}")
        super().__init__(f"{message} ({', '.join(details)})")


class TransientApiError(ApiError):
    """A failure that a retry with backoff can overcome."""

    retryable = True


class PermanentApiError(ApiError):
    """A failure that will repeat on retry; the message says what to fix."""


class ChangedMeanwhileError(TransientApiError):
    """An optimistic write lost a race; re-reading and computing again fixes it."""
