"""The one invariant check of the MSE engine tests, written once and run after every fault scenario.

``Deployed`` ties together what a test declared (its ``Program``) and where it lives (emulator, gateway,
cluster namespace, stack). ``verify`` is the check:

1. safe now, whatever the operation did (even a failed one): every versioned route's percentages sum to
   100, every destination version exists, and every version with weight > 0 has ready endpoints;
2. a re-run converges: after a failed operation ``up`` runs again without faults (after a successful
   one an ``up`` would have nothing to do: step 3 proves it), then the declared state must be live (the
   model's ``check_invariants`` on what the driver reads back: declared weights and versions, no
   orphaned versions or owned canary Deployments, the declared canary Deployment), every managed route
   published, and exactly one route of the policy's path;
3. after that, nothing is left to change: a preview shows only ``same``.

``verify_destroyed`` is its counterpart after ``destroy``: safe now, then a re-run of ``destroy`` leaves
no route marked by the policy, no version and no owned Deployment (an adopted route is back as it was).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from lightkube.resources.apps_v1 import Deployment

from pulumi_canary.adapter.resources import SPLIT_INPUTS
from pulumi_canary.drivers.credentials import AlibabaCredentials
from pulumi_canary.drivers.executor import read_live
from pulumi_canary.drivers.mse import OWNER_PREFIX, MseDriver, owner_marker
from pulumi_canary.drivers.workloads import OWNER_ANNOTATION, ServiceTarget, Workloads
from pulumi_canary.emulator import EmulatorServer
from pulumi_canary.model import (
    CanaryPolicySpec,
    LiveRoute,
    MseGatewaySpec,
    TrafficSplitSpec,
    check_invariants,
    parse_policy,
    parse_split,
    safety_violations,
)
from sdk_tests.engine.conftest import ACCESS_KEY_ID, ACCESS_KEY_SECRET, SERVICE
from sdk_tests.engine.mse_program import POLICY_SETTINGS, QUIET, Program, gateway_routes

PROJECT = "canarytest"


@dataclass
class Deployed:
    """A test's program, stack and surroundings."""

    emulator: EmulatorServer
    gateway_id: str
    namespace: str
    kube: Any
    program: Program
    stack: Any
    stack_name: str = "test"
    foreign_versions: tuple[str, ...] = ()
    log: list[str] = field(default_factory=list)

    @property
    def owner(self) -> str:
        return f"{PROJECT}/{self.stack_name}/demo"

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

    def driver(self) -> MseDriver:
        spec = self.policy_spec()
        credentials = AlibabaCredentials(ACCESS_KEY_ID, ACCESS_KEY_SECRET)
        assert isinstance(spec.gateway, MseGatewaySpec)
        return MseDriver(spec.gateway, spec.service, credentials, self.owner, spec.canary_version)

    def live(self) -> LiveRoute:
        spec = self.policy_spec()
        target = ServiceTarget(self.namespace, SERVICE, spec.label_key)
        workloads = Workloads(self.kube, self.owner)
        return read_live(self.driver(), workloads, target, spec.route, None, spec.versions)

    def routes(self) -> list[dict[str, Any]]:
        return gateway_routes(self.emulator, self.gateway_id)

    def service_versions(self) -> dict[str, int]:
        """Ready endpoints per version defined on the gateway's copy of the service."""
        _, ready = self.driver().versions_and_endpoints()
        return ready

    def owned_deployments(self) -> dict[str, str]:
        """Deployments in the namespace that carry this policy's ownership annotation: name -> version."""
        found = {}
        for deployment in self.kube.list(Deployment, namespace=self.namespace):
            annotations = deployment.metadata.annotations or {}
            if annotations.get(OWNER_ANNOTATION) == self.owner:
                found[deployment.metadata.name] = annotations.get("pulumi-canary.io/version", "")
        return found


# ---- the checks ---------------------------------------------------------------------------------------


def unsafe(deployed: Deployed) -> list[str]:
    """What would hurt users right now, on any route of the gateway (published or not)."""
    problems: list[str] = []
    allow_unready = bool(deployed.program.policy.get("allow_unready"))
    ready = deployed.service_versions()
    for route in deployed.routes():
        if route["DestinationType"] != "VersionOriented":
            continue
        entries = route["RouteServices"]
        total = sum(int(entry["Percent"] or 0) for entry in entries)
        if total != 100:
            problems.append(f"route {route['Name']}: percentages sum to {total}: {entries}")
        for entry in entries:
            version, percent = entry.get("Version"), int(entry["Percent"] or 0)
            if version not in ready:
                problems.append(f"route {route['Name']}: version {version!r} does not exist")
            elif percent > 0 and ready[version] < 1 and not allow_unready:
                problems.append(f"route {route['Name']}: version {version!r} has {percent}% and no endpoints")
    problems.extend(safety_violations(deployed.live()))
    return problems


