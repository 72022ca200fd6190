"""The live state of every CanaryPolicy recorded in an exported stack (``pulumi-canary status``).

Credentials come from the environment (``ALIBABA_CLOUD_ACCESS_KEY_ID``/``..._SECRET``, ``KUBECONFIG``),
as for any CLI; the exported state never holds them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..reporting.status import VersionStatus
from ..state_keys import OWNER_KEY, POLICY_TYPE

__all__ = ["policy_status", "stack_status"]


def stack_status(state: Mapping[str, Any], config: Mapping[str, str]) -> list[VersionStatus]:
    deployment = state.get("deployment") or {}
    rows: list[VersionStatus] = []
    for resource in deployment.get("resources") or []:
        if str(resource.get("type", "")).endswith(POLICY_TYPE):
            name = str(resource["urn"]).split("::")[-1]
            rows.extend(policy_status(name, resource.get("outputs") or {}, config))
    return rows


def policy_status(name: str, outputs: Mapping[str, Any], config: Mapping[str, str]) -> list[VersionStatus]:
    # Imported here: reading a stack with no policy in it loads neither pydantic nor a driver.
    from ..model import CanaryPolicySpec, parse_policy
    from .policy import read_policy

    inputs = {key: value for key, value in outputs.items() if key in CanaryPolicySpec.model_fields}
    spec = parse_policy({key: value for key, value in inputs.items() if value is not None})
    route_id = outputs.get("route_id")
    owner = str(outputs.get(OWNER_KEY, ""))
    live = read_policy(spec, owner, route_id, config, readiness=True)
    roles = {spec.stable_version: "stable", spec.canary_version: "canary"}
    versions = list(dict.fromkeys([*spec.versions, *live.weights]))
    rollout = live.rollout.to_props() if live.rollout is not None else None
    return [
        VersionStatus(
            policy=name,
            gateway=spec.gateway.where(),
            route_id=str(live.route_id or "-"),
            version=version,
            role=roles.get(version, "other"),
            weight=live.weight(version),
            ready_endpoints=live.ready(version),
            rollout=rollout if version == spec.canary_version else None,
        )
        for version in versions
    ]
