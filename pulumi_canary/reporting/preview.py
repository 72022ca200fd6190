"""Turn ``pulumi preview --json`` into a Markdown summary for a pull-request comment.

Per TrafficSplit: old and new weights with a small bar, and the rollout steps a rise walks. Per
CanaryPolicy: promotions and version or image changes. A loud warning for every replacement or delete
that moves traffic. Pure: a dict in, a string out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..state_keys import POLICY_TYPE, SPLIT_TYPE

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # how the engine prints a value known only after apply
BAR_WIDTH = 20
REPLACING = ("replace", "create-replacement", "delete-replaced")


@dataclass
class Change:
    """One canary resource's step in the preview."""

    kind: str  # "policy" or "split"
    name: str
    op: str
    old: Mapping[str, Any]
    new: Mapping[str, Any]
    warnings: list[str] = field(default_factory=list)


def canary_changes(preview: Mapping[str, Any]) -> list[Change]:
    changes: dict[str, Change] = {}
    for step in preview.get("steps") or []:
        urn = str(step.get("urn", ""))
        kind = "policy" if urn.split("::")[-2].endswith(POLICY_TYPE) else "split"
        if not urn.split("::")[-2].endswith((POLICY_TYPE, SPLIT_TYPE)):
            continue
        old = (step.get("oldState") or {}).get("outputs") or {}
        new = (step.get("newState") or {}).get("inputs") or {}
        name = urn.split("::")[-1]
        previous = changes.get(urn)
        op = "replace" if previous is not None or step.get("op") in REPLACING else str(step.get("op"))
        changes[urn] = Change(
            kind, name, op, previous.old if previous else old, new or (previous.new if previous else {})
        )
    return list(changes.values())


def known(value: Any) -> bool:
    return value is not None and value != UNKNOWN


def split_weights(props: Mapping[str, Any]) -> dict[str, int] | None:
    """The percentages a split's props declare (``weights`` or ``canary_weight``), if known."""
    weights = props.get("weights")
    if isinstance(weights, Mapping) and all(known(v) for v in weights.values()):
        return {str(k): int(v) for k, v in weights.items()}
    stable, canary, share = (
        props.get("stable_version"),
        props.get("canary_version"),
        props.get("canary_weight"),
    )
    if isinstance(share, int | float) and known(stable) and known(canary):
        return {str(stable): 100 - int(share), str(canary): int(share)}
    return None


def bar(percent: int) -> str:
    filled = round(percent * BAR_WIDTH / 100)
    return "█" * filled + "░" * (BAR_WIDTH - filled)


def split_section(change: Change) -> list[str]:
    old = split_weights(change.old) if change.op != "create" else None
    new = split_weights(change.new) if change.op != "delete" else None
    lines = [
        f"### TrafficSplit `{change.name}` ({change.op})",
        "",
        "| version | before | after | |",
        "| --- | ---: | ---: | --- |",
    ]
    versions = list(dict.fromkeys([*(old or {}), *(new or {})]))
    for version in versions:
        before = f"{old[version]}%" if old and version in old else "-"
        after = f"{new[version]}%" if new and version in new else ("unknown" if new is None else "-")
        lines.append(f"| `{version}` | {before} | {after} | `{bar(new.get(version, 0)) if new else ''}` |")
    if new is None and change.op != "delete":
        lines += ["", "_The new weights depend on values known only during the update._"]
    walk = rollout_line(change.new, old, new) if new is not None else None
    if walk:
        lines += ["", walk, *analysis_lines(change.new), *gate_lines(change.new)]
    if change.op == "delete":
        stable = change.old.get("stable_version")
        lines += [
            "",
            f"> **Warning:** deleting this split sends 100% of the route back to stable `{stable}`.",
        ]
    elif change.op == "replace":
        lines += [
            "",
            "> **Warning:** this split is replaced: traffic returns to 100% stable between the delete "
            "and the create.",
        ]
    return [*lines, ""]


def rollout_line(props: Mapping[str, Any], old: Mapping[str, int] | None, new: Mapping[str, int]) -> str:
    """How the canary's share rises, when declared steps lie on the way (as the provider walks them)."""
    canary = props.get("canary_version")
    steps = props.get("steps")
    if not known(canary) or not isinstance(steps, list):
        return ""
    start, target = (old or {}).get(str(canary), 0), new.get(str(canary), 0)
    held = [
        step for step in steps
        if isinstance(step, Mapping) and isinstance(step.get("weight"), int | float)
        and start < step["weight"] < target
    ]
    if not held:
        return ""
    stops = [f"{int(step['weight'])}% (hold {int(step.get('pause_seconds') or 0)}s)" for step in held]
    return f"- rollout of `{canary}`: {start}% → " + " → ".join([*stops, f"{target}%"])


