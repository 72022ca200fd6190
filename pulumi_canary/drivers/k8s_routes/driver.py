"""The route driver both Kubernetes gateways share: find, create, adopt, rewrite, restore, delete.

A route the policy created is ours entirely. An adopted route keeps the entries around the one the
policy took over; its snapshot (kept in the route's annotation and in the policy's outputs) records the
original entries, the index taken over and the field managers that owned the list, so that restore puts
back the values AND hands the ownership back (see ``managed_fields``). What differs between an HTTPRoute
and a VirtualService comes from a ``RouteDialect``, the versions from a ``VersionStore``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ...errors import OwnershipError, PreconditionError
from ...model import RolloutRecord, RouteMatchSpec
from ...model.live import LiveRoute, RouteSnapshot
from ..workloads import Workloads
from .adoption import Adoption, adoption_of, compose_entries, entries_of, entry_to_adopt, our_entries
from .dialect import RouteDialect, RouteIntent, VersionStore
from .managed_fields import adopt_patch, claimants, release_patch
from .marks import ROLLOUT_ANNOTATION, Manifest, route_name_for, route_owner, stored_rollout, stored_snapshot
from .objects import Objects, optimistic


def ready_by_version(workloads: Workloads, intent: RouteIntent) -> dict[str, int]:
    """Ready pods of the Service per value of the label key; empty while the Service does not exist."""
    try:
        pods = workloads.pods(intent.target)
    except PreconditionError:
        return {}
    ready: dict[str, int] = {}
    for labels, is_ready in pods:
        value = labels.get(intent.label_key)
        if value is not None:
            ready[value] = ready.get(value, 0) + (1 if is_ready else 0)
    return ready


class RouteDriver:
    """The route half of a Kubernetes gateway driver, for one route kind (``dialect``), one Service and
    one owner; ``versions`` defines the versions (Services or subsets) the route sends traffic to."""

    def __init__(
        self,
        routes: Objects,
        dialect: RouteDialect,
        versions: VersionStore,
        workloads: Workloads,
        intent: RouteIntent,
    ) -> None:
        self.routes = routes
        self.dialect = dialect
        self.versions = versions
        self.workloads = workloads
        self.intent = intent
        self.namespace = intent.service.namespace

    def missing_gateways(self) -> list[tuple[str, str]]:
        missing: list[tuple[str, str]] = []
        for gateway in self.dialect.gateway_objects():
            objects = Objects(self.workloads.client, gateway.resource, gateway.kind, gateway.namespace)
            if objects.get(gateway.name) is None:
                reason = (
                    f"{gateway.kind} {gateway.namespace}/{gateway.name} does not exist: create it first, or, "
                    "if this program creates it, pass its name from that resource's outputs so that the "
                    "check waits for it"
                )
                missing.append((gateway.field, reason))
        return missing

    # ---- versions ----------------------------------------------------------------------------------

    def ensure_versions(self, wanted: Mapping[str, Mapping[str, str]]) -> None:
        self.versions.ensure(wanted)

    def remove_version(self, name: str) -> None:
        self.versions.remove(name)

    def wait_ready(self, version: str, minimum: int, timeout_seconds: float) -> int:
        return self.workloads.wait_ready(self.intent.target, version, minimum, timeout_seconds)

    # ---- reading -----------------------------------------------------------------------------------

    def _entries(self, route: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        return entries_of(route, self.dialect.entries_field)

    def _entry_to_adopt(self, entries: Sequence[Mapping[str, Any]], match: RouteMatchSpec) -> int | None:
        return entry_to_adopt(entries, match, self.dialect.entry_with_path)

    def live(self, match: RouteMatchSpec, route_id: str | None, *, readiness: bool = True) -> LiveRoute:
        versions = self.versions.labels_by_version()
        # Counting ready pods costs a list of the Service's pods.
        ready = ready_by_version(self.workloads, self.intent) if readiness else {}
        route = self._locate(match, route_id)
        if route is None:
            return LiveRoute(versions=versions, ready_endpoints=ready)
        owner = route_owner(route["metadata"], self.intent.owner)
        snapshot = stored_snapshot(route["metadata"]) if owner == "self" else None
        weighted = self._weighted(route, owner, snapshot, match)
        return LiveRoute(
            route_id=route["metadata"]["name"],
            owner=owner,
            versions=versions,
            weights=self.dialect.weights_of(weighted, self.dialect.target_names(list(versions))),
            ready_endpoints=ready,
            original=snapshot,
            rollout=RolloutRecord.from_text(stored_rollout(route["metadata"])) if owner == "self" else None,
        )

    def _weighted(
        self, route: Manifest, owner: str, snapshot: RouteSnapshot | None, match: RouteMatchSpec
    ) -> Mapping[str, Any] | None:
        """Our weighted entry on a route we hold; on any other route, the entry we would take over."""
        entries = self._entries(route)
        if owner == "self":
            ours = our_entries(adoption_of(snapshot), entries)
            return ours[-1] if ours else None
        index = self._entry_to_adopt(entries, match)
        return None if index is None else entries[index]

    def _locate(self, match: RouteMatchSpec, route_id: str | None) -> Manifest | None:
        if route_id is not None:
            found = self.routes.get(route_id)
            if found is not None:
                return found
        return self.find_route(match)

    def find_route(self, match: RouteMatchSpec) -> Manifest | None:
        """Our own route (a retried create), else a route to adopt: by name, else one on the same Gateway
        (hosts) with an entry on the same path. Only the Service's namespace is searched."""
        routes = sorted(self.routes.all(), key=lambda route: str(route["metadata"]["name"]))
        for route in routes:
            if route_owner(route["metadata"], self.intent.owner) == "self":
                return route
        if match.name is not None:
            return next((route for route in routes if route["metadata"]["name"] == match.name), None)
        for route in routes:
            if (
                self.dialect.is_candidate(route)
                and self.dialect.entry_with_path(self._entries(route), match) is not None
            ):
                return route
        return None

    # ---- writing -----------------------------------------------------------------------------------

    def _where(self, name: str) -> str:
        return f"{self.dialect.kind} {self.namespace}/{name}"

    def _require_own(self, route_id: str) -> Manifest:
        route = self.routes.get(route_id)
        if route is None:
            raise PreconditionError(
                f"{self._where(route_id)} no longer exists: run `pulumi refresh`, then `pulumi up` to "
                "recreate it"
            )
        if route_owner(route["metadata"], self.intent.owner) != "self":
            raise PreconditionError(
                f"{self._where(route_id)} does not carry this policy's ownership mark: run "
                "`pulumi refresh`, then `pulumi up`"
            )
        return route

    def _write(
        self,
        route: Manifest,
        match: RouteMatchSpec,
        targets: Sequence[Mapping[str, Any]],
        rollout: str | None = None,
    ) -> None:
        """Apply our entries with ``targets``; the route keeps its rollout record unless given another."""
        name = route["metadata"]["name"]
        snapshot = stored_snapshot(route["metadata"])
        adoption = adoption_of(snapshot)
        base = adoption.base if adoption is not None else {}
        entries = compose_entries(adoption, self.dialect.our_entries(base, match, targets))
        limit = self.dialect.max_entries
        if limit is not None and len(entries) > limit:
            raise PreconditionError(
                f"{self._where(name)} would need {len(entries)} {self.dialect.entries_field} with the canary "
                f"header one, more than the {limit} allowed: remove canary_headers or an entry"
            )
        if snapshot is None:
            manifest = self.dialect.created_manifest(name, entries)
        else:
            manifest = self.dialect.adopted_manifest(name, snapshot, entries)
        # Server-side apply drops what our field manager no longer sends: the record goes along each time.
        record = rollout or stored_rollout(route["metadata"])
        if record:
            manifest["metadata"]["annotations"][ROLLOUT_ANNOTATION] = record
        self.routes.apply(manifest)

    def create_route(self, match: RouteMatchSpec, weights: Mapping[str, int]) -> str:
        existing = self.find_route(match)
        if existing is not None and route_owner(existing["metadata"], self.intent.owner) == "self":
            name = str(existing["metadata"]["name"])
            self.set_weights(name, weights)  # an earlier attempt created it
            return name
        name = match.name or route_name_for(self.intent.service.name, self.intent.owner)
        entries = self.dialect.our_entries({}, match, self.dialect.targets_for(weights))
        self.routes.apply(self.dialect.created_manifest(name, entries))
        return name

    def adopt_route(self, route_id: str, match: RouteMatchSpec) -> RouteSnapshot:
        return optimistic(lambda: self._adopt(route_id, match))

    def _adopt(self, route_id: str, match: RouteMatchSpec) -> RouteSnapshot:
        route = self.routes.get(route_id)
        if route is None:
            raise PreconditionError(f"{self._where(route_id)} to adopt does not exist")
        owner = route_owner(route["metadata"], self.intent.owner)
        if owner == "other":
            raise OwnershipError(
                f"{self._where(route_id)} belongs to another pulumi-canary policy: release it there "
                "first, or give this policy a different route"
            )
        stored = stored_snapshot(route["metadata"]) if owner == "self" else None
        if stored is not None:
            return stored  # adopted by an earlier attempt
        snapshot = self._snapshot(route, match)
        field = self.dialect.entries_field
        self.routes.patch_json(route_id, adopt_patch(route, field, self.intent.owner, snapshot))
        # The adopted entry keeps its targets (traffic does not move yet); it takes the policy's match.
        base = Adoption.from_snapshot(snapshot).base
        self._write(self._require_own(route_id), match, self.dialect.targets_of(base))
        return snapshot

    def _snapshot(self, route: Manifest, match: RouteMatchSpec) -> RouteSnapshot:
        name = route["metadata"]["name"]
        if not self.dialect.is_candidate(route):
            # Adopted by name: its parents/hosts stay as they are, so a mismatch would route elsewhere.
            raise PreconditionError(
                f"{self._where(name)} is not {self.dialect.candidate_description()}: adopt a route that "
                "is, or change the policy's gateway to the one this route uses"
            )
        entries = self._entries(route)
        index = self._entry_to_adopt(entries, match)
        if index is None:
            wanted = f"the path {match.path!r}" if match.path is not None else "route.path"
            raise PreconditionError(
                f"{self._where(name)} has {len(entries)} {self.dialect.entries_field} entries and none is a "
                f"plain match on {wanted}: give route.path equal to the path the policy should take over"
            )
        problem = self.dialect.unsplittable(entries[index])
        if problem is not None:
            raise PreconditionError(f"entry {index} of {self._where(name)} cannot be split: {problem}")
        names = self.dialect.target_names(list(self.versions.labels_by_version()))
        referenced = sorted(self.dialect.weights_of(entries[index], names))
        managed = route["metadata"].get("managedFields") or []
        adoption = Adoption(tuple(entries), index, claimants(managed, self.dialect.entries_field))
        return RouteSnapshot(route_id=name, referenced_versions=tuple(referenced), data=adoption.to_data())

    def update_route(self, route_id: str, match: RouteMatchSpec, rollout: str | None = None) -> None:
        route = self._require_own(route_id)
        ours = our_entries(adoption_of(stored_snapshot(route["metadata"])), self._entries(route))
        self._write(route, match, self.dialect.targets_of(ours[-1]) if ours else [], rollout)

    def record_rollout(self, route_id: str, record: RolloutRecord) -> None:
        self.update_route(route_id, self.intent.route, record.to_text())

    def set_weights(self, route_id: str, weights: Mapping[str, int]) -> None:
        self._write(self._require_own(route_id), self.intent.route, self.dialect.targets_for(weights))

    def restore_route(self, original: RouteSnapshot) -> None:
        optimistic(lambda: self._restore(original))

    def _restore(self, original: RouteSnapshot) -> None:
        route = self.routes.get(original.route_id)
        if route is None or route_owner(route["metadata"], self.intent.owner) != "self":
            return  # gone, or restored by an earlier attempt
        # The copy on the route is the exact JSON written when it was adopted; the one from the outputs
        # went through Pulumi's number conversion.
        original = stored_snapshot(route["metadata"]) or original
        adoption = Adoption.from_snapshot(original)
        manifest = self.dialect.adopted_manifest(original.route_id, original, list(adoption.entries))
        restored = self.routes.apply(manifest)  # the values first, while we still own them
        patch = release_patch(restored, self.dialect.entries_field, adoption.claimants)
        self.routes.patch_json(original.route_id, patch)

    def release_route(self, route_id: str) -> None:
        route = self.routes.get(route_id)
        if route is None or route_owner(route["metadata"], self.intent.owner) != "self":
            return
        adoption = adoption_of(stored_snapshot(route["metadata"]))
        claimed = adoption.claimants if adoption is not None else ()
        self.routes.patch_json(route_id, release_patch(route, self.dialect.entries_field, claimed))

    def delete_route(self, route_id: str) -> None:
        route = self.routes.get(route_id)
        if route is None or route_owner(route["metadata"], self.intent.owner) != "self":
            return
        snapshot = stored_snapshot(route["metadata"])
        if snapshot is not None:
            # Adopted (its mark says so even when the outputs were lost): deleting it would destroy the
            # user's route, so give it back instead.
            self.restore_route(snapshot)
            return
        self.routes.delete(route_id)
