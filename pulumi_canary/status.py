"""Read the live state of every CanaryPolicy recorded in an exported stack (I/O through the drivers).

Credentials come from the environment (``ALIBABA_CLOUD_ACCESS_KEY_ID``/``..._SECRET``, ``KUBECONFIG``),
as for any CLI; the exported state never holds them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .adapter.state_keys import OWNER_KEY
from .reporting.status import VersionStatus

POLICY_TYPE_SUFFIX = "canary:CanaryPolicy"


def stack_status(state: Mapping[str, Any]) -> list[VersionStatus]:
    deployment = state.get("deployment") or {}
    rows: list[VersionStatus] = []
    for resource in deployment.get("resources") or []:
        if str(resource.get("type", "")).endswith(POLICY_TYPE_SUFFIX):
            rows.extend(policy_status(str(resource["urn"]).split("::")[-1], resource.get("outputs") or {}))
    return rows


def policy_status(name: str, outputs: Mapping[str, Any]) -> list[VersionStatus]:
    from .drivers.executor import read_live
    from .drivers.factory import open_session
    from .model import CanaryPolicySpec, parse_policy

    inputs = {key: value for key, value in outputs.items() if key in CanaryPolicySpec.model_fields}
    spec = parse_policy({key: value for key, value in inputs.items() if value is not None})
    session = open_session(spec, {}, str(outputs.get(OWNER_KEY, "")))
    route_id = outputs.get("route_id")
    live = read_live(session.gateway, None, session.target, spec.route, route_id, spec.versions)
    gateway = getattr(spec.gateway, "gateway_id", None) or getattr(spec.gateway, "gateway", spec.gateway.kind)
    roles = {spec.stable_version: "stable", spec.canary_version: "canary"}
    versions = list(dict.fromkeys([*spec.versions, *live.weights]))
    return [
        VersionStatus(
            policy=name,
            gateway=str(gateway),
            route_id=str(live.route_id or "-"),
            version=version,
            role=roles.get(version, "other"),
            weight=live.weight(version),
            ready_endpoints=live.ready(version),
        )
        for version in versions
    ]
