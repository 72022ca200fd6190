"""The layers of pulumi_canary, read from its source: which layer may import which, no import cycle
(function-level imports included, since they only hide a cycle), no pulumi below the adapter, and a
public surface that is exactly ``__all__``."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import pulumi_canary

PACKAGE = Path(pulumi_canary.__file__).resolve().parent
ROOT = "pulumi_canary"

# What each layer may import from the package besides itself (``None``: anything).
ALLOWED: dict[str, set[str] | None] = {
    "errors": set(),
    "state_keys": set(),
    "model": {"errors"},
    "drivers": {"errors", "model"},
    "usecases": {"errors", "model", "drivers", "reporting", "state_keys"},
    "adapter": {"errors", "model", "usecases", "state_keys"},
    "reporting": {"state_keys"},
    "emulator": set(),
    "cli": None,
    "__init__": None,
}
HEAVY = ("pulumi", "grpc")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


MODULES = modules()


def is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def imports_of(name: str, path: Path, *, runtime_only: bool = False) -> Iterator[str]:
    """Every module ``name`` imports, anywhere in the file (functions included), resolved to full names;
    ``runtime_only`` leaves out the imports made for the type checker alone."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(), str(path))
    if runtime_only:
        tree.body = [node for node in tree.body if not is_type_checking(node)]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            # ``from . import rules`` imports the module ``rules``; any other name comes from ``base``.
            submodules = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in MODULES]
            yield from submodules
            if len(submodules) < len(node.names):
                yield base


def layer_of(name: str) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


GRAPH = {
    name: sorted({target for target in imports_of(name, path) if target in MODULES and target != name})
    for name, path in MODULES.items()
}


def test_every_module_belongs_to_a_known_layer() -> None:
    assert {layer_of(name) for name in MODULES} <= set(ALLOWED)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_follow_the_layers(name: str) -> None:
    layer = layer_of(name)
    allowed = ALLOWED[layer]
    if allowed is None:
        return
    wrong = [target for target in GRAPH[name] if layer_of(target) not in allowed | {layer}]
    assert not wrong, f"{name} ({layer}) imports {wrong}; {layer} may import {sorted(allowed)}"


def test_there_is_no_import_cycle() -> None:
    done: set[str] = set()

    def visit(name: str, stack: list[str]) -> None:
        if name in stack:
            cycle = [*stack[stack.index(name) :], name]
            pytest.fail(f"import cycle: {' -> '.join(cycle)}")
        if name in done:
            return
        for target in GRAPH[name]:
            visit(target, [*stack, name])
        done.add(name)

    for name in MODULES:
        visit(name, [])


@pytest.mark.parametrize("layer", ["model", "drivers", "usecases", "reporting", "emulator"])
def test_only_the_adapter_imports_pulumi(layer: str) -> None:
    found = [
        (name, target)
        for name, path in MODULES.items()
        if layer_of(name) == layer
        for target in imports_of(name, path, runtime_only=True)
        if target.split(".")[0] in HEAVY
    ]
    assert not found, f"{layer} imports {found}"


def test_the_graph_sees_function_level_imports() -> None:
    """The cycle test is only as good as the graph: a lazy import inside a function must be an edge."""
    assert "pulumi_canary.usecases.policy" in GRAPH["pulumi_canary.adapter.providers"]


def test_all_is_exactly_the_public_names() -> None:
    lazy = set(pulumi_canary._PUBLIC)
    assert set(pulumi_canary.__all__) == lazy | {"__version__"}
    assert len(pulumi_canary.__all__) == len(set(pulumi_canary.__all__))
    for name in lazy:
        assert getattr(pulumi_canary, name) is not None
    with pytest.raises(AttributeError):
        pulumi_canary.NoSuchName  # noqa: B018
