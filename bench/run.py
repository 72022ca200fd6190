"""``make bench``: how much pulumi-canary adds to the Pulumi engine, measured in one run.

For N CanaryPolicy+TrafficSplit pairs on a gateway, ``pulumi preview`` and ``pulumi up`` wall times are
set next to the floor: 2N no-op dynamic resources with the same properties, in the same run, on the same
engine. Then, in the stack of N pairs: one weight change (time and API calls, from the emulator's and the
apiserver's request logs), and ``pulumi refresh`` (time, and the API calls of one). For the Gateway API
at the largest N, a second reference: the floor plus the objects alone (``bench.objects_only``), which
splits the gap to the floor into what the cluster costs for the objects and what the plugin's reads and
work cost. Also: ``import pulumi_canary`` against ``import pulumi``, and the state size per resource.
Each figure is min/median/max over repeated runs.

``python -m bench.run`` writes bench/RESULTS.md; ``--quick`` (used by the test suite) runs tiny sizes once
and writes to the path given by ``--output``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.gateways import GATEWAY_API_GATEWAY, GATEWAY_ID, NAMESPACE, BenchedGateway, benched
from pulumi_canary.state_keys import POLICY_TYPE, SPLIT_TYPE
from rig import tools, workspace
from rig.cluster import (
    LocalCluster,
    Process,
    apply_gateways,
    free_port,
    gateway_api_gateway,
    http_ok,
    spawn_logged,
    stop_process,
    wait_until,
)

ROOT = tools.ROOT
ACCESS_KEY_ID, ACCESS_KEY_SECRET = "LTAI-bench", "bench-secret-not-a-real-key"
CREDENTIALS_ENV = {
    "ALIBABA_CLOUD_ACCESS_KEY_ID": ACCESS_KEY_ID,
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET": ACCESS_KEY_SECRET,
}
QUIET: dict[str, Any] = {"on_output": lambda _line: None}
BUDGET = {"ratio": 1.3, "import_seconds": 0.15, "state_bytes": 2048, "change_ratio": 1.1}


@dataclass
class Samples:
    values: list[float] = field(default_factory=list)

    def add(self, value: float) -> None:
        self.values.append(value)

    def summary(self, unit: str = "s") -> str:
        if not self.values:
            return "n/a"
        low, mid, high = min(self.values), statistics.median(self.values), max(self.values)
        return f"{low:.2f} / {mid:.2f} / {high:.2f} {unit}"

    @property
    def median(self) -> float:
        return statistics.median(self.values) if self.values else float("nan")


@contextmanager
def timed(samples: Samples, cpu: Samples | None = None) -> Iterator[None]:
    """Wall time into ``samples``; with ``cpu``, also the CPU time of the processes the block started
    and waited for (the Pulumi CLI and, through it, the provider), but not of this process (the program
    under the Automation API, the MSE emulator) nor of the cluster."""
    started, children = time.perf_counter(), children_cpu_seconds()
    yield
    samples.add(time.perf_counter() - started)
    if cpu is not None:
        cpu.add(children_cpu_seconds() - children)


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# ---- programs -----------------------------------------------------------------------------------------


def canary_program(
    gateway: BenchedGateway, count: int, endpoint: str, weights: dict[int, int]
) -> Callable[[], None]:
    def program() -> None:
        import pulumi_canary as canary

        arguments = gateway.arguments(endpoint)
        for index in range(count):
            policy = canary.CanaryPolicy(
                f"p{index}",
                gateway=arguments,
                service=canary.ServiceRef(name=f"svc-{index}", namespace=NAMESPACE, port=80),
                route=canary.RouteMatch(path=f"/p{index}"),
                label_key="version",
                stable_version="v1",
                canary_version="v2",
            )
            canary.TrafficSplit(f"s{index}", policy=policy, canary_weight=weights.get(index, 0))

    return program


def floor_program(
    count: int, objects: bool = False, weights: dict[int, int] | None = None
) -> Callable[[], None]:
    """2N no-op resources whose properties mirror a policy's and a split's, value for value; with
    ``objects``, the policies' stand-ins write the Gateway API objects (see ``bench.objects_only``).
    ``weights`` (read when the program runs) sets a split stand-in's ``canary_weight``, as in
    ``canary_program``: the floor of one weight change."""
    weights = {} if weights is None else weights

    def program() -> None:
        from bench.noop import Noop
        from bench.objects_only import ObjectsOnly

        stand_in = ObjectsOnly if objects else Noop
        for index in range(count):
            shared = {
                "gateway": {
                    "kind": "mse",
                    "gateway_id": GATEWAY_ID,
                    "region": "cn-hangzhou",
                    "endpoint": "x",
                },
                "service": {"name": f"svc-{index}", "namespace": NAMESPACE, "port": 80},
                "route": {"path": f"/p{index}"},
                "label_key": "version",
                "stable_version": "v1",
                "canary_version": "v2",
                "__owner": f"bench/floor/p{index}",
            }
            stand_in(
                f"p{index}",
                {
                    **shared,
                    "canary_deployment": None,
                    "readiness_timeout_seconds": None,
                    "allow_unready": None,
                    "owner": None,
                    "route_id": None,
                    "weights": None,
                    "canary_deployment_name": None,
                    "original_route": None,
                },
            )
            stand_in(
                f"s{index}",
                {
                    **shared,
                    "policy": f"bench/floor/p{index}",
                    "route_id": f"r{index}",
                    "weights": None,
                    "canary_weight": weights.get(index, 0),
                    "readiness_timeout_seconds": None,
                    "allow_unready": None,
                    "live_weights": None,
                },
            )

    return program


# ---- the rig ------------------------------------------------------------------------------------------


def deploy_services(kubeconfig: Path, count: int) -> None:
    """N Services, each with a ready Deployment labelled version=v1 (one replica)."""
    from lightkube import Client, KubeConfig, codecs
    from lightkube.resources.apps_v1 import Deployment

    client = Client(config=KubeConfig.from_file(kubeconfig), field_manager="bench")
    apply_gateways(client, [gateway_api_gateway(NAMESPACE, GATEWAY_API_GATEWAY)])  # its namespace too
    for index in range(count):
        for manifest in service_manifests(f"svc-{index}", "v1"):
            client.apply(codecs.from_dict(manifest))
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        ready = sum(
            1 for d in client.list(Deployment, namespace=NAMESPACE) if d.status and d.status.readyReplicas
        )
        if ready >= count:
            return
        time.sleep(1)
    raise RuntimeError(f"only {ready} of {count} bench Deployments became ready")


def service_manifests(name: str, version: str) -> list[dict[str, Any]]:
    labels = {"app": name, "version": version}
    return [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": f"{name}-{version}", "namespace": NAMESPACE},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "app", "image": f"{name}:{version}"}]},
                },
            },
        },
    ]


def wait_ready(kubeconfig: Path, name: str) -> None:
    from lightkube import Client, KubeConfig
    from lightkube.resources.apps_v1 import Deployment

    client = Client(config=KubeConfig.from_file(kubeconfig))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = client.get(Deployment, name, namespace=NAMESPACE).status
        if status and status.readyReplicas:
            return
        time.sleep(0.5)
    raise RuntimeError(f"{name} did not become ready")


class EmulatorProcess:
    """The MSE emulator in a process of its own, seeded with the bench's gateway and the cluster as its
    service source. MSE is a remote service: run inside the bench's process, the emulator's threads would
    take the GIL from the Automation API program, a cost the floor does not pay and no user pays."""

    def __init__(self, kubeconfig: Path, workdir: Path) -> None:
        self.kubeconfig = kubeconfig
        self.workdir = workdir
        self.port = 0
        self.process: Process | None = None

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> EmulatorProcess:
        self.port = free_port()
        argv = [sys.executable, "-m", "pulumi_canary.emulator", "--port", str(self.port)]
        argv += ["--seed-gateway", GATEWAY_ID, "--cluster-id", "c-bench"]
        argv += ["--kubeconfig", str(self.kubeconfig)]
        environment = os.environ | CREDENTIALS_ENV
        self.process = spawn_logged("MSE emulator", argv, self.workdir / "emulator.log", environment)
        wait_until(self.process, lambda: http_ok(self._control("health")), "the MSE emulator's health")
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.process is not None:
            stop_process(self.process.popen)

    def actions(self) -> list[str]:
        """The actions of the API calls logged since the last ``clear_requests``, in order."""
        with urllib.request.urlopen(self._control("requests"), timeout=30) as response:
            return [str(record["action"]) for record in json.load(response)["requests"]]

    def clear_requests(self) -> None:
        request = urllib.request.Request(self._control("requests"), method="DELETE")
        urllib.request.urlopen(request, timeout=30).close()

    def _control(self, path: str) -> str:
        return f"http://{self.endpoint}/_emulator/{path}"


# ---- measurements -------------------------------------------------------------------------------------


@dataclass
class Figures:
    rows: list[tuple[str, str, str, str]] = field(default_factory=list)  # figure, value, floor, ratio
    notes: list[str] = field(default_factory=list)
    checks: list[tuple[str, bool, str]] = field(default_factory=list)  # budget item, met, detail

    def compare(self, figure: str, measured: Samples, floor: Samples) -> float:
        ratio = measured.median / floor.median if floor.median else float("nan")
        self.rows.append((figure, measured.summary(), floor.summary(), f"{ratio:.2f}"))
        return ratio


def stack_env(cluster: LocalCluster, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The stacks' environment. The timed runs reach the cluster as an identity the audit log leaves out:
    logging a request costs the API server about 0.6 ms of CPU (1.4 ms for a plain GET without, 2.0 ms
    with, measured here), a cost of counting that the floor does not pay. ``counted`` switches a stack to
    the audited identity."""
    return {
        "KUBECONFIG": str(cluster.kubeconfig_path),
        **CREDENTIALS_ENV,
        **(extra or {}),
    }