def not_converged(deployed: Deployed) -> list[str]:
    """Every way the live state differs from the declared one."""
    live = deployed.live()
    problems = check_invariants(live, deployed.policy_spec(), foreign_versions=deployed.foreign_versions)
    split = deployed.split_spec()
    if split is not None:
        problems += check_invariants(live, split, foreign_versions=deployed.foreign_versions)
    ours = [r for r in deployed.routes() if str(r["Description"]).startswith(owner_marker(deployed.owner))]
    problems += [f"route {r['Name']} is unpublished (status {r['Status']})" for r in ours if r["Status"] != 3]
    path = deployed.program.route.path
    if path is not None:
        same_path = [
            r
            for r in deployed.routes()
            if r["Predicates"]["PathPredicates"]["Path"] == path
            and not r["Predicates"].get("HeaderPredicates")
        ]
        if len(same_path) != 1:
            problems.append(f"{len(same_path)} routes match {path}: {[r['Name'] for r in same_path]}")
    spec = deployed.policy_spec()
    for name, version in deployed.owned_deployments().items():
        if version not in spec.versions:
            problems.append(f"owned Deployment {name} (version {version}) is orphaned")
    return problems


def changes(summary: dict[str, int]) -> dict[str, int]:
    return {kind: count for kind, count in summary.items() if kind != "same" and count}


def verify(deployed: Deployed, *, succeeded: bool, refresh_first: bool = False) -> None:
    """The invariant check after an ``up`` (faulted or not): safe now, converges on a re-run, then stable.
    ``refresh_first``: the re-run is ``pulumi refresh`` then ``up`` (what a user may do after a failure)."""
    problems = unsafe(deployed)
    assert not problems, f"unsafe after the operation: {problems}"
    deployed.emulator.clear_faults()
    if not succeeded:
        if refresh_first:
            deployed.stack.refresh(**QUIET)
        deployed.stack.up(**QUIET)
    # After a successful operation the re-run is the preview: an `up` would have nothing to do.
    problems = not_converged(deployed)
    assert not problems, f"{'the operation' if succeeded else 'a re-run'} did not converge: {problems}"
    preview = deployed.stack.preview(**QUIET)
    left = changes(preview.change_summary)
    assert not left, f"after converging, preview still shows {left}"


def verify_destroyed(deployed: Deployed, *, restored: dict[str, Any] | None = None) -> None:
    """The invariant check after a ``destroy`` (faulted or not). ``restored``: an adopted route's shape
    before adoption (``restored_shape``), which must be back exactly."""
    problems = unsafe(deployed)
    assert not problems, f"unsafe after the destroy: {problems}"
    deployed.emulator.clear_faults()
    deployed.stack.destroy(**QUIET)
    marked = [r["Name"] for r in deployed.routes() if str(r["Description"]).startswith(OWNER_PREFIX)]
    assert not marked, f"routes still marked by pulumi-canary: {marked}"
    leftover = set(deployed.service_versions()) - set(deployed.foreign_versions)
    assert not leftover, f"versions left on the gateway: {leftover}"
    assert not deployed.owned_deployments(), f"owned Deployments left: {deployed.owned_deployments()}"
    if restored is None:
        assert not deployed.routes(), f"routes left: {[r['Name'] for r in deployed.routes()]}"
    else:
        (route,) = deployed.routes()
        assert restored_shape(route) == restored, "the adopted route is not back as it was"
        assert route["Status"] == 3, "the restored route must be published"


def restored_shape(route: dict[str, Any]) -> dict[str, Any]:
    """What restoring an adopted route must bring back exactly."""
    keys = ("ServiceId", "Percent", "Version", "ServicePort")
    services = [{key: entry.get(key) for key in keys} for entry in route["RouteServices"]]
    return {
        "Name": route["Name"],
        "Description": route["Description"],
        "DestinationType": route["DestinationType"],
        "Services": services,
        "Predicates": json.loads(json.dumps(route["Predicates"])),
    }
