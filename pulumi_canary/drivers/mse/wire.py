"""MSE's wire shapes, built and read by pure functions: no I/O here.

Ownership lives in a route's ``Description`` (MSE has no labels on routes): ``pulumi-canary:<owner>``,
followed for an adopted route by ``;restore=<copy>``, a compressed copy of what the route was before it
was adopted (see :func:`encode_restore_copy`). Also here: route predicates, the services of a
``VersionOriented`` route, the ``ServiceVersion`` JSON, route names and the route ``Status`` values.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Mapping
from dataclasses import replace
from enum import IntEnum
from typing import Any

from ...errors import PreconditionError
from ...model import RouteMatchSpec, ServiceRefSpec
from ...model.live import RouteOwner, RouteSnapshot
from ...model.naming import default_route_name
from ...model.rollout import RolloutRecord

OWNER_PREFIX = "pulumi-canary:"
RESTORE_TAG = ";restore="
RESTORE_FORMAT = "1."
HEADER_ROUTE_SUFFIX = "#canary-headers"
ROLLOUT_TAG = ";rollout="
# MSE documents no limit on a route's Description; stay well under what consoles usually allow.
MAX_DESCRIPTION_LENGTH = 1024
MAX_ROUTE_NAME = 63
ROUTE_SERVICE_FIELDS = (
    "ServiceId",
    "Name",
    "Namespace",
    "SourceType",
    "GroupName",
    "Version",
    "Percent",
    "ServicePort",
)
# "ERGULAR" (sic) is how MSE itself spells the regex match type on the wire: do not correct it.
PATH_TYPES = {"prefix": "PRE", "exact": "EQUAL", "regex": "ERGULAR"}
# Fields of GetGatewayRouteDetail that UpdateGatewayRoute takes back unchanged when we rewrite a route.
KEPT_ROUTE_FIELDS = ("Name", "RouteOrder", "Fallback", "DomainIdList")


class RouteStatus(IntEnum):
    """``Status`` of a route as GetGatewayRouteDetail reports it (MSE documents no value 1)."""

    UNPUBLISHED = 0
    PUBLISHING = 2
    PUBLISHED = 3
    EDITED_NOT_PUBLISHED = 4
    UNPUBLISHING = 5
    UNAVAILABLE = 6


# Publishing and published routes serve what the route says; an unpublished one and an edit that was not
# published do not: the gateway serves the last published edit, or nothing.
PUBLISHED_STATUSES = (RouteStatus.PUBLISHING, RouteStatus.PUBLISHED)
# Routes the gateway refuses to delete until OfflineGatewayRoute takes them offline.
ONLINE_STATUSES = (*PUBLISHED_STATUSES, RouteStatus.EDITED_NOT_PUBLISHED)


def is_published(route: Mapping[str, Any]) -> bool:
    """Whether the gateway serves what the route detail says."""
    return route.get("Status") in PUBLISHED_STATUSES


def is_online(route: Mapping[str, Any]) -> bool:
    return route.get("Status") in ONLINE_STATUSES


def has_unpublished_edit(route: Mapping[str, Any]) -> bool:
    return route.get("Status") == RouteStatus.EDITED_NOT_PUBLISHED


# ---- ownership markers and the restore copy ------------------------------------------------------------


def owner_marker(owner: str) -> str:
    return f"{OWNER_PREFIX}{owner}"


def header_route_marker(owner: str) -> str:
    """The header route is a second route of the same owner, told apart by this suffix."""
    return f"{owner_marker(owner)}{HEADER_ROUTE_SUFFIX}"


def owner_of(description: str | None, owner: str) -> RouteOwner:
    if not description or not description.startswith(OWNER_PREFIX):
        return "unowned"
    marker = _without_rollout(description).partition(RESTORE_TAG)[0]
    return "self" if marker == owner_marker(owner) else "other"


def encode_restore_copy(original: RouteSnapshot) -> str:
    """The pre-adoption route, compressed into one Description-safe word (base64url of zlib'd JSON).

    Only what an adoption overwrites is kept: the description, the destination type, the services (the
    fields UpdateGatewayRoute takes; the detail's duplicates such as ``ServiceName`` are left out) and
    the predicates.
    """
    data = original.data
    services = [
        {key: entry[key] for key in ROUTE_SERVICE_FIELDS if entry.get(key) not in (None, "")}
        for entry in data.get("Services") or []
    ]
    carried = {
        "d": data.get("Description") or "",
        "t": data.get("DestinationType"),
        "s": services,
        "p": data.get("Predicates") or {},
        "v": list(original.referenced_versions),
    }
    return RESTORE_FORMAT + _packed(json.dumps(carried, separators=(",", ":")))


def decode_restore_copy(description: str | None, route_id: str) -> RouteSnapshot | None:
    """The snapshot :func:`encode_restore_copy` put after the marker; None when there is none or it is
    damaged (then the route is treated as one the policy created only if nothing else says otherwise)."""
    if not description or RESTORE_TAG not in description:
        return None
    word = _without_rollout(description).rpartition(RESTORE_TAG)[2]
    if not word.startswith(RESTORE_FORMAT):
        return None
    try:
        carried = json.loads(_unpacked(word[len(RESTORE_FORMAT) :]))
        data = {
            "Description": str(carried["d"]),
            "DestinationType": carried["t"],
            "Services": list(carried["s"]),
            "Predicates": dict(carried["p"]),
        }
        versions = tuple(str(version) for version in carried["v"])
    except (ValueError, KeyError, TypeError, zlib.error):
        return None
    return RouteSnapshot(route_id=route_id, referenced_versions=versions, data=data)


def _without_rollout(description: str) -> str:
    return description.partition(ROLLOUT_TAG)[0]


def _packed(text: str) -> str:
    """One Description-safe word: base64url of the zlib'd text, unpadded."""
    return base64.urlsafe_b64encode(zlib.compress(text.encode(), 9)).decode().rstrip("=")


def _unpacked(word: str) -> str:
    """The text :func:`_packed` made; ``ValueError`` or ``zlib.error`` when the word is damaged."""
    return zlib.decompress(base64.urlsafe_b64decode(word + "=" * (-len(word) % 4))).decode()


def with_rollout(description: str, record: RolloutRecord) -> str:
    """``description`` (our marker, maybe the restore copy) with ``record`` last, instead of any earlier
    one; the record's detail is dropped if that is what it takes to fit."""
    kept = _without_rollout(description)
    for candidate in (record, replace(record, detail="")):
        full = f"{kept}{ROLLOUT_TAG}{_packed(candidate.to_text())}"
        if len(full) <= MAX_DESCRIPTION_LENGTH:
            return full
    return kept  # no room beside a large restore copy: the route keeps no record (status says none)


def rollout_of(description: str | None) -> RolloutRecord | None:
    """The record :func:`with_rollout` put in ``description``."""
    if not description or ROLLOUT_TAG not in description:
        return None
    word = description.rpartition(ROLLOUT_TAG)[2]
    try:
        return RolloutRecord.from_text(_unpacked(word))
    except (ValueError, zlib.error):
        return None


def adopted_description(owner: str, original: RouteSnapshot) -> str:
    """Our marker plus the restore copy; the original description is dropped from the copy if that is
    what it takes to fit. A route too large even then is refused before anything is written."""
    marker = owner_marker(owner)
    full = f"{marker}{RESTORE_TAG}{encode_restore_copy(original)}"
    if len(full) <= MAX_DESCRIPTION_LENGTH:
        return full
    trimmed = RouteSnapshot(
        original.route_id, original.referenced_versions, {**original.data, "Description": ""}
    )
    short = f"{marker}{RESTORE_TAG}{encode_restore_copy(trimmed)}"
    if len(short) <= MAX_DESCRIPTION_LENGTH:
        return short
    raise PreconditionError(
        f"route {original.route_id} has too many destinations to keep a copy of it on the route itself "
        f"({len(short)} characters, at most {MAX_DESCRIPTION_LENGTH}), so it could not be restored safely "
        "if this update failed half way: let the policy create its own route (give route.path, no name)"
    )


# ---- route names, predicates and destinations ---------------------------------------------------------


def route_name_for(service: ServiceRefSpec, owner: str) -> str:
    """MSE route names are lowercase, digits and '-' (63 at most)."""
    return default_route_name(f"{service.name}-{service.namespace}", owner, MAX_ROUTE_NAME)


def header_route_name(main_route_name: str) -> str:
    return main_route_name[: MAX_ROUTE_NAME - 4].rstrip("-") + "-hdr"


def predicates(match: RouteMatchSpec, with_headers: bool = False) -> dict[str, Any]:
    path = {"Path": match.path, "Type": PATH_TYPES[match.path_type], "IgnoreCase": False}
    headers = (
        [{"Key": key, "Type": "EQUAL", "Value": value} for key, value in match.canary_headers.items()]
        if with_headers
        else []
    )
    return {
        "PathPredicates": path,
        "HeaderPredicates": headers,
        "QueryPredicates": [],
        "MethodPredicates": [],
    }


def route_services(
    service: ServiceRefSpec, service_id: int, weights: Mapping[str, int]
) -> list[dict[str, Any]]:
    return [
        {
            "ServiceId": service_id,
            "Name": service.name,
            "Namespace": service.namespace,
            "SourceType": "K8S",
            "Version": version,
            "Percent": percent,
            "ServicePort": service.port,
        }
        for version, percent in weights.items()
    ]


def version_json(name: str, labels: Mapping[str, str]) -> str:
    """ServiceVersion is a JSON string with lowercase keys (unlike every other parameter)."""
    return json.dumps({"name": name, "labels": [{"key": k, "value": v} for k, v in labels.items()]})


# ---- reading a route detail ---------------------------------------------------------------------------


def parse_json(value: Any, default: Any) -> Any:
    if isinstance(value, str):
        return json.loads(value) if value else default
    return default if value is None else value


def route_predicates(route: Mapping[str, Any]) -> dict[str, Any]:
    return dict(parse_json(route.get("Predicates"), {}) or route.get("RoutePredicates") or {})


def route_entries(route: Mapping[str, Any]) -> Any:
    """The route's destinations: the detail has them parsed (``RouteServices``) and as a JSON string."""
    return route.get("RouteServices") or parse_json(route.get("Services"), [])


def service_id_in(route: Mapping[str, Any], service: ServiceRefSpec) -> int | None:
    """The service's id as a route to it names it: saves looking the service up by name."""
    for entry in route_entries(route):
        named = (entry.get("Name"), entry.get("Namespace")) == (service.name, service.namespace)
        if named and entry.get("SourceType", "K8S") == "K8S":
            return int(entry["ServiceId"]) if entry.get("ServiceId") else None
    return None
