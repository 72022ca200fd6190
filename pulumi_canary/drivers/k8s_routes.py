"""What the Gateway API and Istio drivers share: ownership marks, server-side apply, adoption bookkeeping.

A route object (an HTTPRoute or a VirtualService) holds an ordered list of entries (``spec.rules`` /
``spec.http``) that the apiserver treats as ONE atomic field for server-side apply: whoever applies the
list owns all of it. A route the policy created is ours entirely. An adopted route keeps the entries
around the one the policy took over; its snapshot (kept in the route's annotation and in the policy's
outputs) records the original entries, the index taken over and the field managers that owned the list,
so that restore puts back the values AND hands the ownership back.

Every value is written with server-side apply under the field manager ``pulumi-canary``, never forced:
a field another manager owns is an ``OwnershipError``. Adoption is the one hand-over of ownership, and
it is explicit: one JSON patch, valid only at the resourceVersion the snapshot was read at, marks the
route and moves the claim on the entry list from the managers that held it to pulumi-canary (SSA alone
cannot: forcing takes a field only when its value changes, and changing it is not adoption's job).
Restore and release move the claim back the same way.
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import OwnershipError, PreconditionError, TransientApiError
from ..model.live import LiveRoute, RouteOwner, RouteSnapshot
from ..model.naming import default_route_name, owner_digest
from ..model.numbers import whole_numbers
from ..model.specs import RouteMatchSpec, ServiceRefSpec
from .kube import FIELD_MANAGER, api_error_status
from .memo import ReadMemo
from .retry import with_retries
from .workloads import (
    MANAGED_BY_LABEL,
    OWNER_ANNOTATION,
    ServiceTarget,
    Workloads,
    kube_call,
    missing_is_none,
)

if TYPE_CHECKING:
    from lightkube import Client

T = TypeVar("T")
Manifest = dict[str, Any]

ORIGINAL_ANNOTATION = "pulumi-canary.io/original"
"""On an adopted route: the JSON snapshot of what it was before the policy took it over."""
MANAGED_BY = "pulumi-canary"
OWNER_LABEL = "pulumi-canary.io/owner-hash"
"""On objects we create: a hash of the owner (owners hold '/', which label values cannot), so that a
policy lists its own objects instead of every object of the namespace."""
MAX_OBJECT_NAME = 253  # a DNS-1123 subdomain
WRITE_ATTEMPTS = 3  # optimistic writes re-read and retry this often when the object changes under them
_CONFLICT_MANAGER = re.compile(r'conflicts? with "([^"]+)"')


@dataclass(frozen=True)
class RouteIntent:
    """What a driver needs from a CanaryPolicy or TrafficSplit spec besides its gateway."""

    service: ServiceRefSpec
    label_key: str
    canary_version: str
    route: RouteMatchSpec
    owner: str

    @property
    def target(self) -> ServiceTarget:
        return ServiceTarget(self.service.namespace, self.service.name, self.label_key)


# ---- names and ownership marks (pure) -------------------------------------------------------------------


def route_name_for(service: str, owner: str) -> str:
    """The name of a route (or DestinationRule) the policy creates: a DNS-1123 subdomain."""
    return default_route_name(service, owner, MAX_OBJECT_NAME)


def route_owner(metadata: Mapping[str, Any], owner: str) -> RouteOwner:
    """``self`` when the object carries this owner's annotation, ``other`` for another owner's."""
    marked = (metadata.get("annotations") or {}).get(OWNER_ANNOTATION)
    if not marked:
        return "unowned"
    return "self" if marked == owner else "other"


def ownership_metadata(
    name: str, namespace: str, owner: str, *, created: bool, original: RouteSnapshot | None = None
) -> Manifest:
    """Metadata that says who owns an object. Only objects we created get the managed-by label: an adopted
    route may carry another tool's ``app.kubernetes.io/managed-by`` and we must not rewrite it."""
    annotations = {OWNER_ANNOTATION: owner}
    if original is not None:
        annotations[ORIGINAL_ANNOTATION] = json.dumps(original.to_props(), sort_keys=True)
    metadata: Manifest = {"name": name, "namespace": namespace, "annotations": annotations}
    if created:
        metadata["labels"] = created_labels(owner)
    return metadata


def created_labels(owner: str) -> dict[str, str]:
    return {MANAGED_BY_LABEL: MANAGED_BY, OWNER_LABEL: owner_digest(owner, 16)}


