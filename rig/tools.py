"""Build (or reuse) every external tool the rig needs, from package registries only.

Nothing here downloads from anywhere but the Go module proxy, PyPI and Debian's apt: the Pulumi CLI,
etcd, kube-apiserver and friends, kwok and Traefik are compiled from Go modules through small generated
wrapper modules; the Gateway API and Istio CRDs are read from their Go module zips; Prometheus is taken
out of Debian's package. Each piece lands in its own folder under the tools directory, keyed by
version, with a stamp file written last, so a run that was interrupted simply builds that piece again.

Usage: ``python3 -m rig.tools [--print-env]`` (stdlib only: it runs before the virtualenv exists).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from rig import traefik_build

ROOT = Path(__file__).resolve().parent.parent

PULUMI_VERSION = "v3.274.1"
KUBERNETES_VERSION = "v1.35.4"
ETCD_VERSION = "v3.6.16"
KWOK_VERSION = "v0.7.0"
GATEWAY_API_VERSION = "v1.6.3"
ISTIO_API_VERSION = "v1.32.0"
TRAEFIK_MODULE = "github.com/traefik/traefik/v3"
TRAEFIK_VERSION = "v3.7.13"
# Debian bookworm's package; `apt-get download` is asked for exactly this version.
PROMETHEUS_DEBIAN_VERSION = "2.42.0+ds-5+deb12u1"
# Optional (only examples/with-pulumi-kubernetes needs it): the pulumi-kubernetes provider plugin. The Go
# module proxy serves a single pseudo-version of provider/v4; the plugin reports the version of the Python
# SDK pinned in the `dev` extra, so the engine's version check and the SDK agree.
PULUMI_KUBERNETES_MODULE = "github.com/pulumi/pulumi-kubernetes/provider/v4"
PULUMI_KUBERNETES_SOURCE = "v4.0.0-20260115033456-f47bc2d6f199"
PULUMI_KUBERNETES_VERSION = "4.34.2"

STAMP = ".complete"


def tools_dir() -> Path:
    return Path(os.environ.get("PULUMI_CANARY_TOOLS", ROOT / ".tools")).resolve()


@dataclass(frozen=True)
class Component:
    """One versioned folder of the tools directory."""

    name: str
    version: str
    build: Callable[[Path], None]

    @property
    def folder(self) -> Path:
        return tools_dir() / f"{self.name}-{self.version}"

    def is_ready(self) -> bool:
        return (self.folder / STAMP).exists()

    def ensure(self) -> Path:
        if self.is_ready():
            return self.folder
        started = time.monotonic()
        log(f"building {self.name} {self.version} (cached after the first time)")
        staging = self.folder.with_name(self.folder.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        self.build(staging)
        (staging / STAMP).write_text(json.dumps({"seconds": round(time.monotonic() - started, 1)}))
        shutil.rmtree(self.folder, ignore_errors=True)
        staging.rename(self.folder)
        log(f"built {self.name} {self.version} in {time.monotonic() - started:.0f}s")
        return self.folder


def log(message: str) -> None:
    print(f"[rig] {message}", file=sys.stderr, flush=True)


def go_env() -> dict[str, str]:
    env = dict(os.environ)
    # Wrapper modules live in the tools folder; the build must not pick up a go.work from elsewhere.
    env["GOWORK"] = "off"
    env["GOFLAGS"] = "-mod=mod -buildvcs=false"
    env.setdefault("CGO_ENABLED", "0")
    return env


def go(args: Iterable[str], cwd: Path) -> str:
    result = subprocess.run(
        ["go", *args], cwd=cwd, env=go_env(), check=False, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise SystemExit(f"[rig] go {' '.join(args)} failed in {cwd}:\n{result.stderr[-4000:]}")
    return result.stdout


def download(module: str, version: str, cwd: Path) -> dict[str, str]:
    info: dict[str, str] = json.loads(go(["mod", "download", "-json", f"{module}@{version}"], cwd))
    return info


def write_wrapper(folder: Path, requires: dict[str, str], mains: list[str], replaces: dict[str, str]) -> None:
    """A throwaway module whose only job is to pin versions: replaces in dependencies are ignored."""
    require_lines = "\n".join(f"\t{module} {version}" for module, version in sorted(requires.items()))
    replace_lines = "\n".join(f"\t{module} => {target}" for module, target in sorted(replaces.items()))
    text = f"module pulumicanary.local/rig-tools\n\ngo 1.26\n\nrequire (\n{require_lines}\n)\n"
    if replaces:
        text += f"\nreplace (\n{replace_lines}\n)\n"
    (folder / "go.mod").write_text(text)
    imports = "\n".join(f'\t_ "{main}"' for main in mains)
    (folder / "tools.go").write_text(f"//go:build tools\n\npackage tools\n\nimport (\n{imports}\n)\n")
    go(["mod", "tidy"], folder)


def go_build(folder: Path, main: str, output: Path, ldflags: str = "-s -w", tags: str = "") -> None:
    args = ["build", "-trimpath", f"-ldflags={ldflags}", "-o", str(output)]
    if tags:
        args.append(f"-tags={tags}")
    go([*args, main], folder)


def build_pulumi(out: Path) -> None:
    work, bin_dir = out / "wrapper", out / "bin"
    work.mkdir()
    bin_dir.mkdir()
    sdk, pkg = "github.com/pulumi/pulumi/sdk/v3", "github.com/pulumi/pulumi/pkg/v3"
    # pkg/v3's own go.mod pins an older sdk/v3: require both at the same version.
    write_wrapper(work, {pkg: PULUMI_VERSION, sdk: PULUMI_VERSION}, [f"{pkg}/cmd/pulumi"], {})
    version_flag = f"-X {sdk}/go/common/version.Version={PULUMI_VERSION}"
    go_build(work, f"{pkg}/cmd/pulumi", bin_dir / "pulumi", f"-s -w {version_flag}", "osusergo,grpcnotrace")
    sdk_dir = Path(download(sdk, PULUMI_VERSION, work)["Dir"])
    # The dynamic-provider shim and the language host's exec script ship as scripts in sdk/v3.
    for script in ("python/dist/pulumi-resource-pulumi-python", "python/cmd/pulumi-language-python-exec"):
        target = bin_dir / Path(script).name
        shutil.copyfile(sdk_dir / script, target)
        target.chmod(0o755)
    shutil.rmtree(work)


def staging_replaces(kubernetes_go_mod: Path, kubernetes_version: str) -> dict[str, str]:
    """k8s.io/kubernetes requires its staging modules at v0.0.0: point each at its published v0.Y.Z."""
    published = "v0." + kubernetes_version.removeprefix("v1.")
    staged = re.findall(r"^\s*(k8s\.io/[\w.-]+) v0\.0\.0\s*$", kubernetes_go_mod.read_text(), re.M)
    return {module: f"{module} {published}" for module in staged}


def build_kubernetes(out: Path) -> None:
    work = out / "wrapper"
    work.mkdir()
    info = download("k8s.io/kubernetes", KUBERNETES_VERSION, work)
    replaces = staging_replaces(Path(info["GoMod"]), KUBERNETES_VERSION)
    mains = [f"k8s.io/kubernetes/cmd/{name}" for name in KUBERNETES_BINARIES]
    write_wrapper(work, {"k8s.io/kubernetes": KUBERNETES_VERSION}, mains, replaces)
    for name, main in zip(KUBERNETES_BINARIES, mains, strict=True):
        go_build(work, main, out / name)
    shutil.rmtree(work)


KUBERNETES_BINARIES = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")


def build_etcd(out: Path) -> None:
    work = out / "wrapper"
    work.mkdir()
    # server/v3 has replaces in its own go.mod, so `go install module@version` is refused.
    module = "go.etcd.io/etcd/server/v3"
    write_wrapper(work, {module: ETCD_VERSION}, [module], {})
    go_build(work, module, out / "etcd")
    shutil.rmtree(work)


def build_kwok(out: Path) -> None:
    work = out / "wrapper"
    work.mkdir()
    module = "sigs.k8s.io/kwok"
    write_wrapper(work, {module: KWOK_VERSION}, [f"{module}/cmd/kwok"], {})
    go_build(work, f"{module}/cmd/kwok", out / "kwok")
    shutil.rmtree(work)


def copy_crds(out: Path) -> None:
    gateway = Path(download("sigs.k8s.io/gateway-api", GATEWAY_API_VERSION, out)["Dir"])
    for channel in ("standard", "experimental"):
        target = out / "gateway-api" / channel
        target.mkdir(parents=True)
        for crd in sorted((gateway / "config" / "crd" / channel).glob("gateway.networking*.yaml")):
            shutil.copyfile(crd, target / crd.name)
    istio = Path(download("istio.io/api", ISTIO_API_VERSION, out)["Dir"])
    (out / "istio").mkdir()
    shutil.copyfile(istio / "kubernetes" / "customresourcedefinitions.gen.yaml", out / "istio" / "crds.yaml")


def build_pulumi_kubernetes(out: Path) -> None:
    """``pulumi-resource-kubernetes`` into ``bin/``: the module's main embeds files that its
    ``go generate`` step writes (the schema with the version set, the compacted Terraform mapping), so
    the module is copied next to a wrapper, generated, and replaced in."""
    work, bin_dir = out / "wrapper", out / "bin"
    work.mkdir()
    bin_dir.mkdir()
    module, main = PULUMI_KUBERNETES_MODULE, f"{PULUMI_KUBERNETES_MODULE}/cmd/pulumi-resource-kubernetes"
    source = work / "provider"
    shutil.copytree(download(module, PULUMI_KUBERNETES_SOURCE, work)["Dir"], source)
    for path in (source, *source.rglob("*")):
        path.chmod(0o755 if path.is_dir() else 0o644)
    cmd = source / "cmd" / "pulumi-resource-kubernetes"
    schema = json.loads((cmd / "schema.json").read_text())
    schema["version"] = PULUMI_KUBERNETES_VERSION
    (cmd / "schema-embed.json").write_text(json.dumps(schema, separators=(",", ":")))
    mapping = json.loads((cmd / "terraform-mapping.json").read_text())
    (cmd / "terraform-mapping-embed.json").write_text(json.dumps(mapping, separators=(",", ":")))
    write_wrapper(work, {module: PULUMI_KUBERNETES_SOURCE}, [main], {module: "./provider"})
    version_flag = f"-X {module}/pkg/version.Version={PULUMI_KUBERNETES_VERSION}"
    plugin = bin_dir / "pulumi-resource-kubernetes"
    go_build(work, main, plugin, f"-s -w {version_flag}", "osusergo,grpcnotrace")
    shutil.rmtree(work)


def build_traefik(out: Path) -> None:
    """``traefik``, with the stand-ins of ``rig.traefik_build`` for what the module proxy refuses."""
    work = out / "wrapper"
    work.mkdir()
    lego = Path(download(traefik_build.LEGO_MODULE, traefik_build.LEGO_VERSION, work)["Dir"])
    replaces = traefik_build.write_stand_ins(work, lego)
    main = f"{TRAEFIK_MODULE}/cmd/traefik"
    write_wrapper(work, {TRAEFIK_MODULE: TRAEFIK_VERSION, **traefik_build.TEST_ONLY_PINS}, [main], replaces)
    version_flag = f"-X {TRAEFIK_MODULE}/pkg/version.Version={TRAEFIK_VERSION}"
    go_build(work, main, out / "traefik", f"-s -w {version_flag}")
    shutil.rmtree(work)


def build_prometheus(out: Path) -> None:
    """``prometheus`` and ``promtool`` out of Debian's package: extracted, never installed (no service)."""
    work = out / "deb"
    work.mkdir()
    package = download_prometheus_deb(work)
    debian_tool(["dpkg-deb", "-x", str(package), str(work / "root")])
    for name in ("prometheus", "promtool"):
        shutil.copy2(work / "root" / "usr" / "bin" / name, out / name)
    shutil.rmtree(work)


