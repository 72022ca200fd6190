"""What the Gateway API and Istio drivers share: ownership marks, server-side apply, adoption bookkeeping.

A route object (an HTTPRoute or a VirtualService) holds an ordered list of entries (``spec.rules`` /
``spec.http``) that the apiserver treats as ONE atomic field for server-side apply: whoever applies the
list owns all of it. A route the policy created is ours entirely. An adopted route keeps the entries
around the one the policy took over; its snapshot (kept in the route's annotation and in the policy's
outputs) records the original entries, the index taken over and the field managers that owned the list,
so that restore puts back the values AND hands the ownership back.

Every write is a server-side apply under the field manager ``pulumi-canary`` without force, with one
deliberate exception: adopting a route takes the entry list over from the managers that held it (see
:meth:`Objects.apply`, ``take_over``), guarded by the resourceVersion the snapshot was read at.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import OwnershipError, PreconditionError, TransientApiError
from ..model.live import RouteOwner, RouteSnapshot
from ..model.specs import RouteMatchSpec, ServiceRefSpec
from .kube import FIELD_MANAGER, api_error_status
from .retry import with_retries
from .workloads import MANAGED_BY_LABEL, OWNER_ANNOTATION, ServiceTarget, Workloads, kube_call

if TYPE_CHECKING:
    from lightkube import Client

T = TypeVar("T")
Manifest = dict[str, Any]

ORIGINAL_ANNOTATION = "pulumi-canary.io/original"
"""On an adopted route: the JSON snapshot of what it was before the policy took it over."""
MANAGED_BY = "pulumi-canary"
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


def default_route_name(service: str, owner: str) -> str:
    """The name of a route (or DestinationRule) the policy creates; the owner hash keeps stacks apart."""
    digest = hashlib.sha256(owner.encode()).hexdigest()[:8]
    return f"{service}-canary-{digest}"


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
        metadata["labels"] = {MANAGED_BY_LABEL: MANAGED_BY}
    return metadata


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
        data = snapshot.data
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

    def _call(self, operation: str, name: str, action: Callable[[], T], *, retry: bool = True) -> T:
        """Run ``action`` with our error types; retry transient failures unless the write is conditional
        (a conditional write that lost a race must be recomputed from a fresh read, see ``optimistic``)."""
        where = f"{self.kind} {self.namespace}/{name}" if name else f"{self.kind}s in {self.namespace}"
        once: Callable[[], T] = lambda: kube_call(operation, where, action)  # noqa: E731
        return with_retries(once) if retry else once()

    def get(self, name: str) -> Manifest | None:
        from lightkube import ApiError

        def read() -> Manifest | None:
            try:
                found = self._client.get(self._resource, name, namespace=self.namespace)
            except ApiError as error:
                if api_error_status(error) == 404:
                    return None
                raise
            return dict(found.to_dict())

        return self._call(f"get {self.kind}", name, read)

    def all(self) -> list[Manifest]:
        def read() -> list[Manifest]:
            found = self._client.list(self._resource, namespace=self.namespace)
            return [dict(item.to_dict()) for item in found]

        return self._call(f"list {self.kind}", "", read)

    def apply(self, manifest: Manifest, *, take_over_from: str | None = None) -> Manifest:
        """Server-side apply as ``pulumi-canary``. A field another manager owns raises ``OwnershipError``.

        ``take_over_from`` (a resourceVersion) is for adoption only: the program declared that the policy
        takes this route over, so the fields it writes move to pulumi-canary from whoever held them. The
        write happens only if the object is still at that resourceVersion (the one the snapshot was read
        at); otherwise it fails and nothing is taken.
        """
        from lightkube import ApiError

        name = manifest["metadata"]["name"]
        force = take_over_from is not None
        if force:
            manifest = {**manifest, "metadata": {**manifest["metadata"], "resourceVersion": take_over_from}}

        def write() -> Manifest:
            try:
                obj = self._resource.from_dict(manifest)
                applied = self._client.apply(obj, field_manager=FIELD_MANAGER, force=force)
            except ApiError as error:
                causes = conflict_causes(error) if api_error_status(error) == 409 else []
                if causes:
                    raise OwnershipError(conflict_message(self.kind, self.namespace, name, causes)) from error
                if force and api_error_status(error) == 409:
                    raise _changed_meanwhile(self.kind, self.namespace, name) from error
                raise
            return dict(applied.to_dict())

        return self._call(f"apply {self.kind}", name, write, retry=not force)

    def patch_json(self, name: str, operations: list[Manifest]) -> None:
        """A JSON patch; callers start it with a ``test`` of the resourceVersion they computed it from."""
        from lightkube import ApiError
        from lightkube.types import PatchType

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
                if api_error_status(error) in (409, 422):  # a failed ``test``: the object changed
                    raise _changed_meanwhile(self.kind, self.namespace, name) from error
                raise

        self._call(f"patch {self.kind}", name, write, retry=False)

    def delete(self, name: str) -> None:
        """Delete ``name``; already gone is fine."""
        from lightkube import ApiError

        def remove() -> None:
            try:
                self._client.delete(self._resource, name, namespace=self.namespace)
            except ApiError as error:
                if api_error_status(error) != 404:
                    raise

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


def _pointer(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def ready_by_version(client: Client, intent: RouteIntent) -> dict[str, int]:
    """Ready pods of the Service per value of the label key; empty while the Service does not exist."""
    try:
        pods = Workloads(client, intent.owner).pods(intent.target)
    except PreconditionError:
        return {}
    ready: dict[str, int] = {}
    for labels, is_ready in pods:
        value = labels.get(intent.label_key)
        if value is not None:
            ready[value] = ready.get(value, 0) + (1 if is_ready else 0)
    return ready


def wait_ready(client: Client, intent: RouteIntent, version: str, minimum: int, timeout: float) -> int:
    return Workloads(client, intent.owner).wait_ready(intent.target, version, minimum, timeout)