@contextmanager
def counted(stack: Any, cluster: LocalCluster) -> Iterator[None]:
    """Within: the stack's provider reaches the cluster as the identity the audit log records."""
    from pulumi.automation import ConfigValue

    stack.set_config("kubernetes:kubeconfig", ConfigValue(str(cluster.client_kubeconfig_path)))
    try:
        yield
    finally:
        stack.remove_config("kubernetes:kubeconfig")


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
    floor_refresh: Samples = field(default_factory=Samples)
    floor_change: Samples = field(default_factory=Samples)
    objects_up: Samples = field(default_factory=Samples)
    refresh: Samples = field(default_factory=Samples)
    change: Samples = field(default_factory=Samples)
    calls: dict[str, int] = field(default_factory=dict)
    refresh_calls: dict[str, int] = field(default_factory=dict)
    floor_entry: float = float("nan")


def measure_scale(
    gateway: BenchedGateway, count: int, repeats: int, rig: BenchRig, figures: Figures, detailed: bool
) -> None:
    samples = ScaleSamples()
    for attempt in range(repeats):
        measure_floor(gateway, count, attempt, rig, samples, figures, detailed)
        measure_canary(gateway, count, attempt, rig, samples, figures, detailed)
    report_scale(gateway, count, samples, figures, detailed)


