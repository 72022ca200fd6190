"""Predictable names for the Kubernetes objects that belong to one version of a service."""

from __future__ import annotations

import hashlib
import re

__all__ = ["default_route_name", "owner_digest", "version_object_name"]

_NOT_DNS = re.compile(r"[^a-z0-9-]+")
_MAX_NAME = 63  # a Service name limit; Deployments allow more, but one rule for both keeps names aligned


def version_object_name(service: str, version: str) -> str:
    """The name of the canary Deployment (and, on the Gateway API, the per-version Service) of a version.

    ``version_object_name("demo-service", "v2") == "demo-service-v2"``. A version that is not already a
    lowercase DNS label (``V2``, ``v1.2``, ``beta_1``) is folded to one and gets a short hash of the
    original, so that two distinct versions never share a name; the result is always a DNS-1035 label
    when ``service`` is one (Service names are).
    """
    folded = _NOT_DNS.sub("-", version.lower()).strip("-") or "version"
    name = f"{service}-{folded}"
    if folded == version and len(name) <= _MAX_NAME:
        return name
    digest = hashlib.sha256(version.encode("utf-8")).hexdigest()[:8]
    base = name[: _MAX_NAME - len(digest) - 1].rstrip("-")
    return f"{base}-{digest}"


def owner_digest(owner: str, length: int = 8) -> str:
    """A short, stable hash of an owner (``project/stack/resource``): it keeps the names and labels of
    different stacks apart without putting the owner itself where its characters are not allowed."""
    return hashlib.sha256(owner.encode("utf-8")).hexdigest()[:length]


def default_route_name(base: str, owner: str, max_length: int) -> str:
    """The name of a route the policy creates: ``<base>-canary-<owner digest>``, ``base`` cut so that the
    whole fits in ``max_length``."""
    suffix = f"-canary-{owner_digest(owner)}"
    if len(base) + len(suffix) > max_length:
        base = base[: max_length - 16].rstrip("-")
    return base + suffix
