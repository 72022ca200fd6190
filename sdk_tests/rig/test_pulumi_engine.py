"""The Pulumi engine is the real one: the CLI built from Go modules runs a dynamic provider end to end."""

from __future__ import annotations

import subprocess
from pathlib import Path

from rig import tools
from sdk_tests.rig.file_provider import ManagedFile


def test_cli_reports_the_pinned_version(hermetic_env: dict[str, str]) -> None:
    printed = subprocess.run(
        [str(tools.pulumi_bin_dir() / "pulumi"), "version"],
        env=hermetic_env, capture_output=True, text=True, check=True,
    ).stdout.strip()
    if tools.pulumi_on_path() is None:
        assert printed == tools.PULUMI_VERSION
    else:
        assert tools.version_tuple(printed) >= tools.version_tuple(tools.PULUMI_VERSION)


def test_dynamic_resource_goes_through_preview_up_refresh_destroy(inline_stack, tmp_path: Path) -> None:
    target = tmp_path / "managed.txt"
    content = {"value": "first"}

    def program() -> None:
        import pulumi

        managed = ManagedFile("managed", str(target), content["value"])
        pulumi.export("content", managed.content)

    stack = inline_stack(program)

    preview = stack.preview(on_output=lambda _line: None)
    assert preview.change_summary == {"create": 2}
    assert not target.exists(), "preview must not create anything"

    up = stack.up(on_output=lambda _line: None)
    assert up.summary.result == "succeeded"
    assert target.read_text() == "first"
    assert up.outputs["content"].value == "first"

    target.write_text("changed behind pulumi's back")
    refresh = stack.refresh(on_output=lambda _line: None)
    assert refresh.summary.result == "succeeded"
    assert stored_content(stack) == "changed behind pulumi's back", "refresh reads the live object"

    content["value"] = "second"
    up = stack.up(on_output=lambda _line: None)
    assert up.summary.resource_changes == {"same": 1, "update": 1}
    assert target.read_text() == "second"

    destroy = stack.destroy(on_output=lambda _line: None)
    assert destroy.summary.result == "succeeded"
    assert not target.exists()


def stored_content(stack) -> str:
    resources = stack.export_stack().deployment["resources"]
    (managed,) = [r for r in resources if r["type"] == "pulumi-python:dynamic:Resource"]
    return str(managed["outputs"]["content"])
