"""What the Gateway API and Istio drivers share: ownership marks, server-side apply, adoption bookkeeping.

A route object (an HTTPRoute or a VirtualService) holds an ordered list of entries (``spec.rules`` /
``spec.http``) that the apiserver treats as ONE atomic field for server-side apply. The modules:

- ``marks``: names of the objects a policy creates, and the marks that say who owns an object (pure);
- ``adoption``: the entry list of an adopted route as it was, and which entries are ours (pure);
- ``managed_fields``: who owns the entry list, and the JSON patches that hand it over (pure);
- ``objects``: one kind of object through lightkube, and ``optimistic`` for conditional writes (I/O);
- ``dialect``: ``RouteDialect`` and ``VersionStore``, what a gateway kind tells the shared driver;
- ``driver``: ``RouteDriver``, the one route driver, built from a dialect and a version store.
"""

from ..workloads import MANAGED_BY, OWNER_ANNOTATION
from .adoption import Adoption, adoption_of, compose_entries, entries_of, entry_to_adopt, our_entries
from .dialect import GatewayObject, RouteDialect, RouteIntent, VersionStore
from .driver import RouteDriver, ready_by_version
from .managed_fields import adopt_patch, claimants, hand_back, release_patch, take_over
from .marks import (
    MAX_OBJECT_NAME,
    ORIGINAL_ANNOTATION,
    OWNER_LABEL,
    Manifest,
    created_labels,
    ownership_metadata,
    route_name_for,
    route_owner,
    stored_snapshot,
)
from .objects import WRITE_ATTEMPTS, Objects, optimistic

__all__ = [
    "MANAGED_BY",
    "MAX_OBJECT_NAME",
    "ORIGINAL_ANNOTATION",
    "OWNER_ANNOTATION",
    "OWNER_LABEL",
    "WRITE_ATTEMPTS",
    "Adoption",
    "GatewayObject",
    "Manifest",
    "Objects",
    "RouteDialect",
    "RouteDriver",
    "RouteIntent",
    "VersionStore",
    "adopt_patch",
    "adoption_of",
    "claimants",
    "compose_entries",
    "created_labels",
    "entries_of",
    "entry_to_adopt",
    "hand_back",
    "optimistic",
    "our_entries",
    "ownership_metadata",
    "ready_by_version",
    "release_patch",
    "route_name_for",
    "route_owner",
    "stored_snapshot",
    "take_over",
]
