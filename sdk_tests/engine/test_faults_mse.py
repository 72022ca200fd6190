"""The fault suite on MSE: API faults injected into real `pulumi up` / `destroy` runs, 32 scenarios.

Each scenario arms the emulator with fault rules for one operation (an action, an error shape, a status
or code, a count, a latency), runs it through the real engine (``fault_scenarios.run``) and then the one
invariant check of ``sdk_tests.engine.invariants`` (safe now; a re-run converges; then nothing is left
to change). A scenario says whether the operation must recover by itself (transient faults are retried
with backoff; writes that timed out are found again instead of duplicated) or fail (a permanent fault
fails fast; a transient one that outlasts the retries fails too) with a message naming the operation
and the request id. Every armed rule must have fired, so a scenario cannot pass without exercising its
fault. The same invariants run on the Kubernetes gateways in ``test_faults_kubernetes``.

Scenarios are grouped so that one stack serves many of them: create/destroy cycles, a sequence of
updates on a running release (where a failure is followed by ``pulumi refresh`` then ``up``), and
adopt/restore cycles of a route made by hand.
"""

from __future__ import annotations

from typing import Any

import pytest

import pulumi_canary as canary
from pulumi_canary.drivers.mse import READ_TIMEOUT_ENV
from pulumi_canary.drivers.retry import ATTEMPTS
from pulumi_canary.emulator import EmulatorServer, FaultRule
from sdk_tests.conftest import StackFactory
from sdk_tests.engine.conftest import Workload
from sdk_tests.engine.fault_scenarios import FailureCheck, Scenario, run, scenario
from sdk_tests.engine.invariants import Deployed, verify, verify_destroyed
from sdk_tests.engine.mse_program import QUIET, Program, add_legacy_route

READ_TIMEOUT_SECONDS = 1.0
BEYOND_TIMEOUT = READ_TIMEOUT_SECONDS + 0.5


def unavailable(action: str, count: int = 1, status: int = 503) -> FaultRule:
    """HTTP 5xx: the SDK raises ServerException."""
    return FaultRule(action=action, status=status, code="ServiceUnavailable", count=count)


def refused(action: str, code: str = "IllegalRequest", count: int = 1) -> FaultRule:
    """HTTP 200 with Success:false (a permanent business error)."""
    return FaultRule(action=action, error_shape="success_false", status=400, code=code, count=count)


def forbidden(action: str) -> FaultRule:
    return FaultRule(action=action, status=403, code="NoPermission")


def throttled(action: str, count: int = 2) -> FaultRule:
    """HTTP 400 with x-acs-retry-after: the SDK raises ThrottlingException."""
    return FaultRule(action=action, status=400, code="Throttling.User", retry_after_ms=50, count=count)


def timed_out(action: str, count: int = 1) -> FaultRule:
    """The action is performed, but its answer comes after the client's read timeout."""
    return FaultRule(
        action=action, error_shape="none", latency_seconds=BEYOND_TIMEOUT, latency_after_action=True,
        count=count,
    )


def slow(action: str, count: int = 1) -> FaultRule:
    return FaultRule(action=action, error_shape="none", latency_seconds=0.5, count=count)


def passes(action: str, count: int = 1) -> FaultRule:
    """Lets ``count`` calls through untouched, so that the next rule hits a later call."""
    return FaultRule(action=action, error_shape="none", count=count)


def mse_failure_check(emulator: EmulatorServer) -> FailureCheck:
    """A failure names the operation and quotes the request id; permanent ones are not retried."""

    def check(case: Scenario, message: str) -> None:
        failing = next(rule for rule in case.faults if rule.error_shape != "none")
        faulted = [r for r in emulator.requests(failing.action) if r.fault and not r.success]
        assert faulted, f"{case}: no faulted {failing.action} request was logged"
        assert f"operation={failing.action}" in message, f"{case}: the error does not name {failing.action}"
        assert f"request_id={faulted[-1].request_id}" in message, f"{case}: the error lacks the request id"
        transient = failing.error_shape == "http" and failing.http_status >= 500
        assert len(faulted) == (ATTEMPTS if transient else 1), (
            f"{case}: {len(faulted)} attempts of {failing.action} (bounded retries for transient faults, "
            "none for permanent ones)"
        )
        assert ("retried with backoff" if transient else "was refused") in message

    return check


