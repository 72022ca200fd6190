"""``make bench``: how much pulumi-canary adds to the Pulumi engine, measured in one run.

For N CanaryPolicy+TrafficSplit pairs on a gateway, ``pulumi preview`` and ``pulumi up`` wall times are
set next to the floor: 2N no-op dynamic resources with the same properties, in the same run, on the same
engine, each of the floor's commands just before pulumi-canary's. Then, in the stack of N pairs: one
weight change (time and API calls, from the emulator's and the apiserver's request logs), and ``pulumi
refresh`` (time, and the API calls of one). For the Gateway API at the largest N, a second reference:
the floor plus the objects alone (``bench.objects_only``), which splits the gap to the floor into what
the cluster costs for the objects and what the plugin's reads and work cost. Also: ``import
pulumi_canary`` against ``import pulumi``, and the state size per resource. Each figure is
min/median/max over repeated runs; a ratio is the median of the ratios of paired runs.

``python -m bench.run`` writes bench/RESULTS.md; ``--quick`` (used by the test suite) runs tiny sizes once
and writes to the path given by ``--output``.
"""

from __future__ import annotations

import argparse
import compileall
import json
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.gateways import BenchedGateway, benched
from bench.measure import QUIET, HostLoad, Samples, timed
from bench.peer import PeerSamples, measure_peer
from bench.stage import (
    EmulatorProcess,
    apply_manifest,
    canary_program,
    counted,
    deploy_services,
    floor_program,
    service_manifests,
    stack_env,
    wait_ready,
)
from bench.traffic import CANARY, FLOOR, TrafficResults, figure_label, measure_time_to_traffic
from pulumi_canary.state_keys import POLICY_TYPE, SPLIT_TYPE
from rig import tools, workspace
from rig.cluster import LocalCluster

ROOT = tools.ROOT
BUDGET = {
    "ratio": 1.3,
    "import_seconds": 0.15,
    "state_bytes": 2048,
    "change_ratio": 1.1,
    "peer": 1.0,
    "traffic_margin_seconds": 0.5,
}
AWAITING_PEER_MAX = 50
"""The largest N the peer's default (awaiting) mode runs at: each of its Services waits 10 s for its
Endpoints to settle, eight steps at a time, so N=200 would take about 50 x 10 s for the create alone."""


# ---- measurements -------------------------------------------------------------------------------------


@dataclass
class Figures:
    rows: list[tuple[str, str, str, str]] = field(default_factory=list)  # figure, value, floor, ratio
    notes: list[str] = field(default_factory=list)
    checks: list[tuple[str, bool, str]] = field(default_factory=list)  # budget item, met, detail
    # figure, pulumi-canary, pulumi-kubernetes with skipAwait, ratio, the floor's ratio, the peer by default
    peer_rows: list[tuple[str, str, str, str, str, str]] = field(default_factory=list)

    def compare(self, figure: str, measured: Samples, floor: Samples) -> float:
        ratio = measured.ratio_to(floor)
        self.rows.append((figure, measured.summary(), floor.summary(), f"{ratio:.2f}"))
        return ratio


@dataclass
class BenchRig:
    """The processes every measurement shares, and where stacks keep their files."""

    cluster: LocalCluster
    emulator: EmulatorProcess
    work: Path


@dataclass
class ScaleSamples:
    """What the repeats of one (gateway, N) measurement gather."""

    preview: Samples = field(default_factory=Samples)
    up: Samples = field(default_factory=Samples)
    up_cpu: Samples = field(default_factory=Samples)
    floor_preview: Samples = field(default_factory=Samples)
    floor_up: Samples = field(default_factory=Samples)
    floor_up_cpu: Samples = field(default_factory=Samples)
    floor_up_load: HostLoad = field(default_factory=HostLoad)
    up_load: HostLoad = field(default_factory=HostLoad)
    floor_refresh: Samples = field(default_factory=Samples)
    floor_change: Samples = field(default_factory=Samples)
    objects_up: Samples = field(default_factory=Samples)
    refresh: Samples = field(default_factory=Samples)
    change: Samples = field(default_factory=Samples)
    calls: dict[str, int] = field(default_factory=dict)
    refresh_calls: dict[str, int] = field(default_factory=dict)
    floor_entry: float = float("nan")
    peer_fast: PeerSamples = field(default_factory=PeerSamples)
    peer_default: PeerSamples = field(default_factory=PeerSamples)


