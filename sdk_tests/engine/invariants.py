"""The one invariant check of the engine tests, for every gateway, run after every fault scenario.

``Release`` ties together what a test declared (its program) and where it lives (a ``GatewayView`` of
the gateway, the cluster namespace, the stack). The live route is read through the gateway's own driver,
opened from the registry the way the providers open it (``drivers.factory.open_session``), so nothing
here names a driver; the view adds what the gateway's own objects say (``gateway_views``). ``verify`` is
the check after an ``up``:

1. safe now, whatever the operation did (even a failed one): the model's ``safety_violations`` on the
   live route, no weight on a version without ready endpoints, and no route of the gateway (the
   policy's or not) sending traffic to a version that is missing or has no ready endpoints;
2. a re-run converges: after a failed operation ``up`` runs again without faults (after a successful
   one an ``up`` would have nothing to do: step 3 proves it), then the declared state must be live (the
   model's ``check_invariants``: declared weights and versions, no orphaned versions or owned canary
   Deployments, the declared canary Deployment), the route carries the policy's mark, and the
   gateway's own checks hold (MSE: published; every gateway: exactly one route entry of the path);
3. after that, nothing is left to change: a preview shows only ``same``.

``verify_destroyed`` is its counterpart after ``destroy``: safe now, then (after a failed one) a re-run
of ``destroy`` leaves nothing carrying the policy's marks (routes, versions, per-version Services,
DestinationRules, owned Deployments), and an adopted route is back exactly as it was.

``Deployed`` is a ``Release`` on the MSE emulator, built the way the MSE engine tests build it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from lightkube.resources.apps_v1 import Deployment

from pulumi_canary.adapter.resources import SPLIT_INPUTS
from pulumi_canary.drivers.executor import read_live
from pulumi_canary.drivers.factory import open_session
from pulumi_canary.drivers.workloads import OWNER_ANNOTATION, VERSION_ANNOTATION, Workloads
from pulumi_canary.emulator import EmulatorServer
from pulumi_canary.model import (
    CanaryPolicySpec,
    LiveRoute,
    TrafficSplitSpec,
    check_invariants,
    parse_policy,
    parse_split,
    safety_violations,
)
from sdk_tests.engine.conftest import SERVICE
from sdk_tests.engine.gateway_views import GatewayView, MseView
from sdk_tests.engine.mse_program import POLICY_SETTINGS, QUIET

PROJECT = "canarytest"


class Declared(Protocol):
    """What a test's program declares (``mse_program.Program``, ``kube_program.Program``)."""

    gateway: Any
    route: Any
    policy: dict[str, Any]
    split: dict[str, Any] | None


@dataclass
class Release:
    """A test's program, stack and surroundings, on any gateway."""

    view: GatewayView
    namespace: str
    kube: Any
    program: Declared
    stack: Any
    stack_name: str = "test"
    foreign_versions: tuple[str, ...] = ()

    @property
    def owner(self) -> str:
        return f"{PROJECT}/{self.stack_name}/demo"

    @property
    def allow_unready(self) -> bool:
        return bool(self.program.policy.get("allow_unready"))

    # ---- the declared state, as the providers parse it ----------------------------------------------

    def policy_spec(self) -> CanaryPolicySpec:
        declared = dict(self.program.policy)
        deployment = declared.pop("canary_deployment", None)
        props: dict[str, Any] = {
            "gateway": self.program.gateway.to_props(),
            "service": {"name": SERVICE, "namespace": self.namespace, "port": 80},
            "route": self.program.route.to_props(),
            **POLICY_SETTINGS,
            **declared,
        }
        if deployment is not None:
            props["canary_deployment"] = deployment.to_props()
        return parse_policy(props)

    def split_spec(self) -> TrafficSplitSpec | None:
        if self.program.split is None:
            return None
        policy = self.policy_spec().to_props()
        props = {key: policy[key] for key in SPLIT_INPUTS} | {"policy": self.owner, **self.program.split}
        return parse_split(props)

    # ---- what is live ---------------------------------------------------------------------------------

    def live(self) -> LiveRoute:
        """The policy's route as its gateway's driver reads it, with the canary Deployments it owns."""
        spec = self.policy_spec()
        session = open_session(spec, self.view.config(), self.owner)
        workloads = Workloads(self.kube, self.owner)  # the test's client: the stack's may be faulty
        return read_live(session.gateway, workloads, session.target, spec.route, None, spec.versions)

    def owned_deployments(self) -> dict[str, str]:
        """Deployments in the namespace that carry this policy's ownership annotation: name -> version."""
        found = {}
        for deployment in self.kube.list(Deployment, namespace=self.namespace):
            annotations = deployment.metadata.annotations or {}
            if annotations.get(OWNER_ANNOTATION) == self.owner:
                found[deployment.metadata.name] = annotations.get(VERSION_ANNOTATION, "")
        return found


