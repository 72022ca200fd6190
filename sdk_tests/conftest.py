"""Fixtures every test layer shares: the real cluster and hermetic Pulumi workspaces."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from rig import workspace
from rig.cluster import LocalCluster

LAYER_OF_FOLDER = {
    "unit": "unit",
    "emulator": "emulator",
    "drivers": "emulator",
    "rig": "cluster",
    "engine": "engine",
    "conformance": "engine",
    "bench": "engine",
    "examples": "examples",
    "traffic": "traffic",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test with its layer, from the folder it lives in (pyproject.toml lists the markers)."""
    root = Path(__file__).parent
    for item in items:
        folder = Path(item.path).relative_to(root).parts[0]
        if folder not in LAYER_OF_FOLDER:
            raise pytest.UsageError(f"{item.nodeid}: add its folder {folder!r} to LAYER_OF_FOLDER")
        item.add_marker(LAYER_OF_FOLDER[folder])


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # Everything here talks to loopback; the Alibaba SDK honours HTTP(S)_PROXY but not NO_PROXY.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def private_network() -> None:
    """Requests to pod IPs (10.244.0.0/16) work only inside the network namespace of ``rig.netns``:
    outside it a test that needs them fails (it does not skip), naming the way in."""
    from rig.netns import in_private_namespace

    if not in_private_namespace():
        pytest.fail(
            "this test sends requests to pod IPs (10.244.0.0/16), which are local only inside the private "
            "network namespace: run it with `make test`, or "
            "`.venv/bin/python -m rig.netns .venv/bin/python -m pytest ...`",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """One real control plane for the whole session (etcd, apiserver, controllers, scheduler, kwok)."""
    with LocalCluster(workdir=tmp_path_factory.mktemp("cluster")) as running:
        yield running


@pytest.fixture(scope="session")
def kubeconfig(cluster: LocalCluster) -> Path:
    return cluster.kubeconfig_path


@pytest.fixture(scope="session")
def kube(kubeconfig: Path) -> Any:
    from lightkube import Client, KubeConfig

    return Client(config=KubeConfig.from_file(kubeconfig), field_manager="sdk-tests")


@pytest.fixture
def namespace(kube: Any) -> Iterator[str]:
    """A fresh namespace per test; deletion is not awaited (it never finishes without a kubelet's help)."""
    from lightkube.models.meta_v1 import ObjectMeta
    from lightkube.resources.core_v1 import Namespace

    name = f"t-{uuid.uuid4().hex[:10]}"
    kube.create(Namespace(metadata=ObjectMeta(name=name)))
    yield name
    kube.delete(Namespace, name)


@pytest.fixture
def pulumi_root(tmp_path: Path) -> Path:
    root = tmp_path / "pulumi"
    root.mkdir()
    return root


StackFactory = Callable[..., Any]


@pytest.fixture
def inline_stack(pulumi_root: Path) -> Iterator[StackFactory]:
    """Create Automation API stacks in a hermetic workspace; stacks left over are destroyed at the end."""
    created: list[Any] = []

    def make(program: Callable[[], None], stack: str = "test", project: str = "canarytest",
             env: dict[str, str] | None = None) -> Any:
        made = workspace.inline_stack(pulumi_root, project, stack, program, env)
        created.append(made)
        return made

    yield make
    for stack in created:
        stack.destroy(on_output=lambda _line: None)
        stack.workspace.remove_stack(stack.name)


@pytest.fixture
def hermetic_env(pulumi_root: Path) -> dict[str, str]:
    return {**os.environ, **workspace.hermetic_env(pulumi_root)}