def measure_scale(
    gateway: BenchedGateway, count: int, repeats: int, rig: BenchRig, figures: Figures, detailed: bool
) -> None:
    samples = ScaleSamples()
    samples.floor_up_load.processes = serving_processes(rig)
    samples.up_load.processes = serving_processes(rig)
    for attempt in range(repeats):
        measure_paired(gateway, count, attempt, rig, samples, figures, detailed)
        if gateway.peer:
            measure_peers(count, attempt, rig, samples)
    report_scale(gateway, count, samples, figures, detailed)
    if gateway.peer:
        report_peer(gateway, count, samples, figures)


def serving_processes(rig: BenchRig) -> dict[str, int]:
    """The rig's processes that stand in for what would run elsewhere (the cluster, MSE), by name."""
    processes = {process.name: process.popen.pid for process in rig.cluster.processes}
    if rig.emulator.process is not None:
        processes["MSE emulator"] = rig.emulator.process.popen.pid
    return processes


def measure_peers(count: int, attempt: int, rig: BenchRig, samples: ScaleSamples) -> None:
    """The same release on pulumi-kubernetes: with skipAwait on each repeat, by default once."""
    env = stack_env(rig.cluster)
    measure_peer(count, attempt, rig.work, env, samples.peer_fast, skip_await=True, detailed=True)
    if attempt == 0 and count <= AWAITING_PEER_MAX:
        measure_peer(count, attempt, rig.work, env, samples.peer_default, skip_await=False, detailed=True)


def report_peer(gateway: BenchedGateway, count: int, samples: ScaleSamples, figures: Figures) -> None:
    """pulumi-canary next to pulumi-kubernetes, figure by figure, each against the budget."""
    fast, default = samples.peer_fast, samples.peer_default
    for what, ours, floor, theirs, awaiting in (
        ("preview", samples.preview, samples.floor_preview, fast.preview, default.preview),
        ("up (create)", samples.up, samples.floor_up, fast.up, default.up),
        ("one weight change", samples.change, samples.floor_change, fast.change, default.change),
        ("refresh", samples.refresh, samples.floor_refresh, fast.refresh, default.refresh),
    ):
        ratio, floor_ratio = ours.ratio_to(theirs), floor.ratio_to(theirs)
        figure = f"{gateway.label} vs pulumi-kubernetes: {what}, N={count}"
        awaited = awaiting.summary() if awaiting.values else f"not run (N > {AWAITING_PEER_MAX})"
        figures.peer_rows.append(
            (figure, ours.summary(), theirs.summary(), f"{ratio:.2f}", f"{floor_ratio:.2f}", awaited)
        )
        # A no-op dynamic provider's own ratio is the engine's part: a goal it already misses is out of
        # reach for any Python dynamic provider, and the row says so.
        item = f"{figure}: pulumi-canary <= {BUDGET['peer']} x skipAwait"
        measured = f"{ratio:.2f} (the no-op floor alone: {floor_ratio:.2f})"
        figures.checks.append((item, ratio <= BUDGET["peer"], measured))


