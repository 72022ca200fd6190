"""``make demo``: the canary release of the root program, step by step, through the real engine.

The local rig stands in for the cloud: a Kubernetes cluster (etcd, kube-apiserver, controllers,
scheduler, kwok) runs ``demo-service`` and its Deployments, and the MSE emulator serves the official
Alibaba Cloud SDK and discovers the service's endpoints in that cluster. Between steps the demo edits the
stack config, as a team edits its infra repo, and shows ``pulumi preview --diff`` and the live weights.

Real requests show what the gateway does: Traefik serves the emulator's published routes (its data
plane), kwok's pods answer through ``rig.backends``, and after each step a bounded burst of requests to
``/demo`` prints the share each version actually served next to the declared weights. Each step is also
one JSON line of ``.demo/traffic.jsonl`` (``step``, ``declared``, ``served``, ``requests``, ``errors``).
The whole demo runs inside the rig's private network namespace (``make demo`` enters it).

The rig's CLI has no Python language host (see README), so the root ``__main__.py`` runs as an
Automation API inline program: the same file, the same engine, the same dynamic providers.
"""

from __future__ import annotations

import json
import runpy
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rig import tools, workspace
from rig.gateway import Traefik
from rig.load import LoadRun
from rig.serve import ACCESS_KEY_ID, ACCESS_KEY_SECRET, running_rig

DEMO_DIR = tools.ROOT / ".demo"
NAMESPACE = "demo"
GATEWAY_ID = "gw-demo0123456789"
TRAFFIC_LOG = DEMO_DIR / "traffic.jsonl"
BURST_REQUESTS, BURST_SECONDS = 1000, 30.0

STEPS: list[tuple[str, dict[str, str]]] = [
    ("3. create the CanaryPolicy: 100% of /demo to v1, 0% to v2", {}),
    ("4-5. the policy deploys the canary (demo:2.0, label version=v2); traffic does not move",
     {"canaryImage": "demo:2.0"}),
    ("6. a TrafficSplit sends 10% to the canary", {"canaryImage": "demo:2.0", "canaryWeight": "10"}),
    ("6. ... and then 50%", {"canaryImage": "demo:2.0", "canaryWeight": "50"}),
    ("7. complete the release: v2 becomes stable, the next canary takes a new label value v3",
     {"stableVersion": "v2", "canaryVersion": "v3", "canaryImage": "demo:3.0", "canaryWeight": "0"}),
]


def say(message: str) -> None:
    print(f"\n=== {message}", flush=True)


def run_root_program() -> None:
    runpy.run_path(str(tools.ROOT / "__main__.py"), run_name="__main__")


def deploy_demo_service(kubeconfig: str) -> None:
    """Step 1: the application as its team runs it: a Service and a Deployment labelled version=v1."""
    from lightkube import Client, KubeConfig, codecs
    from lightkube.resources.apps_v1 import Deployment

    client = Client(config=KubeConfig.from_file(kubeconfig), field_manager="demo-team")
    labels = {"app": "demo", "version": "v1"}
    for manifest in (
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "demo-service", "namespace": NAMESPACE},
         "spec": {"selector": {"app": "demo"}, "ports": [{"port": 80, "targetPort": 8080}]}},
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "demo-service-v1", "namespace": NAMESPACE},
         "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                  "template": {"metadata": {"labels": labels},
                               "spec": {"containers": [{"name": "app", "image": "demo:1.0"}]}}}},
    ):
        client.apply(codecs.from_dict(manifest))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = client.get(Deployment, "demo-service-v1", namespace=NAMESPACE).status
        if status and status.readyReplicas == 2:
            return
        time.sleep(0.5)
    raise RuntimeError("demo-service-v1 did not become ready")


