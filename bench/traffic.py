"""Time to traffic for a rollback: how long after ``pulumi up`` starts do requests reach only the stable
version again.

A canary at 50% on policy 0 of a stack of N policies is rolled back (TrafficSplit ``canary_weight`` 50 ->
0) while a paced load goes to policy 0's path through the real data plane: Traefik serving the Gateway
API (HTTPRoutes) and the MSE emulator's published routes (its file provider). The figure is the time from
the start of that ``up`` to the last answer that did not come from v1, after which the load saw v1 alone;
a failed request (no answer, a 5xx, a 404) counts as not stable, like a v2 answer.

Two references, measured in the same run, under the same load:

- the floor: the ``up`` of a one-property change in a stack of 2N no-op resources (``bench.noop``), from
  its start to its end, as it moves no traffic;
- pulumi-kubernetes (Gateway API only): an HTTPRoute ``CustomResource`` and two per-version Services
  (``pulumi.com/skipAwait: "true"``) going from 50/50 to 100/0, time to only-stable traffic as above.

Each stack is created once per (gateway, N) and each repeat is a real move: forward to 50% (not timed),
then the timed rollback. Only policy 0 has real canary pods; the other policies route to their v1 pods.

Pod IPs answer only inside the private network namespace: run under ``python -m rig.netns``. The figure
starts what it needs beside the caller's cluster (pod backends, Traefik, an MSE emulator with its data
plane) and stops it all at the end. ``python -m bench.traffic`` is that emulator process, not the bench.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bench.gateways import BENCHED, GATEWAY_ID
from bench.measure import QUIET
from bench.peer import peer_env, peer_program
from bench.stage import (
    ACCESS_KEY_ID,
    ACCESS_KEY_SECRET,
    CREDENTIALS_ENV,
    EmulatorProcess,
    apply_manifest,
    canary_program,
    deploy_services,
    floor_program,
    service_manifests,
    stack_env,
    wait_ready,
)
from pulumi_canary.emulator.dataplane import version_of_service
from rig import tools, workspace
from rig.cluster import LocalCluster, Process, free_port, http_ok, spawn_logged, stop_process, wait_until
from rig.gateway import GATEWAY_NAME, GATEWAY_NAMESPACE, Traefik
from rig.load import LoadRun, Record
from rig.netns import in_private_namespace

__all__ = [
    "GATEWAYS",
    "SUBJECTS",
    "Rollback",
    "TrafficFigure",
    "TrafficResults",
    "measure_time_to_traffic",
]

GATEWAYS = ("mse", "gateway_api")
TRAEFIK_GATEWAY = (GATEWAY_NAME, GATEWAY_NAMESPACE)
"""The rig's Gateway that Traefik serves (the bench's own has no controller)."""
CANARY, FLOOR, PEER = "pulumi-canary", "floor", "pulumi-kubernetes"
SUBJECTS = (CANARY, FLOOR, PEER)
CANARY_WEIGHT = 50
"""What policy 0's canary has before each rollback; the rollback takes it to 0."""
PATH = "/p0"
"""Policy 0's path. No other policy's path starts with it (``/p1``, ``/p10``, ...), so a Traefik rule
that contains it is policy 0's."""
RATE = 50.0
"""Requests per second: the figure's resolution is one request interval (20 ms), and the load stays small
next to the engine on a shared two-core machine."""
CONCURRENCY = 4
WARMUP_SECONDS = 1.0
TAIL_SECONDS = 2.0
"""Load kept after Traefik serves v1 alone: the only-stable run must be seen, not assumed."""
SETTLE_TIMEOUT_SECONDS = 120.0
LOAD_BOUND_SECONDS = 1800.0
"""A safety bound; every load run is stopped as soon as its measurement ends."""
CLUSTER_ID = "c-bench-traffic"
PROVIDERS = {"mse": "file", "gateway_api": "kubernetesgateway"}
"""Which Traefik provider serves each gateway's routes."""


# ---- results --------------------------------------------------------------------------------------------


def quantile(values: Sequence[float], share: float) -> float:
    """The ``share`` quantile (0..1) of ``values`` by linear interpolation (``inclusive``: a p95 of few
    repeats lies between the two largest, never beyond the largest)."""
    if not values:
        return math.nan
    if len(values) == 1:
        return values[0]
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[round(share * 100) - 1]


@dataclass(frozen=True)
class Rollback:
    """One timed rollback: time to traffic, the ``up``'s own duration, failed requests meanwhile."""

    seconds: float
    up_seconds: float
    failed: int


