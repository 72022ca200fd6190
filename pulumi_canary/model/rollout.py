"""The outcome of a TrafficSplit's last rollout, kept on its route (pure).

A failed ``pulumi up`` keeps the resource's old outputs and inputs, so the next ``up`` would see the
same change and walk the same rollout again. The record of how a rollout ended therefore lives with the
route itself (an annotation on an HTTPRoute or VirtualService, the Description of an MSE route): the
planner reads it to refuse a failed rollout until ``retry`` says to walk it again, and ``status`` and
``pulumi refresh`` read it to report the last rollout.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal, cast

__all__ = ["MAX_DETAIL", "RolloutRecord", "RolloutStatus"]

RolloutStatus = Literal["succeeded", "failed"]
MAX_DETAIL = 300
"""Characters of the verdict kept: an MSE route's Description holds the record beside our marker."""


@dataclass(frozen=True)
class RolloutRecord:
    """How the last rollout of ``canary_version`` to ``target`` percent ended.

    - ``percent``: the canary's share where it ended (the target, or the step it failed at);
    - ``retry``: the split's ``retry`` when it ran; a failed rollout is walked again only for a higher one;
    - ``detail``: the last analysis' values when it succeeded, the verdict when it failed;
    - ``at``: when it ended (UTC, ISO 8601).
    """

    status: RolloutStatus
    canary_version: str
    target: int
    percent: int
    retry: int
    detail: str
    at: str

    def halts(self, canary_version: str, target: int, retry: int) -> bool:
        """Whether this record refuses a rise of ``canary_version`` to ``target`` at ``retry``: the same
        rollout failed, and nobody raised ``retry`` since."""
        return (
            self.status == "failed"
            and self.canary_version == canary_version
            and self.target == target
            and retry <= self.retry
        )

    def describe(self) -> str:
        """One line: ``failed at 10% on its way to 50% (2026-12-02T13:00:00Z, retry 0): ...``."""
        where = f"at {self.percent}% on its way to {self.target}%" if self.percent != self.target else (
            f"at {self.target}%"
        )
        return (
            f"the rollout of version {self.canary_version} {self.status} {where} "
            f"({self.at}, retry {self.retry}): {self.detail}"
        )

    def to_props(self) -> dict[str, Any]:
        return asdict(self)

    def to_text(self) -> str:
        """Compact JSON, for the route."""
        return json.dumps(self.to_props(), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> RolloutRecord:
        """Read back :meth:`to_props`; ``ValueError`` when it is damaged."""
        try:
            status = props["status"]
            if status not in ("succeeded", "failed"):
                raise ValueError(f"unknown rollout status {status!r}")
            numbers = [props[key] for key in ("target", "percent", "retry")]
            if not all(isinstance(number, int) and not isinstance(number, bool) for number in numbers):
                raise ValueError(f"the numbers of the rollout record are not whole: {numbers!r}")
            texts = [props[key] for key in ("canary_version", "detail", "at")]
            if not all(isinstance(text, str) for text in texts):
                raise ValueError("the texts of the rollout record are not strings")
        except KeyError as missing:
            raise ValueError(f"the rollout record lacks {missing}") from None
        return cls(
            status=cast(RolloutStatus, status),
            canary_version=props["canary_version"],
            target=props["target"],
            percent=props["percent"],
            retry=props["retry"],
            detail=props["detail"],
            at=props["at"],
        )

    @classmethod
    def from_text(cls, text: str | None) -> RolloutRecord | None:
        """What :meth:`to_text` wrote; None when there is none, or it is damaged (a record only reports
        and gates a retry: losing a damaged one must not stop the route from being managed)."""
        if not text:
            return None
        try:
            props = json.loads(text)
            return cls.from_props(props) if isinstance(props, Mapping) else None
        except ValueError:
            return None
