"""What a gateway harness reads back from the real system, as plain values the conformance tests compare.

``Routing`` is where a route sends requests: the weighted entry's versions and percentages, in the
order the gateway stores them (stable first), and the header entry that sends tagged requests to the
canary. ``Adoptable`` is a route made by hand before the policy, with what restore must bring back.
``HandEdit`` is a change of the weights made outside Pulumi (the MSE console, another field manager).
``split_outputs`` is the other side: what the stack's state says the TrafficSplit found.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "OWNER",
    "Adoptable",
    "HandEdit",
    "HeaderRoute",
    "LeftBehindError",
    "Routing",
    "left_behind",
    "split_outputs",
]

OWNER = "canarytest/test/demo"
"""The ownership marker of every test's policy: project/stack/resource of the inline stacks."""


class LeftBehindError(AssertionError):
    """Something of the policy's is still on the gateway after its destroy."""


def left_behind(found: Any, expected: Any, what: str) -> None:
    """Raise ``LeftBehindError`` unless ``found`` (what is left of ``what``) is ``expected``."""
    if found != expected:
        raise LeftBehindError(f"{what} after destroy: {found!r}, expected {expected!r}")


@dataclass(frozen=True)
class HeaderRoute:
    """Requests carrying all of ``headers`` (exact values) go to ``version`` only."""

    headers: tuple[tuple[str, str], ...]
    version: str

    @classmethod
    def of(cls, headers: Mapping[str, str], version: str) -> HeaderRoute:
        return cls(tuple(sorted(headers.items())), version)


@dataclass(frozen=True)
class Routing:
    """What the policy's route does with requests: ``weights`` in stored order, and the header route."""

    weights: tuple[tuple[str, int], ...]
    header: HeaderRoute | None = None

    @classmethod
    def of(
        cls,
        weights: Mapping[str, int],
        header_to: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Routing:
        """``Routing.of({"v1": 90, "v2": 10}, "v2", {"x-canary": "always"})``."""
        header = HeaderRoute.of(headers or {}, header_to) if header_to is not None else None
        return cls(tuple(weights.items()), header)


@dataclass(frozen=True)
class Adoptable:
    """A route another tool made: how a policy names it, the id the policy reports, and its state before."""

    match: Mapping[str, Any]
    """The ``RouteMatch`` arguments that find it (``path``, or ``name`` and ``path``)."""
    route_id: str
    """What the policy's ``route_id`` output must be once it is adopted."""
    before: Any
    """The route (and what stands around it) as restore must bring it back."""


def _nobody() -> list[tuple[str, str]]:
    return []


def _nothing() -> None:
    pass


@dataclass(frozen=True)
class HandEdit:
    """Weights changed outside Pulumi. Where the system records who owns a field (Kubernetes'
    managedFields), the editor owns the weights afterwards and pulumi-canary, which never forces, refuses
    to write them until that claim is gone."""

    claim: tuple[str, str] | None = None
    """(field manager, operation) that owns the weights after the edit; None where nothing records it."""
    claimed_field: str = ""
    """The field claimed, as pulumi-canary's refusal names it (``.spec.rules``)."""
    owners: Callable[[], list[tuple[str, str]]] = _nobody
    """Who owns the weights now, read from the system."""
    release: Callable[[], None] = _nothing
    """Remove the editor's claim, as its owner would once told by the refusal."""


def split_outputs(stack: Any) -> dict[str, Any]:
    """The TrafficSplit's outputs as the stack's state holds them."""
    resources = stack.export_stack().deployment["resources"]
    (split,) = [r for r in resources if r["urn"].endswith("TrafficSplit::demo")]
    return dict(split["outputs"])