def analysis_lines(props: Mapping[str, Any]) -> list[str]:
    """What is measured at each step and at the target, and what makes the rollout go back."""
    analysis = props.get("analysis")
    if not isinstance(analysis, Mapping):
        return ["- no analysis: each step only holds"]
    bounds = []
    for metric in analysis.get("metrics") or []:
        if isinstance(metric, Mapping):
            limits = [f"≥ {metric['min']}" if metric.get("min") is not None else "",
                      f"≤ {metric['max']}" if metric.get("max") is not None else ""]
            bounds.append(f"`{metric.get('name')}` {' and '.join(limit for limit in limits if limit)}")
    count, every = analysis.get("count", 3), analysis.get("interval_seconds", 10)
    return [
        f"- analysis at each step and at the target: {', '.join(bounds)}; {count} measurement(s) every "
        f"{every}s; a failure sends the traffic back to where this update began"
    ]


def gate_lines(props: Mapping[str, Any]) -> list[str]:
    """The webhooks asked before each rise, and the deadline that bounds the walk."""
    hooks = [f"`{hook.get('name')}`" for hook in props.get("webhooks") or [] if isinstance(hook, Mapping)]
    deadline = props.get("progress_deadline_seconds")
    within = f"{deadline}s" if known(deadline) and deadline else "progress_deadline_seconds (600s by default)"
    lines = [f"- before each rise: {', '.join(hooks)} must answer 2xx"] if hooks else []
    return [*lines, f"- the walk must reach its target within {within}, or the traffic goes back"]


def policy_section(change: Change) -> list[str]:
    old, new = change.old, change.new
    lines = [f"### CanaryPolicy `{change.name}` ({change.op})", ""]
    old_pair = (old.get("stable_version"), old.get("canary_version"))
    new_pair = (new.get("stable_version"), new.get("canary_version"))
    if change.op == "update" and old_pair != new_pair:
        lines.append(promotion_line(old_pair, new_pair))
    elif change.op == "create":
        lines.append(
            f"- new policy: stable `{new_pair[0]}`, canary `{new_pair[1]}`; 100% to stable on creation"
        )
    old_image = (old.get("canary_deployment") or {}).get("image")
    new_image = (new.get("canary_deployment") or {}).get("image")
    if change.op == "update" and old_image != new_image:
        lines.append(f"- canary image: `{old_image}` → `{new_image}`")
    if change.op == "delete":
        lines.append(
            f"> **Warning:** deleting this policy moves ALL traffic to stable `{old_pair[0]}`, then "
            f"removes canary `{old_pair[1]}`."
        )
    elif change.op == "replace":
        lines.append(
            f"> **Warning:** this policy is REPLACED: all traffic goes to stable `{old_pair[0]}`, the "
            "route is deleted or restored, then created again."
        )
    return [*lines, ""]


def promotion_line(old: tuple[Any, Any], new: tuple[Any, Any]) -> str:
    if new[0] == old[1] and new[1] == old[0]:
        return f"- **promotion (rotate)**: `{old[1]}` becomes stable, `{old[0]}` is the next canary"
    if new[0] == old[1]:
        return f"- **promotion (new label value)**: `{old[1]}` becomes stable, next canary `{new[1]}`"
    if new[0] == old[0]:
        return f"- new canary: `{old[1]}` → `{new[1]}` (stable stays `{old[0]}`)"
    return f"- versions: stable `{old[0]}` → `{new[0]}`, canary `{old[1]}` → `{new[1]}`"


def render(preview: Mapping[str, Any]) -> str:
    """The Markdown report of one ``pulumi preview --json`` document."""
    changes = [c for c in canary_changes(preview) if c.op != "same"]
    summary = preview.get("changeSummary") or {}
    counts = ", ".join(f"{count} {op}" for op, count in sorted(summary.items())) or "no changes"
    lines = ["## pulumi-canary preview", "", f"Resources: {counts}.", ""]
    if not changes:
        return "\n".join([*lines, "No canary policy or traffic split changes.", ""])
    for change in changes:
        lines += split_section(change) if change.kind == "split" else policy_section(change)
    return "\n".join(lines)