def measure_floor(
    gateway: BenchedGateway,
    count: int,
    attempt: int,
    rig: BenchRig,
    samples: ScaleSamples,
    figures: Figures,
    detailed: bool,
) -> None:
    """The no-op floor (and, where it applies, the floor plus the objects alone) for N pairs."""
    env = stack_env(rig.cluster)
    weights: dict[int, int] = {}
    floor = workspace.inline_stack(
        rig.work / f"floor-{gateway.kind}-{count}-{attempt}",
        "bench",
        "floor",
        floor_program(count, weights=weights),
        env,
    )
    with timed(samples.floor_preview):
        floor.preview(**QUIET)
    with timed(samples.floor_up, samples.floor_up_cpu):
        floor.up(**QUIET)
    if detailed:
        with timed(samples.floor_refresh):
            floor.refresh(**QUIET)
        weights[0] = 10 + attempt  # the same one-resource change as the canary stack's
        with timed(samples.floor_change):
            floor.up(**QUIET)
    if detailed and attempt == 0:
        floor_resources = [
            r for r in (floor.export_stack().deployment or {})["resources"] if r["type"].endswith(":Noop")
        ]
        samples.floor_entry = mean_json_size(floor_resources)
        figures.notes.append(f"floor state per resource: {samples.floor_entry:.0f} B")
    floor.destroy(**QUIET)
    if gateway.objects_floor and detailed:
        objects = workspace.inline_stack(
            rig.work / f"objects-{count}-{attempt}",
            "bench",
            "objects",
            floor_program(count, objects=True),
            env,
        )
        objects.preview(**QUIET)
        with timed(samples.objects_up):
            objects.up(**QUIET)
        objects.destroy(**QUIET)


