"""The preview-time checks: every problem of the declared inputs, then questions to the live world.

The live checks catch, in ``pulumi preview``:

- a gateway the policy names that does not exist (an MSE gateway id, a Gateway API ``Gateway``, an
  Istio ``Gateway``), asked of the gateway's own API;
- a label key that no pod carries, and a stable version that selects no ready pod;
- a ``canary_deployment`` for a version whose pods another owner already runs.

They run only for complete, valid inputs whose live questions changed. When an API cannot be reached,
no credentials for the gateway's API are set, or the Service does not exist yet (the same program may
be creating it), they say nothing: the plan's readiness waits still guard every write. A broken
kubeconfig is not silenced.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..drivers.context import DriverContext
from ..drivers.factory import gateway_driver
from ..drivers.memo import Sightings
from ..drivers.workloads import ServiceTarget
from ..errors import CanaryError, ConfigurationError, Failure
from ..model import (
    CanaryPolicySpec,
    IsUnknown,
    check_policy,
    check_split,
    has_unknown,
    parse_policy,
    second_deployment_reason,
)

__all__ = ["LIVE_CHECKED", "check_policy_inputs", "check_split_inputs", "live_failures"]

_FOUND_GATEWAYS = Sightings(window_seconds=60.0)

LIVE_CHECKED = ("gateway", "service", "label_key", "stable_version", "canary_version", "canary_deployment")
"""The inputs the live checks look at: an unchanged policy costs no API call."""


def check_policy_inputs(
    olds: Mapping[str, Any],
    news: Mapping[str, Any],
    owner: str | None,
    config: Mapping[str, str],
    is_unknown: IsUnknown,
) -> list[Failure]:
    """Every problem of the inputs; then, for complete valid inputs whose live questions changed, the
    live checks. They only read, so they need no turn of the route (``adapter.serial``)."""
    failures = list(check_policy(news, is_unknown=is_unknown))
    if failures or owner is None or has_unknown(news, is_unknown) or not _live_question_changed(olds, news):
        return failures
    return live_failures(parse_policy(news), owner, config)


def check_split_inputs(news: Mapping[str, Any], is_unknown: IsUnknown) -> list[Failure]:
    return list(check_split(news, is_unknown=is_unknown))


def live_failures(spec: CanaryPolicySpec, owner: str, config: Mapping[str, str]) -> list[Failure]:
    """What the gateway's API and the cluster say against the declared policy."""
    context = DriverContext.of(config, owner)
    return [*_gateway_failures(spec, context), *_pod_failures(spec, context)]


def _gateway_failures(spec: CanaryPolicySpec, context: DriverContext) -> list[Failure]:
    # The engine checks one resource at a time, and a stack's policies mostly share one gateway: asking
    # once a minute whether it exists keeps 200 round trips off the path of a large preview.
    gateway = spec.gateway.model_dump_json()
    if _FOUND_GATEWAYS.recently_seen(gateway):
        return []
    try:
        missing = gateway_driver(spec, context).missing_gateways()
    except CanaryError:
        # The API cannot be reached (retried already) or refuses to say, or no credentials for it are
        # set: a preview in a pull request may run without them, and the pod checks need none. A broken
        # kubeconfig is still reported, by the pod checks, which read the same one.
        return []
    if not missing:
        _FOUND_GATEWAYS.saw(gateway)
    return [Failure(f"gateway.{field}", reason) for field, reason in missing]


def _pod_failures(spec: CanaryPolicySpec, context: DriverContext) -> list[Failure]:
    """Whether the Service's pods carry the label key, whether the stable version has ready pods, and
    whether a declared canary Deployment would run beside pods of the same version it does not own."""
    target = ServiceTarget(spec.service.namespace, spec.service.name, spec.label_key)
    try:
        workloads = context.workloads
        if workloads is None:
            return []
        workloads.selector(target)
        pods = workloads.pods(target)
        foreign_canary = (
            spec.canary_deployment is not None
            and any(labels.get(spec.label_key) == spec.canary_version for labels, _ in pods)
            and workloads.owned_canary(target, spec.canary_version) is None
        )
    except ConfigurationError:
        raise
    except CanaryError:
        return []  # the Service is not there yet, or the API cannot be reached (retried already)
    service = f"{spec.service.namespace}/{spec.service.name}"
    keys = sorted({key for labels, _ in pods for key in labels})
    if spec.label_key not in keys:
        found = ", ".join(keys) or "none (the Service selects no pods)"
        reason = (
            f"no pod of service {service} carries the label {spec.label_key!r}; "
            f"labels found on its pods: {found}"
        )
        return [Failure("label_key", reason)]
    values = sorted({labels[spec.label_key] for labels, ready in pods if ready and spec.label_key in labels})
    if spec.stable_version not in values:
        found = ", ".join(values) or "none"
        reason = (
            f"no ready pod of service {service} has {spec.label_key}={spec.stable_version}; "
            f"ready versions: {found}"
        )
        return [Failure("stable_version", reason)]
    if foreign_canary:
        return [Failure("canary_deployment", second_deployment_reason(spec.label_key, spec.canary_version))]
    return []


def _live_question_changed(olds: Mapping[str, Any], news: Mapping[str, Any]) -> bool:
    """On create, or when anything the live checks look at changes."""
    return not olds or any(olds.get(key) != news.get(key) for key in LIVE_CHECKED)
