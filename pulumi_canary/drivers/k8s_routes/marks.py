"""Names and ownership marks of the route objects a policy creates or adopts (pure).

An object the policy created carries the owner's annotation and the managed-by and owner-hash labels;
an adopted route carries only the annotations: the owner's, and the JSON snapshot of what it was before
(so that restore can put it back even when the policy's outputs were lost).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ...errors import PreconditionError
from ...model.live import RouteOwner, RouteSnapshot
from ...model.naming import default_route_name, owner_digest
from ..workloads import MANAGED_BY, MANAGED_BY_LABEL, OWNER_ANNOTATION

Manifest = dict[str, Any]

ORIGINAL_ANNOTATION = "pulumi-canary.io/original"
"""On an adopted route: the JSON snapshot of what it was before the policy took it over."""
ROLLOUT_ANNOTATION = "pulumi-canary.io/rollout"
"""On a route we hold: how the last rollout of its TrafficSplit ended (``RolloutRecord`` JSON)."""
OWNER_LABEL = "pulumi-canary.io/owner-hash"
"""On objects we create: a hash of the owner (owners hold '/', which label values cannot), so that a
policy lists its own objects instead of every object of the namespace."""
MAX_OBJECT_NAME = 253  # a DNS-1123 subdomain


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


def stored_rollout(metadata: Mapping[str, Any]) -> str | None:
    """The rollout record a route carries, as written."""
    return (metadata.get("annotations") or {}).get(ROLLOUT_ANNOTATION)


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
