"""Who owns a route's entry list, and the JSON patches that hand that ownership over (pure).

The apiserver treats the entry list as ONE atomic field for server-side apply: whoever applies it owns
all of it. Adoption is the one explicit hand-over: one JSON patch, valid only at the resourceVersion the
snapshot was read at, marks the route and moves the claim on ``spec.<field>`` from the managers that held
it to pulumi-canary (SSA alone cannot: forcing takes a field only when its value changes, and changing it
is not adoption's job). Restore and release move the claim back the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ...model.live import RouteSnapshot
from ..kube import FIELD_MANAGER, json_pointer
from ..workloads import OWNER_ANNOTATION
from .marks import ORIGINAL_ANNOTATION, ROLLOUT_ANNOTATION, Manifest, ownership_metadata


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


# ---- the hand-over patches ---------------------------------------------------------------------------


def release_patch(
    route: Mapping[str, Any], field: str, original: Sequence[Mapping[str, Any]]
) -> list[Manifest]:
    """A JSON patch that drops our marks from an adopted route and gives ``spec.<field>`` back."""
    metadata = route["metadata"]
    operations: list[Manifest] = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": metadata["resourceVersion"]}
    ]
    annotations = metadata.get("annotations") or {}
    for key in (OWNER_ANNOTATION, ORIGINAL_ANNOTATION, ROLLOUT_ANNOTATION):
        if key in annotations:
            operations.append({"op": "remove", "path": "/metadata/annotations/" + json_pointer(key)})
    managed = hand_back(metadata.get("managedFields") or [], field, original)
    operations.append({"op": "replace", "path": "/metadata/managedFields", "value": managed})
    return operations


def adopt_patch(route: Mapping[str, Any], field: str, owner: str, original: RouteSnapshot) -> list[Manifest]:
    """A JSON patch that marks a route as adopted and moves ``spec.<field>`` to pulumi-canary.

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
            path = "/metadata/annotations/" + json_pointer(key)
            operations.append({"op": "add", "path": path, "value": value})
    else:
        operations.append({"op": "add", "path": "/metadata/annotations", "value": marks["annotations"]})
    managed = take_over(metadata.get("managedFields") or [], field, route["apiVersion"])
    operations.append({"op": "replace", "path": "/metadata/managedFields", "value": managed})
    return operations