def measure_paired(
    gateway: BenchedGateway,
    count: int,
    attempt: int,
    rig: BenchRig,
    samples: ScaleSamples,
    figures: Figures,
    detailed: bool,
) -> None:
    """The no-op floor and N CanaryPolicy+TrafficSplit pairs, command by command: the floor's preview,
    then pulumi-canary's, the floor's up, then pulumi-canary's, and so on. This shared machine's speed
    drifts over minutes (the floor's `up` at N=200 took 33 s in one run and 49 s in another), so each
    ratio compares two runs made a minute apart, not two made a quarter of an hour apart. The floor has
    no object in the cluster, so it does not change what pulumi-canary's calls cost."""
    floor_weights: dict[int, int] = {}
    weights: dict[int, int] = {}
    floor = floor_stack(gateway, count, attempt, rig, floor_weights)
    stack = canary_stack(gateway, count, attempt, rig, weights)
    with timed(samples.floor_preview):
        floor.preview(**QUIET)
    with timed(samples.preview):
        stack.preview(**QUIET)
    with timed(samples.floor_up, samples.floor_up_cpu, samples.floor_up_load):
        floor.up(**QUIET)
    if gateway.objects_floor and detailed:
        measure_objects_only(count, attempt, rig, samples)
    with timed(samples.up, samples.up_cpu, samples.up_load):
        stack.up(**QUIET)
    with timed(samples.floor_refresh):
        floor.refresh(**QUIET)
    with timed(samples.refresh):
        stack.refresh(**QUIET)
    # The same one-resource change in both, and a real change on each repeat.
    floor_weights[0] = weights[0] = 10 + attempt
    with timed(samples.floor_change):
        floor.up(**QUIET)
    with timed(samples.change):
        stack.up(**QUIET)
    if detailed and attempt == 0:
        floor_resources = [
            r for r in (floor.export_stack().deployment or {})["resources"] if r["type"].endswith(":Noop")
        ]
        samples.floor_entry = mean_json_size(floor_resources)
        figures.notes.append(f"floor state per resource: {samples.floor_entry:.0f} B")
        weights[0] += 1  # counted apart: the audited identity costs the apiserver more per request
        samples.calls = counted_run(stack.up, stack, rig)
        # The engine configures a refresh's provider from the state, which the counted `up` just
        # wrote: this refresh reaches the cluster as the audited identity too.
        samples.refresh_calls = counted_run(stack.refresh, stack, rig)
        state_figures(stack, count, figures, gateway.short_label, samples.floor_entry)
    floor.destroy(**QUIET)
    stack.destroy(**QUIET)


def floor_stack(
    gateway: BenchedGateway, count: int, attempt: int, rig: BenchRig, weights: dict[int, int]
) -> Any:
    return workspace.inline_stack(
        rig.work / f"floor-{gateway.kind}-{count}-{attempt}",
        "bench",
        "floor",
        floor_program(count, weights=weights),
        stack_env(rig.cluster),
    )


def canary_stack(
    gateway: BenchedGateway, count: int, attempt: int, rig: BenchRig, weights: dict[int, int]
) -> Any:
    program = canary_program(gateway, count, rig.emulator.endpoint, weights)
    return workspace.inline_stack(
        rig.work / f"{gateway.kind}-{count}-{attempt}", "bench", "canary", program, stack_env(rig.cluster)
    )


def measure_objects_only(count: int, attempt: int, rig: BenchRig, samples: ScaleSamples) -> None:
    """The floor plus the objects alone: created and gone again before pulumi-canary's `up`, whose
    reads of the namespace they would otherwise make dearer."""
    objects = workspace.inline_stack(
        rig.work / f"objects-{count}-{attempt}",
        "bench",
        "objects",
        floor_program(count, objects=True),
        stack_env(rig.cluster),
    )
    objects.preview(**QUIET)
    with timed(samples.objects_up):
        objects.up(**QUIET)
    objects.destroy(**QUIET)


