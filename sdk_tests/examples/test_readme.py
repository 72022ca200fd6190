"""Every code block of README.md is exercised: Python blocks run through the real engine against the
rig (with the gateway endpoint and namespace substituted in the syntax tree, nothing else), the layout
block names folders that exist. A new block without a check here fails the test."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from typing import Any

from pulumi_canary.emulator import EmulatorServer
from rig import tools
from sdk_tests.engine.conftest import Workload
from sdk_tests.engine.mse_program import route_weights
from sdk_tests.examples.conftest import EXAMPLES, QUIET

README = tools.ROOT / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)


def blocks(language: str | None = None) -> list[tuple[str, str]]:
    found = [(lang, body) for lang, body in FENCE.findall(README.read_text())]
    return [(lang, body) for lang, body in found if language is None or lang == language]


class PointAtTheRig(ast.NodeTransformer):
    """``canary.MseGateway(...)`` gets ``endpoint=``, ``canary.ServiceRef(...)`` gets ``namespace=``."""

    def __init__(self, endpoint: str, namespace: str) -> None:
        self.set = {"MseGateway": ("endpoint", endpoint), "ServiceRef": ("namespace", namespace)}
        self.done: set[str] = set()

    def visit_Call(self, node: ast.Call) -> Any:
        self.generic_visit(node)
        if isinstance(node.func, ast.Attribute) and node.func.attr in self.set:
            key, value = self.set[node.func.attr]
            node.keywords = [k for k in node.keywords if k.arg != key]
            node.keywords.append(ast.keyword(arg=key, value=ast.Constant(value)))
            self.done.add(node.func.attr)
        return node


def program_of(source: str, endpoint: str, namespace: str) -> Callable[[], None]:
    transformer = PointAtTheRig(endpoint, namespace)
    tree = ast.fix_missing_locations(transformer.visit(ast.parse(source)))
    assert transformer.done == {"MseGateway", "ServiceRef"}, "the block no longer names a gateway and service"
    code = compile(tree, str(README), "exec")
    return lambda: exec(code, {"__name__": "__main__"})


def quickstart_block() -> str:
    python = [body for _, body in blocks("python")]
    quickstarts = [body for body in python if 'canary.CanaryPolicy("demo"' in body]
    assert len(quickstarts) == 1
    return quickstarts[0]


def analysis_block() -> str:
    (block,) = [body for _, body in blocks("python") if body.startswith("analysis = canary.Analysis(")]
    return block


def progress_block() -> str:
    (block,) = [body for _, body in blocks("text") if body.startswith("pulumi-canary: ")]
    return block


def test_every_code_block_of_the_readme_has_a_check() -> None:
    checked = {
        ("python", quickstart_block()),
        ("python", analysis_block()),
        ("text", progress_block()),
        ("", layout_block()),
    }
    assert set(blocks()) == checked, "a README code block without a test: add its check here"


def test_the_analysis_example_is_a_valid_analysis() -> None:
    import pulumi_canary as canary
    from pulumi_canary.model import check_split
    from sdk_tests.unit.factories import split_props

    scope: dict[str, Any] = {"canary": canary}
    exec(compile(analysis_block(), str(README), "exec"), scope)
    props = split_props(analysis=scope["analysis"].to_props())
    assert check_split(props) == ()
    (metric,) = props["analysis"]["metrics"]
    assert metric["query"].count("(") == metric["query"].count(")"), "the PromQL's brackets do not pair"


def test_the_quickstart_runs_as_written(
    inline_stack, stack_env, emulator: EmulatorServer, namespace: str, workload: Workload
) -> None:
    source = quickstart_block()
    gateway = re.search(r'gateway_id="([^"]+)"', source)
    assert gateway
    emulator.reset()
    emulator.seed_gateway(gateway.group(1), region="cn-hangzhou")
    emulator.seed_service_source(gateway.group(1), "c-quickstart")
    stack = inline_stack(program_of(source, emulator.url, namespace), env=stack_env)
    stack.up(**QUIET)
    assert route_weights(emulator, gateway.group(1)) == {"v1": 90, "v2": 10}
    canary = workload.deployment("demo-service-v2")
    assert canary.spec.template.metadata.labels["version"] == "v2"
    assert canary.spec.template.spec.containers[0].image == "demo:2.0"
    stack.destroy(**QUIET)
    assert [r for r in emulator.state()["Routes"] if r["GatewayUniqueId"] == gateway.group(1)] == []


def layout_block() -> str:
    (layout,) = [body for lang, body in blocks("") if "pulumi_canary/model/" in body]
    return layout


def test_the_layout_block_names_folders_that_exist() -> None:
    folders = [line.split()[0] for line in layout_block().splitlines() if line.strip()]
    assert folders and all((tools.ROOT / folder).is_dir() for folder in folders), folders


def test_the_layout_block_names_every_package_and_test_folder() -> None:
    listed = {line.split()[0].rstrip("/") for line in layout_block().splitlines() if line.strip()}
    packages = {
        str(init.parent.relative_to(tools.ROOT))
        for init in (tools.ROOT / "pulumi_canary").rglob("__init__.py")
        if init.parent.name != "pulumi_canary"
    }
    tests = {
        f"sdk_tests/{path.name}"
        for path in (tools.ROOT / "sdk_tests").iterdir()
        if (path / "__init__.py").exists()
    }
    missing = sorted((packages | tests | {"examples", "bench", "rig"}) - listed)
    assert not missing, f"the README's Layout block does not name {missing}"


def test_the_examples_section_lists_every_example() -> None:
    text = README.read_text()
    section = text.split("## Examples", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"\(examples/([\w-]+)/?\)", section))
    assert listed == {path.name for path in EXAMPLES.iterdir() if path.is_dir()}


def test_the_progress_lines_are_the_ones_a_rollout_prints() -> None:
    from pulumi_canary.model import Analyze, Pause, SetWeights
    from pulumi_canary.model.analysis import AnalysisSpec, MetricSpec, MetricTally

    metric = MetricSpec(name="error-rate", query="q", max=0.01)
    analysis = AnalysisSpec(prometheus_url="http://p:9090", metrics=(metric,))
    tally = MetricTally(metric, 0, 4)
    for value in (0, 0.001, 0):
        tally.measured(value)
    printed = [
        SetWeights({"v1": 90, "v2": 10}).describe(),
        Pause("v2", 10, 60).describe(),
        Analyze("v2", 10, analysis, {}).describe(),
        f"analysis of version v2 at 10% passed: {tally.summary()}",
    ]
    assert progress_block().splitlines() == [f"pulumi-canary: {line}" for line in printed]
