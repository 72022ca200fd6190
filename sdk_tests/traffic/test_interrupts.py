"""Interrupts under load: `pulumi up` killed with SIGKILL in the middle of weight changes and
promotions, on the Gateway API and on MSE, while real requests flow through Traefik.

One stack per gateway goes through a release (10% -> 50% -> 0%, a promotion to a new label value with
a new canary Deployment, 50% to it, a second promotion that removes the first canary's version; its
Deployment, released at its own promotion, stays). At the kill points below, either the dynamic
provider (``python -m pulumi.dynamic``) or the Pulumi CLI is killed with SIGKILL: each is found through
``/proc``, among the processes whose environment carries this test's own ``PULUMI_HOME``, so nothing
else on the machine is touched.

MSE kill points are opened with emulator fault rules that hold a call (so the kill lands at a known
step): the readiness read before the weights move, ApplyGatewayRoute after UpdateGatewayRoute (the
route is edited, not published, and must keep serving the weights published before), ApplyGatewayRoute
after it acted, and the drain of a promotion (after the weights moved, before DeleteGatewayServiceVersion).
Gateway API kill points come from lightkube watches: the HTTPRoute's backendRef weights changing, and a
per-version Service being deleted; the drain is the plan's wait after the weights moved.

What is proven, for every kill point, over the requests from the start of the killed `up` to the end of
the fresh one: none fails (no answer, or a 5xx) and every answer comes from a version that had a share of
the traffic before or after the change (a version at 0% that answers got requests meant for a removed
one). The kill landed where it says (checked right after it where the window allows), and a fresh
`pulumi up` (after `pulumi cancel` when the killed CLI left its lock; the CLI then warns about the
interrupted operation and proceeds) converges: Traefik serves exactly the declared weights, the namespace
holds exactly the declared Deployments (MSE: the gateway exactly the declared versions), and a preview
shows no change. A killed CLI leaves its provider running (Pulumi's dynamic provider does not notice that
its engine died): it finishes the operation it was in, and is ended once the fresh `up` has converged,
so that a late retry of it cannot act in a later kill point.
"""

from __future__ import annotations

import contextlib
import gc
import inspect
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from lightkube.resources.core_v1 import Service
from pulumi.automation.errors import CommandError, ConcurrentUpdateError

import pulumi_canary as canary
from pulumi_canary.drivers.gateway_api import http_route_resource
from pulumi_canary.emulator import FaultRule
from rig.load import LoadRun, Record
from sdk_tests.engine.conftest import SERVICE, Workload
from sdk_tests.engine.mse_program import gateway_routes, versions_on_gateway
from sdk_tests.traffic.release import GATEWAYS, QUIET, Release, Target

RATE = 60  # requests per second, from 4 threads
LOAD_BOUND = {"requests": 60 * 300, "seconds": 300.0}
# How long a faulted MSE call is held: the kill comes long before, and a provider left running after a
# killed CLI gets its answer before the SDK's read timeout (15 s), so it never retries the call later.
HOLD_SECONDS = 10.0
EDITED_NOT_PUBLISHED = 4  # an MSE route's Status
CLI, PROVIDER = "the Pulumi CLI", "the dynamic provider"
TORN_CHECKPOINT = "failed to load checkpoint: EOF"


# ---- the processes of this test's Pulumi workspace ----------------------------------------------------


@dataclass(frozen=True)
class PulumiProcess:
    pid: int
    parent: int
    argv: tuple[str, ...]

    @property
    def is_cli_up(self) -> bool:
        return Path(self.argv[0]).name == "pulumi" and "up" in self.argv[1:4]

    @property
    def is_provider(self) -> bool:
        return "pulumi.dynamic" in self.argv[1:4]


def workspace_processes(pulumi_home: Path) -> list[PulumiProcess]:
    """Live processes started with ``PULUMI_HOME=pulumi_home``: the CLI and everything it started."""
    marker = f"PULUMI_HOME={pulumi_home}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            argv = tuple(part.decode() for part in (entry / "cmdline").read_bytes().split(b"\0") if part)
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):
            continue  # gone meanwhile, or not ours to read
        if argv:  # a zombie has no command line
            found.append(PulumiProcess(int(entry.name), parent, argv))
    return found


