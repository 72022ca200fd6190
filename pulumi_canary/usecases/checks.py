"""The preview-time checks: every problem of the declared inputs, then questions to the live cluster.

The live checks catch, in ``pulumi preview``, a label key that no pod carries and a stable version that
selects no ready pod. They run only for complete, valid inputs whose pods question changed, and only
against the cluster (a gateway's API is not needed). When the cluster cannot be reached, or the Service
does not exist yet (the same program may be creating it), they say nothing: the plan's readiness waits
still guard every write. A configuration problem (a broken kubeconfig) is not silenced.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..drivers.context import DriverContext
from ..drivers.workloads import ServiceTarget
from ..errors import CanaryError, ConfigurationError, Failure
from ..model import CanaryPolicySpec, IsUnknown, check_policy, check_split, has_unknown, parse_policy

__all__ = ["LIVE_CHECKED", "LiveChecks", "check_policy_inputs", "check_split_inputs", "live_pod_failures"]

LiveChecks = Callable[[CanaryPolicySpec, str, Mapping[str, str]], list[Failure]]

LIVE_CHECKED = ("service", "label_key", "stable_version")
"""The inputs the live checks look at: an unchanged policy costs no API call."""


def check_policy_inputs(
    olds: Mapping[str, Any],
    news: Mapping[str, Any],
    owner: str | None,
    config: Mapping[str, str],
    is_unknown: IsUnknown,
    live_checks: LiveChecks | None = None,
) -> list[Failure]:
    """Every problem of the inputs; then, for complete valid inputs whose pods question changed,
    ``live_checks`` (``live_pod_failures`` unless the caller wraps it, e.g. to take turns)."""
    failures = list(check_policy(news, is_unknown=is_unknown))
    if failures or owner is None or has_unknown(news, is_unknown) or not _pods_question_changed(olds, news):
        return failures
    return (live_checks or live_pod_failures)(parse_policy(news), owner, config)


def check_split_inputs(news: Mapping[str, Any], is_unknown: IsUnknown) -> list[Failure]:
    return list(check_split(news, is_unknown=is_unknown))


def live_pod_failures(spec: CanaryPolicySpec, owner: str, config: Mapping[str, str]) -> list[Failure]:
    """Whether the Service's pods carry the label key, and whether the stable version has ready pods."""
    target = ServiceTarget(spec.service.namespace, spec.service.name, spec.label_key)
    try:
        workloads = DriverContext.of(config, owner).workloads
        if workloads is None:
            return []
        workloads.selector(target)
        pods = workloads.pods(target)
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
    return []


def _pods_question_changed(olds: Mapping[str, Any], news: Mapping[str, Any]) -> bool:
    """On create, or when the service, label key or stable version changes."""
    return not olds or any(olds.get(key) != news.get(key) for key in LIVE_CHECKED)