def measure_canary(
    gateway: BenchedGateway,
    count: int,
    attempt: int,
    rig: BenchRig,
    samples: ScaleSamples,
    figures: Figures,
    detailed: bool,
) -> None:
    """N CanaryPolicy+TrafficSplit pairs: preview, up, and (detailed) refresh and one weight change."""
    weights: dict[int, int] = {}
    program = canary_program(gateway, count, rig.emulator.endpoint, weights)
    stack = workspace.inline_stack(
        rig.work / f"{gateway.kind}-{count}-{attempt}", "bench", "canary", program, stack_env(rig.cluster)
    )
    with timed(samples.preview):
        stack.preview(**QUIET)
    with timed(samples.up, samples.up_cpu):
        stack.up(**QUIET)
    if detailed:
        with timed(samples.refresh):
            stack.refresh(**QUIET)
        weights[0] = 10 + attempt  # a real change on each repeat
        samples.calls = counted_run(stack.up, stack, rig, samples.change)
        if attempt == 0:
            # The engine configures a refresh's provider from the state, which the counted `up` just
            # wrote: this refresh reaches the cluster as the audited identity too.
            samples.refresh_calls = counted_run(stack.refresh, stack, rig)
            state_figures(stack, count, figures, gateway.short_label, samples.floor_entry)
    stack.destroy(**QUIET)


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
    if not detailed:
        return
    calls = samples.calls
    figures.compare(f"{label}: refresh, N={count}", samples.refresh, samples.floor_refresh)
    ratio_change = figures.compare(
        f"{label}: one weight change in a stack of N={count}", samples.change, samples.floor_change
    )
    figures.checks.append(
        (
            f"{label} one weight change at N={count} <= {BUDGET['change_ratio']} x the floor's",
            ratio_change <= BUDGET["change_ratio"],
            f"{ratio_change:.2f}",
        )
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


def write_results(path: Path, figures: Figures, sizes: list[int], repeats: int, seconds: float) -> None:
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
        f"the floor is 2N no-op dynamic resources with the same properties; ratio = median / floor median",
        f"- total bench time: {seconds:.0f} s",
        "",
        "| figure | pulumi-canary | floor | ratio |",
        "| --- | --- | --- | --- |",
        *[f"| {figure} | {value} | {floor} | {ratio} |" for figure, value, floor, ratio in figures.rows],
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one run: proves the harness works")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "RESULTS.md")
    parser.add_argument("--gateways", default="mse,gateway_api")
    parser.add_argument("--sizes", help="comma-separated N values (default 1,50,200; quick: 1,3)")
    parser.add_argument("--repeats", type=int, help="runs per figure (default 3; quick: 1)")
    args = parser.parse_args(argv)
    gateways = benched(args.gateways)
    sizes, repeats = ([1, 3], 1) if args.quick else ([1, 50, 200], 3)
    if args.sizes:
        sizes = [int(size) for size in args.sizes.split(",")]
    repeats = args.repeats or repeats
    started = time.perf_counter()
    figures = Figures()
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
    write_results(args.output, figures, sizes, repeats, time.perf_counter() - started)
    print(args.output.read_text())
    return 0


def apply_manifest(kubeconfig: Path, manifest: dict[str, Any]) -> None:
    from lightkube import Client, KubeConfig, codecs

    Client(config=KubeConfig.from_file(kubeconfig), field_manager="bench").apply(codecs.from_dict(manifest))


if __name__ == "__main__":
    sys.exit(main())
