"""Checks against the live cluster that ``check()`` runs whenever the APIs can be reached.

They catch, in ``pulumi preview``, a label key that no pod carries and a stable version that selects no
ready pod. When the API cannot be reached (no credentials yet, network), or the Service does not exist
yet (the same program may be creating it), they say nothing: the plan's readiness waits still guard
every write.
"""

from __future__ import annotations

from pulumi.dynamic import CheckFailure

from ..errors import CanaryError, PreconditionError
from ..model import CanaryPolicySpec


def policy_live_failures(spec: CanaryPolicySpec, owner: str) -> list[CheckFailure]:
    from .providers import open_session

    try:
        session = open_session(spec, owner)
        if session.workloads is None:
            return []
        session.workloads.selector(session.target)
        pods = session.workloads.pods(session.target)
    except PreconditionError:
        return []  # the Service is not there yet, or no cluster access: nothing to check against
    except CanaryError:
        return []  # the API cannot be reached (retried already): the plan's readiness waits still guard
    service = f"{spec.service.namespace}/{spec.service.name}"
    keys = sorted({key for labels, _ in pods for key in labels})
    if spec.label_key not in keys:
        found = ", ".join(keys) or "none (the Service selects no pods)"
        return [
            CheckFailure(
                "label_key",
                f"no pod of service {service} carries the label {spec.label_key!r}; "
                f"labels found on its pods: {found}",
            )
        ]
    values = sorted({labels[spec.label_key] for labels, ready in pods if ready and spec.label_key in labels})
    if spec.stable_version not in values:
        found = ", ".join(values) or "none"
        return [
            CheckFailure(
                "stable_version",
                f"no ready pod of service {service} has "
                f"{spec.label_key}={spec.stable_version}; ready versions: {found}",
            )
        ]
    return []
