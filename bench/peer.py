"""The peer: the bench's Gateway API release, managed with pulumi-kubernetes instead of pulumi-canary.

For each index i, what a Gateway API canary leaves in the cluster, declared as plain pulumi-kubernetes
resources: the two version Services ``peer-{i}-v1`` and ``peer-{i}-v2`` (selector ``app=svc-{i}``,
``version=<v>``) and the weighted HTTPRoute ``peer-{i}`` on the bench's Gateway. The names never meet
the canary stack's own objects. No reads of the live route, no readiness gate of its own: whatever
checking there is comes from pulumi-kubernetes' await logic, on by default and switched off per object
by the ``pulumi.com/skipAwait`` annotation (its fastest mode).

What the default awaiting costs is the Services': each waits for its Endpoints object, then 10 s more
for it to settle (pulumi-kubernetes' Service awaiter), whether or not any pod is selected. The HTTPRoute
has no awaiter of its own (none for CRDs, unless ``pulumi.com/waitFor`` or ``PULUMI_K8S_AWAIT_ALL`` asks),
so it never waits for a controller to accept it. The engine runs 4 x GOMAXPROCS steps at once (8 on two
cores): a create takes about ceil(2N / 8) x 10 s.

The provider is the default one, configured by nothing but the environment the engine starts it in: it
loads ``$KUBECONFIG`` with client-go's rules, and the stack's environment (``bench.run.stack_env``) sets
``KUBECONFIG`` to the rig's kubeconfig. An explicit ``pulumi_kubernetes.Provider`` would read
``KUBECONFIG`` from this process's environment instead (the inline program runs here), and would store
the value in the state. Nothing about the kubeconfig is written to the state.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bench.gateways import GATEWAY_API_GATEWAY, NAMESPACE
from bench.measure import QUIET, Samples, timed
from rig import tools, workspace

if TYPE_CHECKING:
    import pulumi_kubernetes as k8s
    from pulumi.automation import Stack

VERSIONS = ("v1", "v2")
SKIP_AWAIT = {"pulumi.com/skipAwait": "true"}
BENCH_GATEWAY = (GATEWAY_API_GATEWAY, NAMESPACE)
"""The bench's own Gateway: its class has no controller, so nothing serves it (the peer's objects are
measured as written, as the canary stacks' are)."""


@dataclass
class PeerSamples:
    """What the repeats of one peer measurement (one N, one await mode) gather."""

    preview: Samples = field(default_factory=Samples)
    up: Samples = field(default_factory=Samples)
    change: Samples = field(default_factory=Samples)
    refresh: Samples = field(default_factory=Samples)


# ---- the program --------------------------------------------------------------------------------------


def peer_program(
    count: int, weights: dict[int, int], skip_await: bool, parent: tuple[str, str] = BENCH_GATEWAY
) -> Callable[[], None]:
    """N version-Service pairs and weighted HTTPRoutes on the ``parent`` Gateway (name, namespace);
    ``weights`` is read each time the program runs, so a caller changes a weight between two ``up``s by
    changing the dict."""

    def program() -> None:
        annotations = SKIP_AWAIT if skip_await else None
        for index in range(count):
            services = [version_service(index, version, annotations) for version in VERSIONS]
            weighted_route(index, services, weights.get(index, 0), annotations, parent)

    return program


def version_service(index: int, version: str, annotations: Mapping[str, str] | None) -> k8s.core.v1.Service:
    import pulumi_kubernetes as k8s  # only here: a large package, and bench.run imports this module

    name = f"peer-{index}-{version}"
    return k8s.core.v1.Service(
        name,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=NAMESPACE, annotations=annotations),
        spec=k8s.core.v1.ServiceSpecArgs(
            selector={"app": f"svc-{index}", "version": version},
            ports=[k8s.core.v1.ServicePortArgs(port=80, target_port=8080)],
        ),
    )


def weighted_route(
    index: int,
    services: list[k8s.core.v1.Service],
    weight: int,
    annotations: Mapping[str, str] | None,
    parent: tuple[str, str] = BENCH_GATEWAY,
) -> k8s.apiextensions.CustomResource:
    """The route names its backends by the Services' outputs, as a pulumi-kubernetes user would: it is
    written once both Services are (with awaiting on, once both have settled)."""
    import pulumi_kubernetes as k8s

    stable, canary = services
    refs = [
        {"name": stable.metadata.name, "port": 80, "weight": 100 - weight},
        {"name": canary.metadata.name, "port": 80, "weight": weight},
    ]
    rule = {"matches": [{"path": {"type": "PathPrefix", "value": f"/p{index}"}}], "backendRefs": refs}
    name = f"peer-{index}"
    return k8s.apiextensions.CustomResource(
        name,
        api_version="gateway.networking.k8s.io/v1",
        kind="HTTPRoute",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=NAMESPACE, annotations=annotations),
        spec={
            "parentRefs": [{"name": parent[0], "namespace": parent[1]}],
            "rules": [rule],
        },
    )


# ---- the stack ----------------------------------------------------------------------------------------


def plugin_dir() -> Path:
    """The folder of ``pulumi-resource-kubernetes``, built by ``rig.tools`` (from its Go module, cached
    after the first time): the plugin is not on PyPI, and the hermetic workspaces never download one."""
    return tools.PULUMI_KUBERNETES.ensure() / "bin"


def peer_env(root: Path, env: Mapping[str, str]) -> dict[str, str]:
    """``env`` plus a PATH that finds the plugin first: the engine takes a plugin from PATH, as
    ``sdk_tests/examples`` does for examples/with-pulumi-kubernetes."""
    rig_path = workspace.hermetic_env(root, env)["PATH"]
    return {**env, "PATH": os.pathsep.join([str(plugin_dir()), rig_path])}


def peer_stack(
    root: Path, count: int, weights: dict[int, int], env: Mapping[str, str], skip_await: bool
) -> Stack:
    program = peer_program(count, weights, skip_await)
    return workspace.inline_stack(root, "bench", "peer", program, peer_env(root, env))


# ---- the measurement ----------------------------------------------------------------------------------


def measure_peer(
    count: int,
    attempt: int,
    work: Path,
    env: dict[str, str],
    samples: PeerSamples,
    skip_await: bool,
    detailed: bool,
) -> None:
    """N releases on pulumi-kubernetes: preview, up (create) and, when ``detailed``, one weight change
    and a refresh; then the stack is destroyed. ``env`` is the stack's (``bench.run.stack_env``)."""
    # The SDK's first import (about 2 s here) is this process's once-only cost, not the engine's: kept
    # out of the timings, as bench.run's import of pulumi_canary is.
    for module in ("pulumi_kubernetes.core.v1", "pulumi_kubernetes.apiextensions"):
        importlib.import_module(module)
    mode = "skip-await" if skip_await else "await"
    weights: dict[int, int] = {}
    stack = peer_stack(work / f"peer-{mode}-{count}-{attempt}", count, weights, env, skip_await)
    with timed(samples.preview):
        stack.preview(**QUIET)
    with timed(samples.up):
        stack.up(**QUIET)
    if detailed:
        # In bench.run.measure_canary's order: the refresh, then the weight change.
        with timed(samples.refresh):
            stack.refresh(**QUIET)
        weights[0] = 10 + attempt  # a real change on each repeat
        with timed(samples.change):
            stack.up(**QUIET)
    stack.destroy(**QUIET)