def download_prometheus_deb(folder: Path) -> Path:
    wanted = f"prometheus={PROMETHEUS_DEBIAN_VERSION}"
    error = apt_download(wanted, folder)
    if "Unable to locate package" in error or "was not found" in error:
        # Package lists that are missing (never updated) or older than the pinned version.
        debian_tool(["apt-get", "update"])
        error = apt_download(wanted, folder)
    if error:
        raise SystemExit(f"[rig] apt cannot give {wanted}: {error}")
    return next(folder.glob("prometheus_*.deb"))


def apt_download(package: str, folder: Path) -> str:
    """Empty on success, else apt's last error line."""
    result = run_in_c_locale(["apt-get", "download", package], folder)
    if result.returncode == 0:
        return ""
    errors = [line for line in result.stderr.splitlines() if line.startswith("E:")]
    return errors[-1] if errors else result.stderr.strip()


def debian_tool(args: list[str]) -> None:
    result = run_in_c_locale(args, None)
    if result.returncode != 0:
        raise SystemExit(f"[rig] {' '.join(args)} failed:\n{result.stderr[-2000:]}")


def run_in_c_locale(args: list[str], cwd: Path | None) -> subprocess.CompletedProcess[str]:
    # English messages: apt_download recognises an unknown package by its error text.
    env = {**os.environ, "LC_ALL": "C"}
    return subprocess.run(args, cwd=cwd, env=env, check=False, capture_output=True, text=True)