class Deployed(Release):
    """A release on the MSE emulator's gateway ``gateway_id``."""

    def __init__(
        self,
        emulator: EmulatorServer,
        gateway_id: str,
        namespace: str,
        kube: Any,
        program: Declared,
        stack: Any,
        stack_name: str = "test",
        foreign_versions: tuple[str, ...] = (),
    ) -> None:
        super().__init__(MseView(emulator, gateway_id), namespace, kube, program, stack, stack_name,
                         foreign_versions)
        self.emulator = emulator
        self.gateway_id = gateway_id

    def routes(self) -> list[dict[str, Any]]:
        return MseView(self.emulator, self.gateway_id).routes()


# ---- the checks ---------------------------------------------------------------------------------------


def unsafe(release: Release) -> list[str]:
    """What would hurt users right now, on the policy's route and on every route of the gateway."""
    live = release.live()
    problems = release.view.unsafe(release, live)
    problems.extend(safety_violations(live))
    if not release.allow_unready:
        problems.extend(
            f"version {version!r} has weight {percent} but {live.ready(version)} ready endpoints"
            for version, percent in live.weights.items()
            if percent > 0 and live.ready(version) < 1
        )
    return problems


def not_converged(release: Release) -> list[str]:
    """Every way the live state differs from the declared one."""
    live = release.live()
    problems = check_invariants(live, release.policy_spec(), foreign_versions=release.foreign_versions)
    split = release.split_spec()
    if split is not None:
        problems += check_invariants(live, split, foreign_versions=release.foreign_versions)
    if live.exists and live.owner != "self":
        problems.append(f"the route {live.route_id} does not carry the policy's mark (owner: {live.owner})")
    problems += release.view.unconverged(release)
    versions = release.policy_spec().versions
    for name, version in release.owned_deployments().items():
        if version not in versions:
            problems.append(f"owned Deployment {name} (version {version}) is orphaned")
    return problems


def changes(summary: dict[str, int]) -> dict[str, int]:
    return {kind: count for kind, count in summary.items() if kind != "same" and count}


def verify(release: Release, *, succeeded: bool, refresh_first: bool = False) -> None:
    """The invariant check after an ``up`` (faulted or not): safe now, converges on a re-run, then stable.
    ``refresh_first``: the re-run is ``pulumi refresh`` then ``up`` (what a user may do after a failure)."""
    problems = unsafe(release)
    assert not problems, f"unsafe after the operation: {problems}"
    release.view.faults.clear_faults()
    if not succeeded:
        if refresh_first:
            release.stack.refresh(**QUIET)
        release.stack.up(**QUIET)
    # After a successful operation the re-run is the preview: an `up` would have nothing to do.
    problems = not_converged(release)
    assert not problems, f"{'the operation' if succeeded else 'a re-run'} did not converge: {problems}"
    preview = release.stack.preview(**QUIET)
    left = changes(preview.change_summary)
    assert not left, f"after converging, preview still shows {left}"


def verify_destroyed(release: Release, *, succeeded: bool = False, restored: Any = None) -> None:
    """The invariant check after a ``destroy`` (faulted or not). ``restored``: an adopted route's shape
    before adoption (``view.route_shape()``), which must be back exactly. ``succeeded``: the destroy
    went through, so the stack is empty and a re-run would have nothing to do: it is skipped."""
    problems = unsafe(release)
    assert not problems, f"unsafe after the destroy: {problems}"
    release.view.faults.clear_faults()
    if not succeeded:
        release.stack.destroy(**QUIET)
    problems = release.view.leftovers(release, release.live(), adopted=restored is not None)
    assert not problems, f"left after destroy: {problems}"
    assert not release.owned_deployments(), f"owned Deployments left: {release.owned_deployments()}"
    if restored is not None:
        assert release.view.route_shape() == restored, "the adopted route is not back as it was"