def report_scale(
    gateway: BenchedGateway, count: int, samples: ScaleSamples, figures: Figures, detailed: bool
) -> None:
    label = gateway.label
    ratio_preview = figures.compare(f"{label}: preview, N={count}", samples.preview, samples.floor_preview)
    ratio_up = figures.compare(f"{label}: up (create), N={count}", samples.up, samples.floor_up)
    figures.compare(
        f"{label}: up (create), N={count}, CPU of the engine and provider",
        samples.up_cpu,
        samples.floor_up_cpu,
    )
    if samples.objects_up.values:
        figures.compare(
            f"{label}: up (create), N={count}, floor plus the objects alone (written, no reads)",
            samples.objects_up,
            samples.floor_up,
        )
    figures.compare(f"{label}: refresh, N={count}", samples.refresh, samples.floor_refresh)
    ratio_change = figures.compare(
        f"{label}: one weight change in a stack of N={count}", samples.change, samples.floor_change
    )
    if not detailed:
        return
    calls = samples.calls
    figures.checks.append(
        (
            f"{label} one weight change at N={count} <= {BUDGET['change_ratio']} x the floor's",
            ratio_change <= BUDGET["change_ratio"],
            f"{ratio_change:.2f}",
        )
    )
    figures.notes.append(
        f"{label}: the host during the `up` at N={count}: {samples.floor_up_load.summary()} (floor), "
        f"{samples.up_load.summary()} (pulumi-canary)"
    )
    figures.notes.append(f"{label}: API calls for one weight change in N={count}: {format_calls(calls)}")
    figures.notes.append(f"{label}: API calls for refresh, N={count}: {format_calls(samples.refresh_calls)}")
    route_reads = samples.refresh_calls.get(gateway.route_read, 0)
    figures.checks.append(
        (
            f"{label} refresh reads each route once",
            route_reads == count,
            f"{route_reads} {gateway.route_read} for {count} routes",
        )
    )
    minimum = sum(gateway.minimum_calls.values())
    figures.checks.append(
        (
            f"{label} weight change within the minimum API calls",
            sum(calls.values()) <= minimum,
            f"{sum(calls.values())} calls, minimum {minimum}",
        )
    )
    for what, ratio, budget in (
        ("preview", ratio_preview, BUDGET["ratio"]),
        ("up", ratio_up, gateway.up_budget),
    ):
        item = f"{label} {what} ratio at N={count} <= {budget}"
        figures.checks.append((item, ratio <= budget, f"{ratio:.2f}"))


def counted_run(
    run: Callable[..., Any], stack: Any, rig: BenchRig, samples: Samples | None = None
) -> dict[str, int]:
    """``run`` (the stack's ``up`` or ``refresh``), timed into ``samples`` if given; returns the API calls
    it made: the emulator's actions (none unless the gateway is MSE) and the apiserver's audited ones."""
    rig.emulator.clear_requests()
    audit_before = len(rig.cluster.client_requests())
    with counted(stack, rig.cluster), timed(samples or Samples()):
        run(**QUIET)
    return count_calls(rig.emulator, rig.cluster, audit_before)


def count_calls(emulator: EmulatorProcess, cluster: LocalCluster, audit_before: int) -> dict[str, int]:
    counted: dict[str, int] = {}
    for action in emulator.actions():
        counted[action] = counted.get(action, 0) + 1
    for event in cluster.client_requests()[audit_before:]:
        resource = event.get("objectRef", {}).get("resource", "?")
        key = f"k8s {event.get('verb')} {resource}"
        counted[key] = counted.get(key, 0) + 1
    return counted


def format_calls(calls: dict[str, int]) -> str:
    return ", ".join(f"{name} x{count}" for name, count in sorted(calls.items())) or "none"


def mean_json_size(resources: list[dict[str, Any]]) -> float:
    return statistics.mean(len(json.dumps(r)) for r in resources)


def state_figures(stack: Any, count: int, figures: Figures, label: str, floor_entry: float) -> None:
    """Bytes per resource in the exported state: all of it, and the part the plugin writes (its inputs
    and outputs, the pickled provider included); the rest is the engine's own bookkeeping (URNs,
    dependencies, timestamps, the registration stack trace), which the floor's no-op resources carry too.
    The budget applies to what the plugin writes: the floor's entry alone is over 2 KB."""
    resources = (stack.export_stack().deployment or {})["resources"]
    ours = [r for r in resources if r["type"].endswith((POLICY_TYPE, SPLIT_TYPE))]
    total = mean_json_size(ours)
    written = statistics.mean(
        len(json.dumps(r.get("inputs", {}))) + len(json.dumps(r.get("outputs", {}))) for r in ours
    )
    provider = statistics.mean(len(json.dumps(r.get("inputs", {}).get("__provider", ""))) for r in ours)
    trace = statistics.mean(len(json.dumps(r.get("stackTrace", []))) for r in ours)
    figures.rows.append(
        (
            f"{label}: state per resource, N={count}",
            f"{total:.0f} B total, {written:.0f} B inputs+outputs",
            f"{floor_entry:.0f} B total",
            f"{total / floor_entry:.2f}",
        )
    )
    figures.notes.append(
        f"{label}: the pickled provider is {provider:.0f} B of each resource's inputs (an encrypted secret); "
        f"the engine's registration stack trace is {trace:.0f} B of each entry; the plugin adds "
        f"{total - floor_entry:.0f} B to the entry of a no-op resource with the same properties"
    )
    figures.checks.append(
        (
            f"{label}: state the plugin writes per resource (inputs+outputs, pickled provider included) "
            f"< {BUDGET['state_bytes']} B",
            written < BUDGET["state_bytes"],
            f"{written:.0f} B (whole entry {total:.0f} B; the floor's no-op entry is {floor_entry:.0f} B)",
        )
    )