@pytest.fixture
def deployed(
    inline_stack: StackFactory, stack_env: dict[str, str], program: Program, emulator: EmulatorServer,
    gateway_id: str, namespace: str, kube: Any, workload: Workload,
) -> Deployed:
    workload.wait_ready(workload.deploy("v2", replicas=1, image="demo:2.0"), 1)
    env = {**stack_env, READ_TIMEOUT_ENV: str(READ_TIMEOUT_SECONDS)}
    stack = inline_stack(program, env=env)
    return Deployed(emulator, gateway_id, namespace, kube, program, stack)


# ---- create / destroy cycles -------------------------------------------------------------------------

CREATE_DESTROY = [
    (
        # The first create on a fresh gateway imports the service.
        scenario("create: ImportServices 500 beyond the retries",
                 unavailable("ImportServices", ATTEMPTS, 500), recovers=False),
        scenario("destroy: OfflineGatewayRoute 500 twice", unavailable("OfflineGatewayRoute", 2, 500),
                 recovers=True),
    ),
    (
        scenario("create: ApplyGatewayRoute Success:false", refused("ApplyGatewayRoute"), recovers=False),
        scenario("destroy: DeleteGatewayRoute Success:false", refused("DeleteGatewayRoute"), recovers=False),
    ),
    (
        scenario("create: AddGatewayRoute times out", timed_out("AddGatewayRoute"), recovers=True),
        scenario("destroy: DeleteGatewayServiceVersion 503 beyond the retries",
                 unavailable("DeleteGatewayServiceVersion", ATTEMPTS), recovers=False),
    ),
    (
        scenario("create: AddGatewayServiceVersion times out", timed_out("AddGatewayServiceVersion"),
                 recovers=True),
        scenario("destroy: UpdateGatewayRoute (traffic to stable) 400 InvalidParameter",
                 FaultRule(action="UpdateGatewayRoute", status=400, code="InvalidParameter"), recovers=False),
    ),
    (
        scenario("create: AddGatewayRoute 503 twice", unavailable("AddGatewayRoute", 2), recovers=True),
        scenario("destroy: ApplyGatewayRoute times out", timed_out("ApplyGatewayRoute"), recovers=True),
    ),
    (
        scenario("create: the split's UpdateGatewayRoute 403", forbidden("UpdateGatewayRoute"),
                 recovers=False),
        scenario("destroy: GetGatewayRouteDetail 500 twice", unavailable("GetGatewayRouteDetail", 2, 500),
                 recovers=True),
    ),
]


def test_create_and_destroy_survive_faults(deployed: Deployed) -> None:
    deployed.program.split = {"weights": {"v1": 90, "v2": 10}}
    check = mse_failure_check(deployed.emulator)
    for create, destroy in CREATE_DESTROY:
        verify(deployed, succeeded=run(deployed, create, deployed.stack.up, check))
        verify_destroyed(deployed, succeeded=run(deployed, destroy, deployed.stack.destroy, check))


# ---- a running release: weight changes, promotions, a policy-owned canary Deployment ------------------

V1_V2 = {"stable_version": "v1", "canary_version": "v2"}
V2_V1 = {"stable_version": "v2", "canary_version": "v1"}
V1_V3 = {
    "stable_version": "v1", "canary_version": "v3",
    "canary_deployment": canary.CanaryDeployment(image="demo:3.0", replicas=1),
}