PULUMI = Component("pulumi", PULUMI_VERSION, build_pulumi)
KUBERNETES = Component("kubernetes", KUBERNETES_VERSION, build_kubernetes)
ETCD = Component("etcd", ETCD_VERSION, build_etcd)
KWOK = Component("kwok", KWOK_VERSION, build_kwok)
CRDS = Component("crds", f"gateway-api-{GATEWAY_API_VERSION}-istio-{ISTIO_API_VERSION}", copy_crds)
TRAEFIK = Component("traefik", TRAEFIK_VERSION, build_traefik)
PROMETHEUS = Component("prometheus", PROMETHEUS_DEBIAN_VERSION, build_prometheus)
COMPONENTS = (PULUMI, ETCD, KUBERNETES, KWOK, CRDS, TRAEFIK, PROMETHEUS)
# Built on demand (``python3 -m rig.tools --with pulumi-kubernetes``), never by ``make setup``.
PULUMI_KUBERNETES = Component(
    "pulumi-kubernetes", f"{PULUMI_KUBERNETES_VERSION}-{PULUMI_KUBERNETES_SOURCE}", build_pulumi_kubernetes
)
OPTIONAL = {"pulumi-kubernetes": PULUMI_KUBERNETES}


def version_tuple(text: str) -> tuple[int, ...]:
    match = re.search(r"v?(\d+)\.(\d+)\.(\d+)", text)
    return tuple(int(part) for part in match.groups()) if match else (0,)


def pulumi_on_path() -> Path | None:
    """A user's own pulumi (from the normal installer) is used when it is new enough."""
    found = shutil.which("pulumi")
    if not found or Path(found).resolve().is_relative_to(tools_dir()):
        return None
    try:
        printed = subprocess.run([found, "version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    if version_tuple(printed) < version_tuple(PULUMI_VERSION):
        return None
    return Path(found).resolve().parent


def pulumi_bin_dir() -> Path:
    """The folder holding ``pulumi`` and the dynamic-provider shim (Automation API wants its parent)."""
    return pulumi_on_path() or PULUMI.folder / "bin"


def ensure_all() -> None:
    for component in COMPONENTS:
        if component is PULUMI and pulumi_on_path():
            continue
        component.ensure()


def print_env() -> None:
    print(f"export PATH={pulumi_bin_dir()}:$PATH")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--print-env", action="store_true", help="print shell exports for PATH")
    parser.add_argument("--with", dest="optional", action="append", default=[], choices=sorted(OPTIONAL),
                        help="also build an optional component")
    args = parser.parse_args()
    ensure_all()
    for name in args.optional:
        OPTIONAL[name].ensure()
    if args.print_env:
        print_env()


if __name__ == "__main__":
    main()
