"""The live status of canary policies as rows, a table for people and JSON for machines (pure)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class VersionStatus:
    """One version of one policy's route, as the gateway reports it now."""

    policy: str
    gateway: str
    route_id: str
    version: str
    role: str  # stable | canary | other
    weight: int
    ready_endpoints: int
    rollout: dict[str, Any] | None = None
    """On the canary's row: how the last rollout of the policy's TrafficSplit ended (``RolloutRecord``)."""

    def rollout_cell(self) -> str:
        """``failed at 10% (target 50%, retry 0)``, ``succeeded at 50%``, or ``-``."""
        if not self.rollout:
            return "-"
        record = self.rollout
        where = f"at {record['percent']}%"
        if record["percent"] != record["target"]:
            where += f" (target {record['target']}%, retry {record['retry']})"
        return f"{record['status']} {where}"


def table(rows: list[VersionStatus]) -> str:
    headers = ("POLICY", "GATEWAY", "ROUTE", "VERSION", "ROLE", "WEIGHT", "READY", "ROLLOUT")
    cells = [
        (
            r.policy,
            r.gateway,
            r.route_id,
            r.version,
            r.role,
            f"{r.weight}%",
            str(r.ready_endpoints),
            r.rollout_cell(),
        )
        for r in rows
    ]
    widths = [max(len(text) for text in column) for column in zip(headers, *cells, strict=False)]
    lines = [
        "  ".join(text.ljust(width) for text, width in zip(line, widths, strict=True))
        for line in [headers, *cells]
    ]
    details = [f"{r.policy}: {rollout_line(r.rollout)}" for r in rows if r.rollout]
    return "\n".join(line.rstrip() for line in [*lines, *([""] if details else []), *details]) + "\n"


def rollout_line(record: dict[str, Any]) -> str:
    """The whole of a rollout record in one line: when, the retry, and the last analysis or verdict."""
    where = f"{record['status']} at {record['percent']}% (target {record['target']}%) at {record['at']}"
    detail = record["detail"] or "no detail kept"
    return f"last rollout of {record['canary_version']} {where}, retry {record['retry']}: {detail}"


def as_json(rows: list[VersionStatus]) -> str:
    return json.dumps([asdict(row) for row in rows], indent=2) + "\n"