UPDATES: list[tuple[dict[str, Any], int, Scenario]] = [
    (V1_V2, 20, scenario("split: UpdateGatewayRoute 500 twice", unavailable("UpdateGatewayRoute", 2, 500),
                         recovers=True)),
    (V1_V2, 30, scenario("split: ApplyGatewayRoute Success:false (edited, not published)",
                         refused("ApplyGatewayRoute"), recovers=False)),
    (V1_V2, 40, scenario("split: ApplyGatewayRoute 503 beyond the retries",
                         unavailable("ApplyGatewayRoute", ATTEMPTS), recovers=False)),
    (V1_V2, 50, scenario("split: UpdateGatewayRoute times out", timed_out("UpdateGatewayRoute"),
                         recovers=True)),
    (V1_V2, 10, scenario("split: GetGatewayRouteDetail Success:false with a 500 code",
                         FaultRule(action="GetGatewayRouteDetail", error_shape="success_false", status=500,
                                   code="SystemBusy", count=2), recovers=True)),
    (V1_V2, 20, scenario("split: GetGatewayServiceDetail throttled", throttled("GetGatewayServiceDetail"),
                         recovers=True)),
    (V1_V2, 30, scenario("split: UpdateGatewayRoute 429 without retry-after",
                         FaultRule(action="UpdateGatewayRoute", status=429, code="Throttling", count=2),
                         recovers=True)),
    (V1_V2, 40, scenario("split: UpdateGatewayRoute Success:false Throttling.Api",
                         refused("UpdateGatewayRoute", code="Throttling.Api", count=2), recovers=True)),
    (V2_V1, 0, scenario("promote by rotation: UpdateGatewayRoute 403", forbidden("UpdateGatewayRoute"),
                        recovers=False)),
    (V1_V2, 10, scenario("rotate back: ApplyGatewayRoute times out", timed_out("ApplyGatewayRoute"),
                         recovers=True)),
    (V1_V2, 20, scenario("split: GetGatewayServiceDetail slow", slow("GetGatewayServiceDetail"),
                         recovers=True)),
    (V1_V2, 30, scenario("split: any action 503, three times", unavailable("*", 3), recovers=True)),
    (V1_V3, 10, scenario("new canary v3 with its Deployment: AddGatewayServiceVersion 500 twice",
                         unavailable("AddGatewayServiceVersion", 2, 500), recovers=True)),
    (V1_V2, 0, scenario("back to canary v2: DeleteGatewayServiceVersion Success:false",
                        refused("DeleteGatewayServiceVersion"), recovers=False)),
]


def test_a_running_release_survives_faults(deployed: Deployed) -> None:
    deployed.program.split = {"canary_weight": 10}
    deployed.stack.up(**QUIET)
    check = mse_failure_check(deployed.emulator)
    for policy, canary_weight, case in UPDATES:
        deployed.program.policy = dict(policy)
        deployed.program.split = {"canary_weight": canary_weight}
        # After a failure here the user refreshes first, then runs `pulumi up` again.
        verify(deployed, succeeded=run(deployed, case, deployed.stack.up, check), refresh_first=True)


# ---- adopting a route made by hand, and restoring it --------------------------------------------------

ADOPT_RESTORE = [
    (
        scenario("adopt: the adoption's ApplyGatewayRoute Success:false", refused("ApplyGatewayRoute"),
                 recovers=False),
        # Publishes during destroy: the split's reset, the policy's move to stable, then the restore.
        scenario("restore: the restore's first ApplyGatewayRoute Success:false",
                 passes("ApplyGatewayRoute", 2), refused("ApplyGatewayRoute"), recovers=False),
    ),
    (
        scenario("adopt: UpdateGatewayRoute after the adoption Success:false",
                 passes("UpdateGatewayRoute"), refused("UpdateGatewayRoute"), recovers=False),
        scenario("restore: the hand-back UpdateGatewayRoute 400",
                 passes("UpdateGatewayRoute", 3), FaultRule(action="UpdateGatewayRoute", status=400,
                                                            code="InvalidParameter"), recovers=False),
    ),
    (
        scenario("adopt: GetGatewayRouteDetail times out", timed_out("GetGatewayRouteDetail"), recovers=True),
        scenario("restore: DeleteGatewayServiceVersion 500 twice",
                 unavailable("DeleteGatewayServiceVersion", 2, 500), recovers=True),
    ),
]


def test_adoption_and_restore_survive_faults(deployed: Deployed, console: Any) -> None:
    """A create that fails after adopting leaves Pulumi with no record: the restore copy on the route
    itself must still bring the route back exactly, never delete it."""
    add_legacy_route(console, deployed.gateway_id, deployed.namespace)
    before = deployed.view.route_shape()
    deployed.program.split = {"weights": {"v1": 80, "v2": 20}}
    check = mse_failure_check(deployed.emulator)
    for adopt, restore in ADOPT_RESTORE:
        verify(deployed, succeeded=run(deployed, adopt, deployed.stack.up, check))
        destroyed = run(deployed, restore, deployed.stack.destroy, check)
        verify_destroyed(deployed, succeeded=destroyed, restored=before)


def mse_scenarios() -> list[Scenario]:
    """Every MSE scenario (``test_faults_kubernetes.test_the_suite_has_enough_scenarios`` counts them)."""
    cycles = [case for pair in [*CREATE_DESTROY, *ADOPT_RESTORE] for case in pair]
    return cycles + [case for _, _, case in UPDATES]
