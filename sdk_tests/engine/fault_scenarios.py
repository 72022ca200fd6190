"""What every fault scenario shares, on any gateway: a named set of fault rules that a run either
recovers from or fails on, and the one way to run it.

``run`` arms the faults on the release's fault target (the MSE emulator, or the proxy in front of the
apiserver), runs one operation through the real engine, and checks the outcome: a scenario that should
recover succeeds; one that should fail fails with a message the gateway's ``check_failure`` accepts.
Every armed rule must have fired, so a scenario cannot pass without exercising its fault.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pulumi.automation.errors import CommandError

from sdk_tests.engine.invariants import Release
from sdk_tests.engine.mse_program import QUIET


@dataclass(frozen=True)
class Scenario:
    """A named fault set and whether the operation must recover by itself (``recovers=True``) or fail."""

    name: str
    faults: tuple[Any, ...]
    recovers: bool

    def __str__(self) -> str:
        return self.name


def scenario(name: str, *faults: Any, recovers: bool) -> Scenario:
    return Scenario(name, faults, recovers)


FailureCheck = Callable[[Scenario, str], None]
"""Checks a failed operation's message (and the fault target's request log) for one scenario."""


def run(release: Release, case: Scenario, operation: Callable[..., Any], check_failure: FailureCheck) -> bool:
    """Arm the faults, run the operation, check the outcome; True when it succeeded."""
    target = release.view.faults
    target.clear_requests()
    target.add_faults(case.faults)
    try:
        operation(**QUIET)
        succeeded = True
    except CommandError as error:
        assert not case.recovers, f"{case}: should have recovered, failed with {error}"
        check_failure(case, str(error))
        succeeded = False
    else:
        assert case.recovers, f"{case}: should have failed"
    assert not target.pending_faults(), f"{case}: faults that never fired: {target.pending_faults()}"
    return succeeded