def victim(pulumi_home: Path, who: str) -> PulumiProcess:
    """The running `pulumi up`, or the dynamic provider it started (not one a killed CLI left behind)."""
    processes = workspace_processes(pulumi_home)
    clis = [process for process in processes if process.is_cli_up]
    assert len(clis) == 1, f"one `pulumi up` should be running: {processes}"
    if who == CLI:
        return clis[0]
    parents = {process.pid: process.parent for process in processes}
    providers = [
        process
        for process in processes
        if process.is_provider and clis[0].pid in (process.parent, parents.get(process.parent))
    ]
    assert len(providers) == 1, f"one dynamic provider of {clis[0]} should be running: {processes}"
    return providers[0]


def kill(process: PulumiProcess) -> None:
    """SIGKILL, then wait until it is gone (a zombie counts as gone)."""
    os.kill(process.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while running(process.pid) and time.monotonic() < deadline:
        time.sleep(0.01)


def running(pid: int) -> bool:
    try:
        return bool((Path("/proc") / str(pid) / "cmdline").read_bytes())
    except OSError:
        return False


def end_all(pulumi_home: Path) -> None:
    """End what a killed CLI left running in this workspace (its orphaned provider)."""
    for process in workspace_processes(pulumi_home):
        kill(process)


def close_killed_programs() -> None:
    """Close the inline programs of killed runs. The Automation API leaves one pending when its engine
    dies (its cleanup calls the dead engine and fails before it cancels the program's tasks); left alone,
    its coroutine is collected in some later test and fails it as an unraisable exception. Called
    between runs only, when no program is running."""
    for candidate in gc.get_objects():
        if (
            inspect.iscoroutine(candidate)
            and candidate.__qualname__ == "run_in_stack"
            and candidate.cr_frame is not None
            and not candidate.cr_running
        ):
            with contextlib.suppress(RuntimeError):  # its cleanup needs a running event loop
                candidate.close()


@pytest.fixture
def leftovers_ended(pulumi_root: Path) -> Iterator[None]:
    yield
    end_all(pulumi_root / "home")
    close_killed_programs()


# ---- the release and its kill points ------------------------------------------------------------------


@dataclass
class Story:
    """One stack under load on one gateway, and what a kill point needs to reach it."""

    gateway: Target
    stack: Any
    release: Release
    kube: Any
    workload: Workload
    path: str
    load: LoadRun
    pulumi_root: Path
    served: dict[str, int] = field(default_factory=dict)

    @property
    def pulumi_home(self) -> Path:
        return self.pulumi_root / "home"

    @property
    def backend(self) -> Path:
        return self.pulumi_root / "backend"

    @property
    def emulator(self) -> Any:
        assert self.gateway.emulator is not None
        return self.gateway.emulator

    def serving(self) -> dict[str, int]:
        """The versions Traefik sends this route's requests to, with their weights (0 left out)."""
        weights = self.gateway.traefik.served_weights(self.gateway.provider, self.path)
        return {self.gateway.version_of(name): weight for name, weight in weights.items() if weight > 0}

    def serves(self, weights: Mapping[str, int]) -> bool:
        return self.serving() == {version: weight for version, weight in weights.items() if weight > 0}


Moment = Callable[[], bool]


@dataclass(frozen=True)
class KillPoint:
    """Where a `pulumi up` is killed: ``arm`` prepares it before the up starts and answers the moment to
    kill at; ``landed`` checks, right after the kill, that it landed where it says."""

    what: str
    who: str
    arm: Callable[[Story, Step], Moment]
    landed: Callable[[Story, Step], None] = lambda _story, _step: None


@dataclass(frozen=True)
class Step:
    """One change of the release: the declarations, what the gateway then serves, which Deployments
    the namespace then holds, and where each gateway's `pulumi up` is killed (none: a plain up)."""

    name: str
    policy: dict[str, Any]
    split: dict[str, Any]
    served: dict[str, int]
    deployments: set[str]
    kills: Mapping[str, KillPoint]

    @property
    def versions(self) -> set[str]:
        return {self.policy["stable_version"], self.policy["canary_version"]}

    @property
    def weighted(self) -> set[str]:
        """The versions that get a share of the requests."""
        return {version for version, weight in self.served.items() if weight > 0}


def deployments(*versions: str) -> set[str]:
    return {f"{SERVICE}-{version}" for version in versions}


# MSE: emulator fault rules hold one call.


def held(action: str) -> FaultRule:
    """The call arrives and is held, then refused: it never acts."""
    return FaultRule(action=action, status=503, code="ServiceUnavailable", latency_seconds=HOLD_SECONDS)


def acted_then_held(action: str) -> FaultRule:
    """The call acts at once; its answer is held."""
    return FaultRule(
        action=action, error_shape="none", latency_seconds=HOLD_SECONDS, latency_after_action=True
    )


def fault_arrived(rule: FaultRule) -> Callable[[Story, Step], Moment]:
    def arm(story: Story, _step: Step) -> Moment:
        story.emulator.clear_requests()
        story.emulator.add_faults([rule])
        return lambda: not story.emulator.pending_faults()

    return arm


def fault_arrived_and_traffic_moved(rule: FaultRule) -> Callable[[Story, Step], Moment]:
    def arm(story: Story, step: Step) -> Moment:
        arrived = fault_arrived(rule)(story, step)
        return lambda: arrived() and story.serves(step.served)

    return arm


def published_then_draining(story: Story, step: Step) -> Moment:
    """After the promotion's ApplyGatewayRoute answered and Traefik serves the new weights: the plan
    now waits drain_seconds before it removes anything."""
    story.emulator.clear_requests()
    return lambda: bool(story.emulator.requests("ApplyGatewayRoute")) and story.serves(step.served)


def nothing_moved(story: Story, _step: Step) -> None:
    assert not story.emulator.requests("UpdateGatewayRoute"), "killed before the route was written"
    assert story.serves(story.served), story.serving()


def edited_not_published(story: Story, _step: Step) -> None:
    (route,) = gateway_routes(story.emulator, story.gateway.gateway_id or "")
    assert route["Status"] == EDITED_NOT_PUBLISHED, route
    assert story.serves(story.served), f"an unpublished edit moved traffic: {story.serving()}"


def nothing_removed_yet(story: Story, _step: Step) -> None:
    assert not story.emulator.requests("DeleteGatewayServiceVersion"), "killed during the drain"


# Gateway API: lightkube watches.


def watch_until(
    kube: Any, resource: Any, namespace: str, since: str, seen: Callable[[str, Any], bool]
) -> Moment:
    """A watch of ``resource`` from resourceVersion ``since``; the moment comes with the first event
    that ``seen`` accepts. (The daemon thread ends there; a moment that never comes fails the test.)"""
    happened = threading.Event()

    def follow() -> None:
        for kind, obj in kube.watch(resource, namespace=namespace, resource_version=since):
            if seen(kind, obj):
                happened.set()
                return

    threading.Thread(target=follow, name="kill-point-watch", daemon=True).start()
    return happened.is_set


def backend_weights(route: Any) -> dict[str, int]:
    return {
        ref["name"]: ref.get("weight", 1)
        for rule in route.spec.get("rules", [])
        for ref in rule.get("backendRefs", [])
    }


def http_route_weights_change(story: Story, _step: Step) -> Moment:
    resource = http_route_resource()
    namespace = story.release.namespace
    (route,) = story.kube.list(resource, namespace=namespace)
    before = backend_weights(route)
    return watch_until(
        story.kube, resource, namespace, route.metadata.resourceVersion,
        lambda _kind, obj: backend_weights(obj) != before,
    )


def version_service_deleted(version: str) -> Callable[[Story, Step], Moment]:
    name = f"{SERVICE}-{version}"

    def arm(story: Story, _step: Step) -> Moment:
        namespace = story.release.namespace
        since = story.kube.get(Service, name, namespace=namespace).metadata.resourceVersion
        return watch_until(
            story.kube, Service, namespace, since,
            lambda kind, obj: obj.metadata.name == name
            and (kind == "DELETED" or obj.metadata.deletionTimestamp is not None),
        )

    return arm


def version_service_still_there(version: str) -> Callable[[Story, Step], None]:
    def landed(story: Story, _step: Step) -> None:
        story.kube.get(Service, f"{SERVICE}-{version}", namespace=story.release.namespace)

    return landed


# The release: both gateways go through the same steps, killed at their own points.


def canary_on_its_deployment(stable: str, canary_version: str, image: str) -> dict[str, Any]:
    return {
        "stable_version": stable,
        "canary_version": canary_version,
        "canary_deployment": canary.CanaryDeployment(image=image),
    }


V1_V2 = canary_on_its_deployment("v1", "v2", "demo:2.0")
V2_V3 = canary_on_its_deployment("v2", "v3", "demo:3.0")
V3_V4 = canary_on_its_deployment("v3", "v4", "demo:4.0")

STEPS = [
    Step(
        "10% -> 50%", V1_V2, {"canary_weight": 50}, {"v1": 50, "v2": 50}, deployments("v1", "v2"),
        {
            "mse": KillPoint("during the readiness read, before the weights move", PROVIDER,
                             fault_arrived(held("GetGatewayServiceDetail")), nothing_moved),
            "gateway-api": KillPoint("as the HTTPRoute's weights change", CLI, http_route_weights_change),
        },
    ),
    Step(
        "50% -> 0%", V1_V2, {"canary_weight": 0}, {"v1": 100, "v2": 0}, deployments("v1", "v2"),
        {
            "mse": KillPoint("after UpdateGatewayRoute, before ApplyGatewayRoute (edited, not published)",
                             PROVIDER, fault_arrived(held("ApplyGatewayRoute")), edited_not_published),
        },
    ),
    Step(
        "promote v2, next canary v3 (a new Deployment)", V2_V3, {"canary_weight": 0}, {"v2": 100, "v3": 0},
        deployments("v1", "v2", "v3"),
        {
            "mse": KillPoint("during the drain, before DeleteGatewayServiceVersion", CLI,
                             published_then_draining, nothing_removed_yet),
            "gateway-api": KillPoint("during the drain, after the HTTPRoute's weights changed", PROVIDER,
                                     http_route_weights_change, version_service_still_there("v1")),
        },
    ),
    Step(
        "0% -> 50% to v3", V2_V3, {"canary_weight": 50}, {"v2": 50, "v3": 50}, deployments("v1", "v2", "v3"),
        {
            "mse": KillPoint("right after ApplyGatewayRoute acted, its answer held", CLI,
                             fault_arrived_and_traffic_moved(acted_then_held("ApplyGatewayRoute"))),
            "gateway-api": KillPoint("as the HTTPRoute's weights change", CLI, http_route_weights_change),
        },
    ),
    Step(
        # v2's Deployment was released when v2 became stable (a policy owns a Deployment only while it
        # serves the canary): it stays, the user's to scale down, like v1's.
        "promote v3, next canary v4: v2's version goes", V3_V4, {"canary_weight": 0},
        {"v3": 100, "v4": 0}, deployments("v1", "v2", "v3", "v4"),
        {
            # Fails today: the fresh `up` reads no weights from the unpublished route, so it plans no
            # drain, and deletes v2's pods right after publishing while the gateway still sends v2 50%.
            "mse": KillPoint("after UpdateGatewayRoute, before ApplyGatewayRoute (edited, not published)",
                             PROVIDER, fault_arrived(held("ApplyGatewayRoute")), edited_not_published),
            "gateway-api": KillPoint("as v2's Service is deleted, after the drain", CLI,
                                     version_service_deleted("v2")),
        },
    ),
]


# ---- running a step -----------------------------------------------------------------------------------


def wait_for_moment(moment: Moment, up: Future[Any], point: KillPoint, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not moment():
        if up.done():
            outcome = up.exception() or "it succeeded"
            raise AssertionError(f"`pulumi up` ended before the kill point {point.what!r}: {outcome}")
        assert time.monotonic() < deadline, f"the kill point {point.what!r} never came"
        time.sleep(0.01)


def interrupted_up(story: Story, step: Step, point: KillPoint) -> None:
    """Start `pulumi up`, kill ``point.who`` at the point, and check that the up failed there."""
    moment = point.arm(story, step)
    with ThreadPoolExecutor(max_workers=1) as pool:
        up = pool.submit(story.stack.up, **QUIET)
        wait_for_moment(moment, up, point)
        kill(victim(story.pulumi_home, point.who))
        with pytest.raises(CommandError):
            up.result(timeout=120)
    point.landed(story, step)


def fresh_up(stack: Any, backend: Path, on_output: Callable[[str], None] = lambda _line: None) -> None:
    """`pulumi up` again, as the person whose run was killed would; a killed CLI leaves its lock, and
    may leave its checkpoint unreadable (see ``repair_torn_checkpoint``)."""
    for _attempt in range(3):
        try:
            stack.up(on_output=on_output)
            return
        except ConcurrentUpdateError:
            stack.cancel()
        except CommandError as error:
            if TORN_CHECKPOINT not in str(error):
                raise
            repair_torn_checkpoint(backend)
    stack.up(on_output=on_output)


def repair_torn_checkpoint(backend: Path) -> None:
    """Pulumi's file backend (gocloud.dev fileblob) saves a checkpoint by writing ``<stack>.json.attrs``
    in place (truncate, then encode) before it renames the new checkpoint over the old one: a CLI killed
    in between leaves an empty sidecar, and every later command fails with ``failed to load checkpoint:
    EOF``. The checkpoint itself is then still the previous, whole one. The repair a user would make:
    remove the empty sidecar (a missing one is read as default attributes). Pulumi's, not this product's."""
    stacks = backend / ".pulumi" / "stacks"
    torn = [attrs for attrs in stacks.rglob("*.json.attrs") if attrs.stat().st_size == 0]
    assert torn, f"{TORN_CHECKPOINT}, but no empty checkpoint sidecar under {backend}"
    for attrs in torn:
        attrs.unlink()


def assert_converged(story: Story, step: Step) -> None:
    story.gateway.wait_for_weights(story.path, step.served)
    assert story.workload.deployment_names() == step.deployments
    if story.gateway.kind == "mse":
        assert versions_on_gateway(story.emulator) == step.versions
    preview = story.stack.preview(**QUIET)
    assert set(preview.change_summary) == {"same"}, preview.change_summary


def assert_served(records: list[Record], versions: set[str], where: str) -> None:
    """No request failed, and only ``versions`` answered."""
    failed = [record for record in records if record.failed]
    assert not failed, f"{where}: {len(failed)} failed of {len(records)} request(s), first {failed[:5]}"
    strays = [record for record in records if record.version is not None and record.version not in versions]
    assert not strays, f"{where}: {len(strays)} answer(s) from outside {sorted(versions)}, first {strays[:5]}"


def run_step(story: Story, before: Step, step: Step) -> None:
    point = step.kills.get(story.gateway.kind)
    story.release.policy, story.release.split = dict(step.policy), dict(step.split)
    mark = len(story.load.records)
    if point is None:
        story.stack.up(**QUIET)
    else:
        interrupted_up(story, step, point)
        fresh_up(story.stack, story.backend)
    assert_converged(story, step)
    end_all(story.pulumi_home)
    close_killed_programs()
    where = f"{step.name}: {point.who} killed {point.what}" if point else step.name
    # Only versions with a share before or after the change may answer (no route has canary headers).
    assert_served(story.load.records[mark:], before.weighted | step.weighted, where)
    story.served = step.served
    if story.gateway.kind == "mse":
        story.emulator.clear_faults()


START = Step(
    "10% to the canary", V1_V2, {"canary_weight": 10}, {"v1": 90, "v2": 10}, deployments("v1", "v2"), {}
)


@pytest.mark.parametrize("kind", GATEWAYS)
def test_a_release_killed_at_every_step_fails_no_request_and_converges(
    launch,
    kind: str,
    workload: Workload,
    route_path: str,
    kube: Any,
    pulumi_root: Path,
    leftovers_ended: None,
    tmp_path: Path,
) -> None:
    deployed = launch(kind)
    deployed.apply(START.served, policy=dict(START.policy), split=dict(START.split))
    gateway, stack, release = deployed.gateway, deployed.stack, deployed.release
    with LoadRun(gateway.url(route_path), rate=RATE, out=tmp_path / "load.jsonl", **LOAD_BOUND) as load:
        story = Story(gateway, stack, release, kube, workload, route_path, load, pulumi_root,
                      dict(START.served))
        for before, step in zip([START, *STEPS], STEPS, strict=False):
            run_step(story, before, step)
    summary = load.summary()
    assert_served(load.records, {"v1", "v2", "v3"}, "the whole release")
    assert all(summary.served.get(version, 0) > 0 for version in ("v1", "v2", "v3")), summary
