"""``make demo``: the root Pulumi program through the real engine, against the local rig.

The rig's CLI has no Python language host (see README), so the root ``__main__.py`` runs as an
Automation API inline program: the same file, the same engine, the same dynamic providers.
"""

from __future__ import annotations

import runpy
import shutil

from rig import tools, workspace
from rig.cluster import LocalCluster

DEMO_DIR = tools.ROOT / ".demo"


def say(message: str) -> None:
    print(f"\n=== {message}", flush=True)


def run_root_program() -> None:
    runpy.run_path(str(tools.ROOT / "__main__.py"), run_name="__main__")


def main() -> None:
    shutil.rmtree(DEMO_DIR, ignore_errors=True)
    DEMO_DIR.mkdir()
    say("starting the local cluster (etcd, kube-apiserver, controllers, scheduler, kwok)")
    with LocalCluster(workdir=DEMO_DIR / "cluster") as cluster:
        print(f"KUBECONFIG={cluster.kubeconfig_path}")
        stack = workspace.inline_stack(
            DEMO_DIR / "pulumi", "pulumi-canary-demo", "demo", run_root_program,
            {"KUBECONFIG": str(cluster.kubeconfig_path)},
        )
        say("pulumi preview --diff")
        stack.preview(diff=True, on_output=print)
        say("pulumi up")
        result = stack.up(on_output=print)
        for name, output in sorted(result.outputs.items()):
            print(f"output {name} = {output.value}")
        say("pulumi destroy")
        stack.destroy(on_output=print)
    say("demo finished")


if __name__ == "__main__":
    main()