@dataclass
class TrafficFigure:
    """The repeats of one (gateway, N, subject): ``seconds`` is time to traffic (for the floor: the
    ``up``'s duration), ``up_seconds`` the duration of the timed ``up`` itself."""

    gateway: str
    count: int
    subject: str
    seconds: list[float] = field(default_factory=list)
    up_seconds: list[float] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    """Per repeat, the requests that failed (no answer, 5xx) from the timed ``up``'s start on."""

    def add(self, rollback: Rollback) -> None:
        self.seconds.append(rollback.seconds)
        self.up_seconds.append(rollback.up_seconds)
        self.failed.append(rollback.failed)

    @property
    def p50(self) -> float:
        return quantile(self.seconds, 0.50)

    @property
    def p95(self) -> float:
        return quantile(self.seconds, 0.95)

    def summary(self) -> str:
        return f"p50 {self.p50:.2f} / p95 {self.p95:.2f} s" if self.seconds else "n/a"


@dataclass
class TrafficResults:
    figures: list[TrafficFigure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def figure(self, gateway: str, count: int, subject: str) -> TrafficFigure:
        """The figure of (gateway, N, subject), made empty on first use."""
        for figure in self.figures:
            if (figure.gateway, figure.count, figure.subject) == (gateway, count, subject):
                return figure
        made = TrafficFigure(gateway, count, subject)
        self.figures.append(made)
        return made

    def rows(self) -> list[tuple[str, str, str, str]]:
        """Rows in the shape of ``bench.run.Figures.rows`` (figure, value, floor, ratio of the p50s)."""
        rows: list[tuple[str, str, str, str]] = []
        for figure in self.figures:
            if figure.subject == FLOOR:
                continue
            floor = self.figure(figure.gateway, figure.count, FLOOR)
            ratio = figure.p50 / floor.p50 if floor.p50 else math.nan
            rows.append((figure_label(figure), figure.summary(), floor.summary(), f"{ratio:.2f}"))
        return rows

    def up_notes(self) -> list[str]:
        """Per measured subject: how long the timed ``up`` itself took, and the requests that failed."""
        return [
            f"{figure_label(figure)}: the `up` itself took p50 {quantile(figure.up_seconds, 0.5):.2f} / "
            f"p95 {quantile(figure.up_seconds, 0.95):.2f} s; failed requests from its start: "
            f"{sum(figure.failed)} over {len(figure.failed)} rollbacks"
            for figure in self.figures
            if figure.subject != FLOOR
        ]


def figure_label(figure: TrafficFigure) -> str:
    who = "pulumi-canary" if figure.subject == CANARY else "pulumi-kubernetes (HTTPRoute, skipAwait)"
    return (
        f"{BENCHED[figure.gateway].label}: time to traffic, rollback {CANARY_WEIGHT}% -> 0, {who}, "
        f"N={figure.count}"
    )


# ---- the data plane ---------------------------------------------------------------------------------------


def module_env() -> dict[str, str]:
    """This environment, where ``python -m bench…``/``rig…`` work from any directory."""
    paths = [str(tools.ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    return os.environ | {"PYTHONPATH": os.pathsep.join(paths)}


class DataPlaneEmulator(EmulatorProcess):
    """The bench's emulator process, plus the data plane that writes its published routes into Traefik's
    file provider: ``python -m pulumi_canary.emulator`` has no option for it, so this module's ``main``
    is the process. A process of its own for the reason ``EmulatorProcess`` gives."""

    def __init__(self, kubeconfig: Path, workdir: Path, dynamic_dir: Path) -> None:
        super().__init__(kubeconfig, workdir)
        self.dynamic_dir = dynamic_dir

    def __enter__(self) -> DataPlaneEmulator:
        self.port = free_port()
        argv = [sys.executable, "-m", "bench.traffic", "--port", str(self.port)]
        argv += ["--kubeconfig", str(self.kubeconfig), "--dynamic-dir", str(self.dynamic_dir)]
        environment = module_env() | CREDENTIALS_ENV
        self.process = spawn_logged("MSE emulator", argv, self.workdir / "emulator.log", environment)
        wait_until(self.process, lambda: http_ok(self._control("health")), "the MSE emulator's health")
        return self


@contextmanager
def backends_process(kubeconfig: Path, workdir: Path) -> Iterator[Process]:
    """``python -m rig.backends`` in a process of its own: N listeners polling in this process would
    take the GIL from the Automation API program the figure times."""
    argv = [sys.executable, "-m", "rig.backends", "--kubeconfig", str(kubeconfig)]
    process = spawn_logged("backends", argv, workdir / "backends.log", module_env())
    try:
        yield process
    finally:
        stop_process(process.popen)


@dataclass
class DataPlane:
    cluster: LocalCluster
    traefik: Traefik
    emulator: DataPlaneEmulator
    work: Path

    def url(self, gateway: str) -> str:
        base = self.traefik.mse_url if gateway == "mse" else self.traefik.web_url
        return f"{base}{PATH}"


@contextmanager
def data_plane(cluster: LocalCluster, work: Path) -> Iterator[DataPlane]:
    work.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        stack.enter_context(backends_process(cluster.kubeconfig_path, work))
        traefik = stack.enter_context(Traefik(cluster, work / "traefik"))
        emulator = DataPlaneEmulator(cluster.kubeconfig_path, work, traefik.dynamic_dir)
        stack.enter_context(emulator)
        yield DataPlane(cluster, traefik, emulator, work)


def deploy_workloads(kubeconfig: Path, count: int) -> None:
    """What the stacks route to (as ``bench.run.main`` deploys them; applying again changes nothing):
    N Services ``svc-{i}`` with a ready v1 Deployment each, and a ready v2 Deployment for ``svc-0``."""
    deploy_services(kubeconfig, count)
    for manifest in service_manifests("svc-0", "v2"):
        apply_manifest(kubeconfig, manifest)
    wait_ready(kubeconfig, "svc-0-v2")


def gateway_api_version(service: str) -> str:
    """The version of Traefik's service for a backendRef to a per-version Service (``svc-0-v2``,
    ``peer-0-v2``): the last ``v1``/``v2`` part of its name."""
    parts = service.split("@", 1)[0].split("-")
    return next((part for part in reversed(parts) if part in ("v1", "v2")), service)


VERSION_OF: dict[str, Callable[[str], str]] = {"mse": version_of_service, "gateway_api": gateway_api_version}


def wait_served(plane: DataPlane, gateway: str, canary_weight: int) -> None:
    """Until Traefik serves policy 0's route at ``canary_weight``."""
    weights = {"v1": 100 - canary_weight, "v2": canary_weight}
    plane.traefik.wait_for_weights(
        PROVIDERS[gateway], PATH, weights, version_of=VERSION_OF[gateway], timeout=SETTLE_TIMEOUT_SECONDS
    )


# ---- stacks ---------------------------------------------------------------------------------------------


def traffic_arguments(gateway: str) -> Callable[[str], Any]:
    """The gateway argument of the canary stack: MSE as the bench declares it; the Gateway API on the
    rig's Traefik ``Gateway`` (the bench's own ``Gateway`` has a class no controller serves)."""
    if gateway == "mse":
        return BENCHED["mse"].arguments

    def on_traefik(_endpoint: str) -> Any:
        import pulumi_canary as canary

        return canary.GatewayApi(gateway=GATEWAY_NAME, namespace=GATEWAY_NAMESPACE)

    return on_traefik


@dataclass
class Stack:
    """A stack whose program reads ``weights`` (policy index -> canary weight) at each ``up``."""

    stack: Any
    weights: dict[int, int]

    def set_weight(self, weight: int) -> float:
        """Policy 0's canary to ``weight``: ``up``, answering its wall time."""
        self.weights[0] = weight
        started = time.perf_counter()
        self.stack.up(**QUIET)
        return time.perf_counter() - started

    def destroy(self) -> None:
        self.stack.destroy(**QUIET)


def make_stack(
    plane: DataPlane, name: str, program: Callable[[dict[int, int]], Callable[[], None]], env: Any = None
) -> Stack:
    """Create the stack of ``program(weights)`` with policy 0 at ``CANARY_WEIGHT``."""
    weights = {0: CANARY_WEIGHT}
    root = plane.work / "stacks" / name
    env = env if env is not None else stack_env(plane.cluster)
    stack = Stack(workspace.inline_stack(root, "bench-traffic", "dev", program(weights), env), weights)
    stack.stack.up(**QUIET)
    return stack


# ---- one rollback under load ----------------------------------------------------------------------------


def stable(record: Record) -> bool:
    return record.status == 200 and record.version == "v1"


def settled_after(records: Sequence[Record], origin: float, started: float) -> float:
    """Seconds from ``started`` to the last answer that was not v1's (a v2 answer or a failure, at the
    moment it came back: a timeout is seen when it ends): from then on the load saw v1 alone. At 50/50 the
    switch itself lies a request interval or two later on average (answers may come from v1 by chance
    before it). ``origin`` is the load's clock start, on ``time.monotonic``."""
    seen = [(origin + r.t + r.latency_ms / 1000.0, stable(r)) for r in records]
    last_bad = max((at for at, good in seen if not good), default=-math.inf)
    if last_bad < started:
        return 0.0  # v1 alone from before the up began (not seen at 50/50): nothing to wait for
    after = sorted(origin + r.t for r in records if origin + r.t > last_bad)
    if not after or after[-1] - after[0] < TAIL_SECONDS / 2:
        late = last_bad - started
        raise RuntimeError(f"policy 0's route did not settle on v1 (last other answer at +{late:.2f}s)")
    return last_bad - started


@contextmanager
def under_load(url: str) -> Iterator[tuple[LoadRun, float]]:
    """A paced load on ``url``; yields it and its clock start (``time.monotonic``, taken just after
    ``start`` returns: the threads start within a millisecond of the load's own clock)."""
    load = LoadRun(
        url,
        requests=int(RATE * LOAD_BOUND_SECONDS),
        seconds=LOAD_BOUND_SECONDS,
        rate=RATE,
        concurrency=CONCURRENCY,
    )
    load.start()
    origin = time.monotonic()
    try:
        yield load, origin
    finally:
        load.stop()


def check_both_answer(load: LoadRun) -> None:
    """Before the rollback: the route answers, from both versions, without failure."""
    time.sleep(WARMUP_SECONDS)
    summary = load.summary()
    if summary.errors or set(summary.served) != {"v1", "v2"}:
        raise RuntimeError(f"before the rollback the route should answer from v1 and v2: {summary.format()}")


def timed_rollback(plane: DataPlane, gateway: str, stack: Stack, load: LoadRun, origin: float) -> Rollback:
    """Roll policy 0 back to 0% under ``load``, and wait until only v1 has answered for a while."""
    started = time.monotonic()
    up_seconds = stack.set_weight(0)
    wait_served(plane, gateway, 0)
    time.sleep(TAIL_SECONDS)
    records = load.records
    failed = sum(1 for r in records if r.failed and origin + r.t >= started)
    return Rollback(settled_after(records, origin, started), up_seconds, failed)


def forward(plane: DataPlane, gateway: str, stack: Stack) -> None:
    """Policy 0 back to ``CANARY_WEIGHT`` and served so (not timed)."""
    if stack.weights[0] != CANARY_WEIGHT:
        stack.set_weight(CANARY_WEIGHT)
    wait_served(plane, gateway, CANARY_WEIGHT)


def toggle(floor: Stack) -> float:
    """One property of the floor changes (between ``CANARY_WEIGHT`` and 0): the no-op ``up``'s time."""
    return floor.set_weight(0 if floor.weights[0] else CANARY_WEIGHT)


# ---- the figure -------------------------------------------------------------------------------------------


def measure_canary(plane: DataPlane, gateway: str, count: int, repeats: int, results: TrafficResults) -> None:
    """The canary stack's rollbacks and, under the same load just before each, the floor's change."""
    benched = replace(BENCHED[gateway], arguments=traffic_arguments(gateway))
    endpoint = plane.emulator.endpoint
    canary = make_stack(plane, f"{gateway}-{count}", lambda w: canary_program(benched, count, endpoint, w))
    floor = make_stack(plane, f"floor-{gateway}-{count}", lambda w: floor_program(count, weights=w))
    figure, floor_figure = (results.figure(gateway, count, subject) for subject in (CANARY, FLOOR))
    try:
        for _ in range(repeats):
            forward(plane, gateway, canary)
            with under_load(plane.url(gateway)) as (load, origin):
                check_both_answer(load)
                floor_seconds = toggle(floor)
                floor_figure.add(Rollback(floor_seconds, floor_seconds, 0))
                figure.add(timed_rollback(plane, gateway, canary, load, origin))
    finally:
        canary.destroy()
        floor.destroy()
    plane.traefik.wait_for_no_router(PROVIDERS[gateway], [PATH], timeout=SETTLE_TIMEOUT_SECONDS)


def measure_peer(plane: DataPlane, count: int, repeats: int, results: TrafficResults) -> None:
    """The pulumi-kubernetes stack's rollbacks (50/50 -> 100/0) on the Gateway API."""
    env = peer_env(plane.work / "stacks" / f"peer-{count}", stack_env(plane.cluster))
    peer = make_stack(
        plane,
        f"peer-{count}",
        lambda w: peer_program(count, w, skip_await=True, parent=TRAEFIK_GATEWAY),
        env,
    )
    figure = results.figure("gateway_api", count, PEER)
    try:
        for _ in range(repeats):
            forward(plane, "gateway_api", peer)
            with under_load(plane.url("gateway_api")) as (load, origin):
                check_both_answer(load)
                figure.add(timed_rollback(plane, "gateway_api", peer, load, origin))
    finally:
        peer.destroy()
    plane.traefik.wait_for_no_router(PROVIDERS["gateway_api"], [PATH], timeout=SETTLE_TIMEOUT_SECONDS)


def measure_time_to_traffic(
    cluster: LocalCluster,
    work: Path,
    sizes: Sequence[int],
    repeats: int,
    gateways: Sequence[str] = GATEWAYS,
    progress: Callable[[str], None] = lambda _message: None,
) -> TrafficResults:
    """Time to traffic of a rollback for each gateway and N in ``sizes``, ``repeats`` times each, with
    the floor and (Gateway API, when its plugin is built) pulumi-kubernetes. Needs the private network
    namespace; starts the pod backends, Traefik and an MSE emulator with its data plane in ``work``, next
    to ``cluster``, and deploys the Services and Deployments the stacks route to (``svc-{i}``).
    ``progress`` hears a line as each (gateway, N, subject) ends: a full run takes a while."""
    if not in_private_namespace():
        raise RuntimeError("time to traffic sends requests to pod IPs: run under `python -m rig.netns`")
    results = TrafficResults(notes=method_notes())
    deploy_workloads(cluster.kubeconfig_path, max(sizes))
    peer = "gateway_api" in gateways and tools.PULUMI_KUBERNETES.is_ready()
    if "gateway_api" in gateways and not peer:
        results.notes.append(
            "pulumi-kubernetes not measured: its plugin is not built "
            "(`python -m rig.tools --with pulumi-kubernetes`, outside the namespace)"
        )
    with data_plane(cluster, work) as plane:
        for gateway in gateways:
            for count in sizes:
                label = f"{gateway} N={count} x{repeats}"
                with reported(f"{label}: pulumi-canary and floor", progress):
                    measure_canary(plane, gateway, count, repeats, results)
                if gateway == "gateway_api" and peer:
                    with reported(f"{label}: pulumi-kubernetes", progress):
                        measure_peer(plane, count, repeats, results)
    results.notes += results.up_notes()
    return results


@contextmanager
def reported(label: str, progress: Callable[[str], None]) -> Iterator[None]:
    started = time.perf_counter()
    yield
    progress(f"{label} in {time.perf_counter() - started:.0f} s")


def method_notes() -> list[str]:
    return [
        f"time to traffic: from the start of the `up` that rolls policy 0's canary back ({CANARY_WEIGHT}% "
        f"-> 0) to the last answer not from v1 (a failure counts as not v1), after which only v1 answered; "
        f"{RATE:.0f} requests/s through Traefik, so the resolution is {1000 / RATE:.0f} ms",
        "time to traffic, floor: the `up` of one changed property in 2N no-op resources, start to end, "
        "under the same load",
    ]


# ---- the emulator process ------------------------------------------------------------------------------


def serve_emulator(port: int, kubeconfig: str, dynamic_dir: Path) -> None:
    """The MSE emulator with the bench's gateway, the cluster as its service source, and the data plane
    writing its published routes for Traefik; until SIGTERM or SIGINT."""
    from pulumi_canary.emulator import EmulatorServer
    from pulumi_canary.emulator.dataplane import TraefikFileDataPlane
    from pulumi_canary.emulator.endpoints import WatchedEndpoints

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda _signum, _frame: stop.set())
    credentials = {ACCESS_KEY_ID: ACCESS_KEY_SECRET}  # the pair the stacks sign with (bench.stage)
    with ExitStack() as stack:
        endpoints = stack.enter_context(WatchedEndpoints(kubeconfig))
        server = stack.enter_context(EmulatorServer(port=port, credentials=credentials, endpoints=endpoints))
        server.seed_gateway(GATEWAY_ID)
        server.seed_service_source(GATEWAY_ID, CLUSTER_ID)
        stack.enter_context(TraefikFileDataPlane(server.backend, dynamic_dir))
        print(f"MSE emulator with its data plane on http://{server.endpoint}", flush=True)
        stop.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The MSE emulator with its Traefik data plane.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--dynamic-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    serve_emulator(args.port, args.kubeconfig, args.dynamic_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
