"""Timing for the bench: min / median / max samples of wall time (and of the children's CPU time)."""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

QUIET: dict[str, Any] = {"on_output": lambda _line: None}


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

    def ratio_to(self, reference: Samples) -> float:
        """This median over ``reference``'s; nan when either has none."""
        return self.median / reference.median if reference.median else float("nan")


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