def traffic_figures(traffic: TrafficResults, figures: Figures) -> None:
    """The time-to-traffic rows and notes, and a budget line per (gateway, N): pulumi-canary's p50
    within the floor's p50 plus the margin."""
    figures.rows += traffic.rows()
    figures.notes += traffic.notes
    margin = BUDGET["traffic_margin_seconds"]
    for figure in traffic.figures:
        if figure.subject != CANARY:
            continue
        floor = traffic.figure(figure.gateway, figure.count, FLOOR)
        figures.checks.append(
            (
                f"{figure_label(figure)}: p50 <= the floor's p50 + {margin} s",
                figure.p50 <= floor.p50 + margin,
                f"{figure.p50:.2f} s (floor {floor.p50:.2f} s)",
            )
        )


def import_figures(repeats: int, figures: Figures) -> None:
    python = str(ROOT / ".venv" / "bin" / "python")
    base, ours = Samples(), Samples()
    for _ in range(repeats):
        for samples, code in (
            (base, "import pulumi"),
            (ours, "import pulumi, pulumi_canary; pulumi_canary.CanaryPolicy"),
        ):
            started = time.perf_counter()
            subprocess.run([python, "-c", code], check=True)
            samples.add(time.perf_counter() - started)
    added = ours.median - base.median
    figures.rows.append(("`import pulumi` (fresh interpreter)", base.summary(), "", ""))
    figures.rows.append(("`import pulumi, pulumi_canary` + resource classes", ours.summary(), "", ""))
    figures.checks.append(
        (f"import adds < {BUDGET['import_seconds']} s", added < BUDGET["import_seconds"], f"{added:.3f} s")
    )


