"""The entry list of an adopted route: what it was, which entry the policy took over, and who owned it.

A route object holds an ordered list of entries (``spec.rules`` / ``spec.http``). On an adopted route the
policy replaces ONE entry by its own (a header entry and the weighted one) and keeps the others as they
are; the snapshot of the original list tells later operations where ours are (pure).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ...errors import PreconditionError
from ...model import RouteMatchSpec
from ...model.live import RouteSnapshot
from ...model.numbers import whole_numbers
from .marks import Manifest

Entries = Sequence[Mapping[str, Any]]


@dataclass(frozen=True)
class Adoption:
    """The entries of an adopted route as they were, the one the policy took over, and who owned them."""

    entries: tuple[Mapping[str, Any], ...]
    index: int
    claimants: tuple[Mapping[str, Any], ...] = ()

    def to_data(self) -> Manifest:
        return {"entries": list(self.entries), "index": self.index, "claimants": list(self.claimants)}

    @classmethod
    def from_snapshot(cls, snapshot: RouteSnapshot) -> Adoption:
        data = whole_numbers(snapshot.data)
        entries, index = data.get("entries"), data.get("index")
        if not isinstance(entries, list) or not isinstance(index, int) or not 0 <= index < len(entries):
            raise PreconditionError(
                f"the saved original of route {snapshot.route_id} is damaged: it has no entry list and "
                "index; restore the route by hand"
            )
        return cls(tuple(entries), index, tuple(data.get("claimants") or ()))

    @property
    def base(self) -> Mapping[str, Any]:
        """The entry the policy took over, as it was."""
        return self.entries[self.index]

    def compose(self, ours: Entries) -> list[Mapping[str, Any]]:
        """The original entries with the adopted one replaced by ``ours`` (in order)."""
        return [*self.entries[: self.index], *ours, *self.entries[self.index + 1 :]]

    def ours(self, current: Entries) -> list[Mapping[str, Any]]:
        """The entries of ``current`` that took the adopted entry's place."""
        suffix = len(self.entries) - self.index - 1
        return list(current[self.index : len(current) - suffix])


def compose_entries(adoption: Adoption | None, ours: Entries) -> list[Mapping[str, Any]]:
    return list(ours) if adoption is None else adoption.compose(ours)


def our_entries(adoption: Adoption | None, current: Entries) -> list[Mapping[str, Any]]:
    return list(current) if adoption is None else adoption.ours(current)


def adoption_of(snapshot: RouteSnapshot | None) -> Adoption | None:
    return None if snapshot is None else Adoption.from_snapshot(snapshot)


def entry_to_adopt(
    entries: Entries, match: RouteMatchSpec, with_path: Callable[[Entries, RouteMatchSpec], int | None]
) -> int | None:
    """The entry a policy takes over: the one on its path (``with_path`` finds it), else the only one
    there is (a route adopted by name)."""
    found = with_path(entries, match)
    if found is None and len(entries) == 1:
        return 0
    return found


def entries_of(route: Mapping[str, Any], field: str) -> list[Mapping[str, Any]]:
    """The entries of a route object: its ``spec.<field>`` list."""
    return list((route.get("spec") or {}).get(field) or [])