@dataclass
class TrafficProbe:
    """After each step: a burst of real requests through the gateway, counted per version."""

    traefik: Traefik
    log: Path = TRAFFIC_LOG
    path: str = "/demo"

    def measure(self, step: str, declared: Mapping[str, int]) -> None:
        from pulumi_canary.emulator.dataplane import version_of_service

        if declared:
            self.traefik.wait_for_weights("file", self.path, declared, version_of=version_of_service)
        run = LoadRun(f"{self.traefik.mse_url}{self.path}", requests=BURST_REQUESTS, seconds=BURST_SECONDS)
        summary = run.run()
        answered = summary.served
        served = {
            version: round(100 * answered.get(version, 0) / summary.total, 1)
            for version in sorted({*declared, *answered})
        }
        line = {"step": step, "declared": dict(declared), "served": served,
                "requests": summary.total, "errors": summary.errors}
        with self.log.open("a") as log:
            log.write(json.dumps(line) + "\n")
        print(f"traffic through the gateway ({summary.total} requests, {summary.errors} failed):")
        for version, share in served.items():
            bar = "#" * round(share / 4)
            print(f"  {version:>4} declared {declared.get(version, 0):>3}%  served {share:>5}% {bar}")
        others = summary.total - sum(answered.values()) - summary.errors
        if others:
            print(f"  {others} request(s) answered by the gateway itself (no route: 404)")


def main() -> None:
    shutil.rmtree(DEMO_DIR, ignore_errors=True)
    DEMO_DIR.mkdir()
    say("starting the local cluster (etcd, kube-apiserver, controllers, scheduler, kwok) and Traefik")
    with running_rig(DEMO_DIR, gateway_id=GATEWAY_ID, with_prometheus=False) as rig:
        emulator, traefik = rig.emulator, rig.traefik
        print(f"MSE emulator on http://{emulator.endpoint}, gateway {GATEWAY_ID}; "
              f"its routes served by Traefik on {traefik.mse_url}")
        say("1. demo-service runs with a Deployment whose pods carry version=v1")
        deploy_demo_service(str(rig.cluster.kubeconfig_path))
        run_steps(emulator, str(rig.cluster.kubeconfig_path), TrafficProbe(traefik))
    say(f"demo finished; the traffic of each step is in {TRAFFIC_LOG.relative_to(tools.ROOT)}")


def run_steps(emulator: Any, kubeconfig: str, probe: TrafficProbe) -> None:
    env = {"KUBECONFIG": kubeconfig, "ALIBABA_CLOUD_ACCESS_KEY_ID": ACCESS_KEY_ID,
           "ALIBABA_CLOUD_ACCESS_KEY_SECRET": ACCESS_KEY_SECRET}
    stack = workspace.inline_stack(DEMO_DIR / "pulumi", "pulumi-canary-demo", "demo", run_root_program, env)
    base = {"gatewayId": GATEWAY_ID, "endpoint": f"http://{emulator.endpoint}", "namespace": NAMESPACE}
    for title, settings in STEPS:
        say(title)
        configure(stack, {**base, **settings})
        stack.preview(diff=True, on_output=print)
        result = stack.up(on_output=lambda _line: None)
        show_gateway(emulator)
        probe.measure(title, result.outputs["weights"].value)
    title = "8. delete the policy: all traffic to stable first, then the canary version and Deployment go"
    say(title)
    stack.destroy(on_output=print)
    show_gateway(emulator)
    probe.measure(title, {})


def show_gateway(emulator: Any) -> None:
    routes = emulator.state()["Routes"]
    if not routes:
        print("gateway: no route")
    for route in routes:
        print(f"gateway route {route['Name']} (status {route['Status']}):")
        for entry in route["RouteServices"]:
            bar = "#" * (entry["Percent"] // 4)
            print(f"  {entry.get('Version') or 'service':>4} {entry['Percent']:>3}% {bar}")


def configure(stack: Any, settings: dict[str, str]) -> None:
    from pulumi import automation as auto

    for key in ("stableVersion", "canaryVersion", "canaryImage", "canaryWeight"):
        if key not in settings:
            stack.remove_config(key)
    stack.set_all_config({key: auto.ConfigValue(value) for key, value in settings.items()})


if __name__ == "__main__":
    main()
