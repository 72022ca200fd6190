"""Timing for the bench: min / median / max samples of wall time (and of the children's CPU time)."""

from __future__ import annotations

import os
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
        """With as many runs as ``reference``, run i of each made next to the other: the median of the
        paired ratios. Otherwise this median over ``reference``'s. nan when either has none."""
        if len(self.values) == len(reference.values) and all(reference.values):
            pairs = zip(self.values, reference.values, strict=True)
            return statistics.median(ours / theirs for ours, theirs in pairs)
        return self.median / reference.median if reference.median else float("nan")


Snapshot = tuple[list[int], dict[str, float]]
"""The host's CPU time by kind (``/proc/stat``), and the watched processes' CPU seconds by name."""


@dataclass
class HostLoad:
    """What the host's CPUs did besides the timed command, per timed run: steal (taken by the hypervisor
    for other guests) and iowait, in percent of all CPU time (``/proc/stat``), and the CPU seconds of
    the named processes that serve the command from outside it (the apiserver, etcd, the MSE emulator:
    on a remote cloud or cluster they would not share this machine's cores)."""

    processes: dict[str, int] = field(default_factory=dict)
    """Name to pid."""
    steal: list[float] = field(default_factory=list)
    iowait: list[float] = field(default_factory=list)
    cpu_seconds: dict[str, list[float]] = field(default_factory=dict)

    def snapshot(self) -> Snapshot:
        return cpu_times(), {name: process_cpu_seconds(pid) for name, pid in self.processes.items()}

    def add(self, before: Snapshot, after: Snapshot) -> None:
        spent = [now - then for now, then in zip(after[0], before[0], strict=True)]
        total = sum(spent) or 1
        self.iowait.append(100 * spent[IOWAIT] / total)
        self.steal.append(100 * spent[STEAL] / total)
        for name, seconds in after[1].items():
            self.cpu_seconds.setdefault(name, []).append(seconds - before[1][name])

    def summary(self) -> str:
        if not self.steal:
            return "n/a"
        shares = f"steal {statistics.median(self.steal):.0f}%, iowait {statistics.median(self.iowait):.0f}%"
        cpu = ", ".join(f"{name} {statistics.median(spent):.1f}" for name, spent in self.cpu_seconds.items())
        return f"{shares}; CPU s: {cpu}" if cpu else shares


IOWAIT, STEAL = 4, 7
"""Columns of /proc/stat's ``cpu`` line, counted from its first number (user)."""


def process_cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of a running process (``/proc/<pid>/stat``); its name may hold
    spaces, so the fields are counted from its closing parenthesis."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_times() -> list[int]:
    with open("/proc/stat") as stat:
        return [int(value) for value in stat.readline().split()[1:9]]  # user .. steal


@contextmanager
def timed(samples: Samples, cpu: Samples | None = None, load: HostLoad | None = None) -> Iterator[None]:
    """Wall time into ``samples``; with ``cpu``, also the CPU time of the processes the block started
    and waited for (the Pulumi CLI and, through it, the provider), but not of this process (the program
    under the Automation API, the MSE emulator) nor of the cluster; with ``load``, the host's steal and
    iowait meanwhile, and the CPU seconds of the processes it watches (the cluster's, the emulator)."""
    host = load.snapshot() if load is not None else None
    started, children = time.perf_counter(), children_cpu_seconds()
    yield
    samples.add(time.perf_counter() - started)
    if cpu is not None:
        cpu.add(children_cpu_seconds() - children)
    if load is not None and host is not None:
        load.add(host, load.snapshot())


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
