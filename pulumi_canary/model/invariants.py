"""The safety invariants of a managed route, written once and reused by every test suite.

``check_invariants`` describes what a route managed by a policy (and its split) must look like after
any completed ``pulumi up``; driver, engine and fault-injection tests call it on the live state they
read back. ``safety_violations`` is the weaker property that must hold after EVERY single step, even
in the middle of a plan that failed.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from .live import LiveRoute
from .specs import CanaryPolicySpec, TrafficSplitSpec, _VersionedSpec

__all__ = ["check_invariants", "safety_violations"]


def safety_violations(live: LiveRoute) -> list[str]:
    """Problems that mean users can get errors right now: weights not summing to 100, or weights on a
    version that is not defined. A route without per-version weights (empty) is safe."""
    if not live.exists or not live.weights:
        return []
    problems: list[str] = []
    total = sum(live.weights.values())
    if total != 100:
        problems.append(f"weights sum to {total}, not 100 ({_listed(live.weights)})")
    problems.extend(
        f"version {version!r} has weight {percent} but is not defined"
        for version, percent in live.weights.items()
        if version not in live.versions
    )
    problems.extend(
        f"version {version!r} has a negative weight {percent}"
        for version, percent in live.weights.items()
        if percent < 0
    )
    return problems


def check_invariants(
    live: LiveRoute,
    spec: CanaryPolicySpec | TrafficSplitSpec,
    *,
    foreign_versions: Collection[str] = (),
) -> list[str]:
    """Every way ``live`` falls short of a correctly managed route for ``spec``; empty when it is fine.

    Checks: the route exists; weights name exactly the two declared versions and sum to 100; every
    weighted version is defined with the right labels and, when its weight is above 0, has ready
    endpoints (unless ``allow_unready``); no other version is defined (except ``foreign_versions``, e.g.
    versions other routes of an MSE service use); owned Deployments exist only for the two versions;
    for a policy, the declared canary Deployment is live as declared; for a split, the weights are the
    declared ones.
    """
    if not live.exists:
        return ["the route does not exist"]
    return [
        *safety_violations(live),
        *_weight_problems(live, spec),
        *_version_problems(live, spec, foreign_versions),
        *_deployment_problems(live, spec),
    ]


def _weight_problems(live: LiveRoute, spec: _VersionedSpec) -> list[str]:
    problems: list[str] = []
    if set(live.weights) != set(spec.versions):
        problems.append(
            f"the route's weights name {sorted(live.weights)}, not exactly the versions {list(spec.versions)}"
        )
    if not spec.allow_unready:
        problems.extend(
            f"version {version!r} has weight {percent} but {live.ready(version)} ready endpoints"
            for version, percent in live.weights.items()
            if percent > 0 and live.ready(version) < 1
        )
    if isinstance(spec, TrafficSplitSpec) and dict(live.weights) != spec.resolved_weights():
        problems.append(f"weights are {_listed(live.weights)}, declared {_listed(spec.resolved_weights())}")
    return problems


def _version_problems(live: LiveRoute, spec: _VersionedSpec, foreign_versions: Collection[str]) -> list[str]:
    problems = [
        f"version {version!r} selects {dict(live.versions[version])}, not {spec.version_labels(version)}"
        for version in spec.versions
        if version in live.versions and dict(live.versions[version]) != spec.version_labels(version)
    ]
    problems.extend(
        f"version {version!r} is not defined" for version in spec.versions if version not in live.versions
    )
    problems.extend(
        f"version {version!r} is defined but is neither stable nor canary (orphaned)"
        for version in live.versions
        if version not in spec.versions and version not in foreign_versions
    )
    return problems


def _deployment_problems(live: LiveRoute, spec: _VersionedSpec) -> list[str]:
    problems = [
        f"a canary Deployment owned by the policy still exists for version {version!r} (orphaned)"
        for version in live.deployments
        if version not in spec.versions
    ]
    if isinstance(spec, CanaryPolicySpec) and spec.canary_deployment is not None:
        current = live.deployments.get(spec.canary_version)
        declared = spec.canary_deployment
        if current is None:
            problems.append(f"the canary Deployment of version {spec.canary_version!r} does not exist")
        elif (current.image, current.replicas) != (declared.image, declared.replicas):
            problems.append(
                f"the canary Deployment runs {current.image} x{current.replicas}, "
                f"declared {declared.image} x{declared.replicas}"
            )
    return problems


def _listed(weights: Mapping[str, int]) -> str:
    return ", ".join(f"{version}={percent}" for version, percent in weights.items())