def stored_snapshot(metadata: Mapping[str, Any]) -> RouteSnapshot | None:
    """The pre-adoption snapshot an adopted route carries; None for a route we created."""
    text = (metadata.get("annotations") or {}).get(ORIGINAL_ANNOTATION)
    if not text:
        return None
    try:
        return RouteSnapshot.from_props(json.loads(text))
    except ValueError as error:  # json.JSONDecodeError is a ValueError too
        raise PreconditionError(
            f"the annotation {ORIGINAL_ANNOTATION} of route {metadata.get('name')} is damaged ({error}): "
            "pulumi-canary cannot tell what to restore; fix or remove the annotation by hand"
        ) from error


# ---- adopted entry lists (pure) ----------------------------------------------------------------------


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

    def compose(self, ours: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """The original entries with the adopted one replaced by ``ours`` (in order)."""
        return [*self.entries[: self.index], *ours, *self.entries[self.index + 1 :]]

    def ours(self, current: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """The entries of ``current`` that took the adopted entry's place."""
        suffix = len(self.entries) - self.index - 1
        return list(current[self.index : len(current) - suffix])


def compose_entries(adoption: Adoption | None, ours: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return list(ours) if adoption is None else adoption.compose(ours)


def our_entries(adoption: Adoption | None, current: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return list(current) if adoption is None else adoption.ours(current)


def adoption_of(snapshot: RouteSnapshot | None) -> Adoption | None:
    return None if snapshot is None else Adoption.from_snapshot(snapshot)


# ---- managed fields: who owns the entry list (pure) ----------------------------------------------------


def _owns(entry: Mapping[str, Any], field: str) -> bool:
    fields = entry.get("fieldsV1") or {}
    return f"f:{field}" in (fields.get("f:spec") or {})


def claimants(managed_fields: Sequence[Mapping[str, Any]], field: str) -> tuple[Manifest, ...]:
    """The managers (other than pulumi-canary) whose managedFields entry owns ``spec.<field>``."""
    keys = ("manager", "operation", "apiVersion", "subresource")
    return tuple(
        {key: entry[key] for key in keys if entry.get(key)}
        for entry in managed_fields
        if entry.get("manager") != FIELD_MANAGER and _owns(entry, field)
    )


def hand_back(
    managed_fields: Sequence[Mapping[str, Any]], field: str, original: Sequence[Mapping[str, Any]]
) -> list[Manifest]:
    """managedFields with pulumi-canary's entries gone and ``spec.<field>`` owned again by ``original``.

    Used once our values are restored: what we applied is then exactly what they owned before.
    """
    kept = [dict(entry) for entry in managed_fields if entry.get("manager") != FIELD_MANAGER]
    for claimant in original:
        same = [entry for entry in kept if _same_manager(entry, claimant)]
        if same:
            spec = dict((same[0].get("fieldsV1") or {}).get("f:spec") or {})
            spec[f"f:{field}"] = {}
            same[0]["fieldsV1"] = {**(same[0].get("fieldsV1") or {}), "f:spec": spec}
        else:
            kept.append({**claimant, "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {f"f:{field}": {}}}})
    return kept


def take_over(managed_fields: Sequence[Mapping[str, Any]], field: str, api_version: str) -> list[Manifest]:
    """managedFields with ``spec.<field>`` moved from whoever owned it to pulumi-canary's Apply entry."""
    moved: list[Manifest] = []
    ours: Manifest | None = None
    for entry in managed_fields:
        copy = dict(entry)
        if copy.get("manager") == FIELD_MANAGER and copy.get("operation") == "Apply" and ours is None:
            ours = copy
        elif _owns(copy, field):
            spec = {key: value for key, value in copy["fieldsV1"]["f:spec"].items() if key != f"f:{field}"}
            copy["fieldsV1"] = {key: value for key, value in copy["fieldsV1"].items() if key != "f:spec"}
            if spec:
                copy["fieldsV1"]["f:spec"] = spec
            if not copy["fieldsV1"]:
                continue  # it owned nothing else
        moved.append(copy)
    if ours is None:
        ours = {
            "manager": FIELD_MANAGER,
            "operation": "Apply",
            "apiVersion": api_version,
            "fieldsType": "FieldsV1",
        }
        moved.append(ours)
    fields = dict(ours.get("fieldsV1") or {})
    fields["f:spec"] = {**(fields.get("f:spec") or {}), f"f:{field}": {}}
    ours["fieldsV1"] = fields
    return moved


def _same_manager(entry: Mapping[str, Any], claimant: Mapping[str, Any]) -> bool:
    keys = ("manager", "operation", "subresource")
    return all((entry.get(key) or "") == (claimant.get(key) or "") for key in keys)


def conflict_message(kind: str, namespace: str, name: str, causes: Sequence[tuple[str, str]]) -> str:
    """A plain sentence for an SSA conflict: which manager owns which field, and what to do."""
    owned = "; ".join(
        f"{field or 'a field'} is owned by field manager {manager!r}" for field, manager in causes
    )
    return (
        f"{kind} {namespace}/{name}: {owned}. pulumi-canary sets these fields (the traffic weights) and does "
        "not force its way over another owner: stop the other tool from managing them (or remove its claim), "
        "then run `pulumi up` again; `pulumi refresh` shows the weights that are live now"
    )


def conflict_causes(error: Any) -> list[tuple[str, str]]:
    """(field, manager) for each FieldManagerConflict cause of a 409 from server-side apply."""
    details = getattr(error.status, "details", None)
    causes = getattr(details, "causes", None) or []
    found = []
    for cause in causes:
        if getattr(cause, "reason", "") != "FieldManagerConflict":
            continue
        manager = _CONFLICT_MANAGER.search(getattr(cause, "message", "") or "")
        found.append((getattr(cause, "field", "") or "", manager.group(1) if manager else "another manager"))
    return found


# ---- I/O ---------------------------------------------------------------------------------------------


class Objects:
    """One kind of namespaced object through lightkube, as plain dicts; errors become ours."""

    def __init__(self, client: Client, resource: Any, kind: str, namespace: str) -> None:
        self._client = client
        self._resource = resource
        self.kind = kind
        self.namespace = namespace
        self._reads = ReadMemo()

    def _call(self, operation: str, name: str, action: Callable[[], T], *, retry: bool = True) -> T:
        """Run ``action`` with our error types; retry transient failures unless the write is conditional
        (a conditional write that lost a race must be recomputed from a fresh read, see ``optimistic``)."""
        where = f"{self.kind} {self.namespace}/{name}" if name else f"{self.kind}s in {self.namespace}"

        def once() -> T:
            return kube_call(operation, where, action)  # type: ignore[no-any-return]

        return with_retries(once) if retry else once()

    def _forget(self, written: str) -> None:
        """A write to ``written`` changes that object and every list; other objects read stay as read."""
        self._reads.forget(keep=lambda key: key != ("get", written) and key[0] == "get")

    def get(self, name: str) -> Manifest | None:
        fetch = missing_is_none(lambda: self._client.get(self._resource, name, namespace=self.namespace))

        def read() -> Manifest | None:
            found = fetch()
            return None if found is None else dict(found.to_dict())

        return self._reads.read(("get", name), lambda: self._call(f"get {self.kind}", name, read))

    def all(self, labels: Mapping[str, str] | None = None) -> list[Manifest]:
        selector: dict[str, Any] | None = dict(labels) if labels else None

        def read() -> list[Manifest]:
            found = self._client.list(self._resource, namespace=self.namespace, labels=selector)
            return [dict(item.to_dict()) for item in found]

        key = ("all", tuple(sorted((selector or {}).items())))
        return self._reads.read(key, lambda: self._call(f"list {self.kind}", "", read))

    def apply(self, manifest: Manifest) -> Manifest:
        """Server-side apply as ``pulumi-canary``, never forced: a field another manager owns raises
        ``OwnershipError`` naming the manager and the field."""
        from lightkube import ApiError

        name = manifest["metadata"]["name"]
        self._forget(name)

        def write() -> Manifest:
            try:
                obj = self._resource.from_dict(manifest)
                applied = self._client.apply(obj, field_manager=FIELD_MANAGER, force=False)
            except ApiError as error:
                causes = conflict_causes(error) if api_error_status(error) == 409 else []
                if causes:
                    raise OwnershipError(conflict_message(self.kind, self.namespace, name, causes)) from error
                raise
            return dict(applied.to_dict())

        return self._call(f"apply {self.kind}", name, write)

    def patch_json(self, name: str, operations: list[Manifest]) -> None:
        """A JSON patch; callers start it with a ``test`` of the resourceVersion they computed it from."""
        from lightkube import ApiError
        from lightkube.types import PatchType

        self._forget(name)

        def write() -> None:
            try:
                self._client.patch(
                    self._resource,
                    name,
                    operations,
                    namespace=self.namespace,
                    patch_type=PatchType.JSON,
                    field_manager=FIELD_MANAGER,
                )
            except ApiError as error:
                if api_error_status(error) in (409, 422) and self._moved_on(name, operations):
                    raise _changed_meanwhile(self.kind, self.namespace, name) from error
                raise

        self._call(f"patch {self.kind}", name, write, retry=False)

    def _moved_on(self, name: str, operations: list[Manifest]) -> bool:
        """Whether a refused patch failed its resourceVersion ``test`` (the object changed: compute again)
        rather than being invalid (the apiserver's message says why; computing again would not help)."""
        tested = next((op["value"] for op in operations if op.get("op") == "test"), None)
        current = self.get(name)
        return tested is not None and (current is None or current["metadata"]["resourceVersion"] != tested)

    def delete(self, name: str) -> None:
        """Delete ``name``; already gone is fine."""
        self._forget(name)
        remove = missing_is_none(lambda: self._client.delete(self._resource, name, namespace=self.namespace))
        self._call(f"delete {self.kind}", name, remove)


class ChangedMeanwhileError(TransientApiError):
    """An optimistic write lost a race; re-reading and computing again fixes it."""


def _changed_meanwhile(kind: str, namespace: str, name: str) -> ChangedMeanwhileError:
    return ChangedMeanwhileError(
        f"{kind} {namespace}/{name} changed while pulumi-canary was writing it; run `pulumi up` again",
        operation=f"write {kind}",
        target=f"{namespace}/{name}",
        status=409,
    )


def optimistic(action: Callable[[], T]) -> T:
    """Run a read-compute-write ``action`` again (fresh read) when its object changed under it."""
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        try:
            return action()
        except ChangedMeanwhileError:
            if attempt == WRITE_ATTEMPTS:
                raise
    raise AssertionError("unreachable: the loop returns or raises")


def release_patch(
    route: Mapping[str, Any], field: str, original: Sequence[Mapping[str, Any]]
) -> list[Manifest]:
    """A JSON patch that drops our marks from an adopted route and gives ``spec.<field>`` back (pure)."""
    metadata = route["metadata"]
    operations: list[Manifest] = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": metadata["resourceVersion"]}
    ]
    annotations = metadata.get("annotations") or {}
    for key in (OWNER_ANNOTATION, ORIGINAL_ANNOTATION):
        if key in annotations:
            operations.append({"op": "remove", "path": "/metadata/annotations/" + _pointer(key)})
    managed = hand_back(metadata.get("managedFields") or [], field, original)
    operations.append({"op": "replace", "path": "/metadata/managedFields", "value": managed})
    return operations


def adopt_patch(route: Mapping[str, Any], field: str, owner: str, original: RouteSnapshot) -> list[Manifest]:
    """A JSON patch that marks a route as adopted and moves ``spec.<field>`` to pulumi-canary (pure).

    It changes no value of the route: the weights are written afterwards by server-side apply.
    """
    metadata = route["metadata"]
    operations: list[Manifest] = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": metadata["resourceVersion"]}
    ]
    marks = ownership_metadata(
        metadata["name"], metadata["namespace"], owner, created=False, original=original
    )
    if metadata.get("annotations"):
        for key, value in marks["annotations"].items():
            operations.append({"op": "add", "path": "/metadata/annotations/" + _pointer(key), "value": value})
    else:
        operations.append({"op": "add", "path": "/metadata/annotations", "value": marks["annotations"]})
    managed = take_over(metadata.get("managedFields") or [], field, route["apiVersion"])
    operations.append({"op": "replace", "path": "/metadata/managedFields", "value": managed})
    return operations


def _pointer(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


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


# ---- the route driver both gateways share -----------------------------------------------------------


class RouteDriver(ABC):
    """The route half of a Kubernetes gateway driver: find, create, adopt, rewrite, restore, delete.

    A subclass says how its route object looks (the ``spec`` field holding the entries, how an entry
    matches a path, how it lists its weighted targets) and manages the versions (Services or subsets).
    """

    kind = "route"
    entries_field = "entries"
    max_entries: int | None = None

    def __init__(self, client: Client, routes: Objects, intent: RouteIntent) -> None:
        self.routes = routes
        self.intent = intent
        self.namespace = intent.service.namespace
        self.workloads = Workloads(client, intent.owner)

    # ---- hooks -------------------------------------------------------------------------------------

    @abstractmethod
    def version_labels(self) -> dict[str, dict[str, str]]:
        """Every version this policy has defined, name -> the pod labels it selects."""

    @abstractmethod
    def version_target_names(self, versions: Sequence[str]) -> dict[str, str]:
        """How the route names each version's target (Service name, subset name) -> version."""

    @abstractmethod
    def entry_with_path(self, entries: Sequence[Mapping[str, Any]], match: RouteMatchSpec) -> int | None:
        """The first entry that matches the policy's path and nothing else."""

    @abstractmethod
    def targets_of(self, entry: Mapping[str, Any]) -> list[Manifest]:
        """The weighted targets an entry sends to (backendRefs, route destinations), as they are."""

    @abstractmethod
    def targets_for(self, weights: Mapping[str, int]) -> list[Manifest]:
        """The targets that give each version its percentage."""

    @abstractmethod
    def weights_of(self, entry: Mapping[str, Any] | None, names: Mapping[str, str]) -> dict[str, int]:
        """Percent per version of an entry's targets that are versions (``names``: target -> version)."""

    @abstractmethod
    def our_entries_for(
        self, base: Mapping[str, Any], match: RouteMatchSpec, targets: Sequence[Mapping[str, Any]]
    ) -> list[Manifest]:
        """The entries the policy puts where ``base`` was: a header entry (while the canary is among
        ``targets``) and the weighted one."""

    @abstractmethod
    def unsplittable(self, entry: Mapping[str, Any]) -> str | None:
        """Why an entry cannot carry weighted targets (a redirect...), if it cannot."""

    @abstractmethod
    def is_candidate(self, route: Mapping[str, Any]) -> bool:
        """Whether a route serves the policy's gateway (attached to its Gateway, or one of its hosts)."""

    @abstractmethod
    def candidate_description(self) -> str:
        """What ``is_candidate`` asks, for messages: 'attached to Gateway infra/public-gw'."""

    @abstractmethod
    def created_manifest(self, name: str, entries: Sequence[Mapping[str, Any]]) -> Manifest:
        """The whole route object the policy creates and owns."""

    @abstractmethod
    def adopted_manifest(
        self, name: str, original: RouteSnapshot, entries: Sequence[Mapping[str, Any]]
    ) -> Manifest:
        """What the policy applies to a route it adopted: its marks and the entry list only."""

    def wait_ready(self, version: str, minimum: int, timeout_seconds: float) -> int:
        return self.workloads.wait_ready(self.intent.target, version, minimum, timeout_seconds)

    # ---- reading -----------------------------------------------------------------------------------

    def entry_to_adopt(self, entries: Sequence[Mapping[str, Any]], match: RouteMatchSpec) -> int | None:
        """The entry a policy takes over: the one on its path, else the only one there is."""
        found = self.entry_with_path(entries, match)
        if found is None and len(entries) == 1:
            return 0
        return found

    def _entries(self, route: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        return list((route.get("spec") or {}).get(self.entries_field) or [])

    def live(self, match: RouteMatchSpec, route_id: str | None, *, readiness: bool = True) -> LiveRoute:
        versions = self.version_labels()
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
            weights=self.weights_of(weighted, self.version_target_names(list(versions))),
            ready_endpoints=ready,
            original=snapshot,
        )

    def _weighted(
        self, route: Manifest, owner: str, snapshot: RouteSnapshot | None, match: RouteMatchSpec
    ) -> Mapping[str, Any] | None:
        """Our weighted entry on a route we hold; on any other route, the entry we would take over."""
        entries = self._entries(route)
        if owner == "self":
            ours = our_entries(adoption_of(snapshot), entries)
            return ours[-1] if ours else None
        index = self.entry_to_adopt(entries, match)
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
            if self.is_candidate(route) and self.entry_with_path(self._entries(route), match) is not None:
                return route
        return None

    # ---- writing -----------------------------------------------------------------------------------

    def _where(self, name: str) -> str:
        return f"{self.kind} {self.namespace}/{name}"

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

    def _write(self, route: Manifest, match: RouteMatchSpec, targets: Sequence[Mapping[str, Any]]) -> None:
        name = route["metadata"]["name"]
        snapshot = stored_snapshot(route["metadata"])
        adoption = adoption_of(snapshot)
        base = adoption.base if adoption is not None else {}
        entries = compose_entries(adoption, self.our_entries_for(base, match, targets))
        if self.max_entries is not None and len(entries) > self.max_entries:
            raise PreconditionError(
                f"{self._where(name)} would need {len(entries)} {self.entries_field} with the canary header "
                f"one, more than the {self.max_entries} allowed: remove canary_headers or an entry"
            )
        if snapshot is None:
            self.routes.apply(self.created_manifest(name, entries))
        else:
            self.routes.apply(self.adopted_manifest(name, snapshot, entries))

    def create_route(self, match: RouteMatchSpec, weights: Mapping[str, int]) -> str:
        existing = self.find_route(match)
        if existing is not None and route_owner(existing["metadata"], self.intent.owner) == "self":
            name = str(existing["metadata"]["name"])
            self.set_weights(name, weights)  # an earlier attempt created it
            return name
        name = match.name or route_name_for(self.intent.service.name, self.intent.owner)
        entries = self.our_entries_for({}, match, self.targets_for(weights))
        self.routes.apply(self.created_manifest(name, entries))
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
        self.routes.patch_json(route_id, adopt_patch(route, self.entries_field, self.intent.owner, snapshot))
        # The adopted entry keeps its targets (traffic does not move yet); it takes the policy's match.
        base = Adoption.from_snapshot(snapshot).base
        self._write(self._require_own(route_id), match, self.targets_of(base))
        return snapshot

    def _snapshot(self, route: Manifest, match: RouteMatchSpec) -> RouteSnapshot:
        name = route["metadata"]["name"]
        if not self.is_candidate(route):
            # Adopted by name: its parents/hosts stay as they are, so a mismatch would route elsewhere.
            raise PreconditionError(
                f"{self._where(name)} is not {self.candidate_description()}: adopt a route that is, or "
                "change the policy's gateway to the one this route uses"
            )
        entries = self._entries(route)
        index = self.entry_to_adopt(entries, match)
        if index is None:
            wanted = f"the path {match.path!r}" if match.path is not None else "route.path"
            raise PreconditionError(
                f"{self._where(name)} has {len(entries)} {self.entries_field} entries and none is a plain "
                f"match on {wanted}: give route.path equal to the path the policy should take over"
            )
        problem = self.unsplittable(entries[index])
        if problem is not None:
            raise PreconditionError(f"entry {index} of {self._where(name)} cannot be split: {problem}")
        names = self.version_target_names(list(self.version_labels()))
        referenced = sorted(self.weights_of(entries[index], names))
        managed = route["metadata"].get("managedFields") or []
        adoption = Adoption(tuple(entries), index, claimants(managed, self.entries_field))
        return RouteSnapshot(route_id=name, referenced_versions=tuple(referenced), data=adoption.to_data())

    def update_route(self, route_id: str, match: RouteMatchSpec) -> None:
        route = self._require_own(route_id)
        ours = our_entries(adoption_of(stored_snapshot(route["metadata"])), self._entries(route))
        self._write(route, match, self.targets_of(ours[-1]) if ours else [])

    def set_weights(self, route_id: str, weights: Mapping[str, int]) -> None:
        self._write(self._require_own(route_id), self.intent.route, self.targets_for(weights))

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
        manifest = self.adopted_manifest(original.route_id, original, list(adoption.entries))
        restored = self.routes.apply(manifest)  # the values first, while we still own them
        patch = release_patch(restored, self.entries_field, adoption.claimants)
        self.routes.patch_json(original.route_id, patch)

    def release_route(self, route_id: str) -> None:
        route = self.routes.get(route_id)
        if route is None or route_owner(route["metadata"], self.intent.owner) != "self":
            return
        adoption = adoption_of(stored_snapshot(route["metadata"]))
        claimed = adoption.claimants if adoption is not None else ()
        self.routes.patch_json(route_id, release_patch(route, self.entries_field, claimed))

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