def write_results(
    path: Path, figures: Figures, sizes: list[int], repeats: int, seconds: float, complete: bool = True
) -> None:
    pulumi_version = subprocess.run(
        [str(tools.pulumi_bin_dir() / "pulumi"), "version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    lines = [
        "# Benchmark results",
        "",
        f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- machine: {platform.machine()}, {platform.system()} {platform.release()}, "
        f"{len(__import__('os').sched_getaffinity(0))} cores, Python {platform.python_version()}",
        f"- versions: Pulumi CLI {pulumi_version}, kube-apiserver {tools.KUBERNETES_VERSION}, "
        f"pulumi-canary {__import__('pulumi_canary').__version__}",
        f"- sizes N = {sizes}, {repeats} run(s) each; every figure is min / median / max; "
        f"the floor is 2N no-op dynamic resources with the same properties, each of its commands run just "
        "before pulumi-canary's; ratio = the median of the paired ratios (run i over the floor's run i)",
        f"- total bench time: {seconds:.0f} s"
        + ("" if complete else " so far: **partial**, written after each measurement (stopped or running)"),
        "",
        "| figure | pulumi-canary | floor | ratio |",
        "| --- | --- | --- | --- |",
        *[f"| {figure} | {value} | {floor} | {ratio} |" for figure, value, floor, ratio in figures.rows],
        "",
        "## Against pulumi-kubernetes",
        "",
        "The same Gateway API release (per policy, two version Services and a weighted HTTPRoute) declared "
        "as pulumi-kubernetes resources (`bench/peer.py`). Ratio = pulumi-canary median / pulumi-kubernetes "
        "with the `pulumi.com/skipAwait` annotation (its fastest) median; the same ratio for the no-op floor "
        "(2N no-op dynamic resources: the engine's and a Python dynamic provider's own cost, which no "
        "dynamic provider goes below); its default, awaiting mode beside it (one run).",
        "",
        "| figure | pulumi-canary | pulumi-kubernetes, skipAwait | ratio | no-op floor / skipAwait "
        "| pulumi-kubernetes, default |",
        "| --- | --- | --- | --- | --- | --- |",
        *[f"| {' | '.join(row)} |" for row in figures.peer_rows],
        "",
        "## API calls and state",
        "",
        *[f"- {note}" for note in figures.notes],
        "",
        "## Budget",
        "",
        "| item | met | measured |",
        "| --- | --- | --- |",
        *[f"| {item} | {'yes' if met else '**no**'} | {detail} |" for item, met, detail in figures.checks],
        "",
    ]
    path.write_text("\n".join(lines))


def compile_sources() -> None:
    """Write the bytecode of the plugin and of the floor, as ``pip install`` does for an installed
    package: from an editable install under ``PYTHONDONTWRITEBYTECODE`` (set on this machine) every
    provider process would compile the plugin's sources again (about 0.1 s), a cost no user's install
    pays. The dependencies' bytecode was written when they were installed."""
    for package in ("pulumi_canary", "bench"):
        if not compileall.compile_dir(ROOT / package, quiet=1):
            raise SystemExit(f"could not compile {ROOT / package}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one run: proves the harness works")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "RESULTS.md")
    parser.add_argument("--gateways", default="mse,gateway_api")
    parser.add_argument("--sizes", help="comma-separated N values (default 1,50,200; quick: 1,3)")
    parser.add_argument("--repeats", type=int, help="runs per figure (default 3; quick: 1)")
    parser.add_argument(
        "--traffic-repeats", type=int, help="rollbacks per time-to-traffic figure (default 5; quick: 1)"
    )
    args = parser.parse_args(argv)
    # A stopped bench exits through its context managers: the cluster, Traefik and the backends stop too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    gateways = benched(args.gateways)
    sizes, repeats = ([1, 3], 1) if args.quick else ([1, 50, 200], 3)
    if args.sizes:
        sizes = [int(size) for size in args.sizes.split(",")]
    repeats = args.repeats or repeats
    traffic_sizes = [max(sizes)] if args.quick else sorted({1, max(sizes)})
    traffic_repeats = args.traffic_repeats or (1 if args.quick else 5)
    started = time.perf_counter()
    figures = Figures()
    compile_sources()
    import_figures(repeats * 3, figures)
    with tempfile.TemporaryDirectory(prefix="pulumi-canary-bench-") as scratch:
        work = Path(scratch)
        with LocalCluster(workdir=work / "cluster", audit=True) as cluster:
            deploy_services(cluster.kubeconfig_path, max(sizes))
            for manifest in service_manifests("svc-0", "v2"):
                apply_manifest(cluster.kubeconfig_path, manifest)
            wait_ready(cluster.kubeconfig_path, "svc-0-v2")
            with EmulatorProcess(cluster.kubeconfig_path, work) as emulator:
                rig = BenchRig(cluster, emulator, work)
                for gateway in gateways:
                    for count in sizes:
                        measure_scale(gateway, count, repeats, rig, figures, count == max(sizes))
                        # A bench of an hour should not lose what it measured to a stop near its end.
                        elapsed = time.perf_counter() - started
                        write_results(args.output, figures, sizes, repeats, elapsed, complete=False)
            kinds = [gateway.kind for gateway in gateways]
            traffic = measure_time_to_traffic(
                cluster, work / "traffic", traffic_sizes, traffic_repeats, kinds, progress=print
            )
            traffic_figures(traffic, figures)
    write_results(args.output, figures, sizes, repeats, time.perf_counter() - started)
    print(args.output.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
