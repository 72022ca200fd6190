"""The bench's arithmetic: paired ratios and the host's steal and iowait shares."""

from __future__ import annotations

import math
import os
import time

from bench.measure import IOWAIT, STEAL, HostLoad, Samples, process_cpu_seconds


def test_runs_made_side_by_side_are_compared_pair_by_pair() -> None:
    # Two of three pairs say 1.2; the third canary run met a slow minute that its floor run missed.
    # The ratio of the two medians (60 / 40) would charge that minute to the plugin.
    floor, ours = Samples([30.0, 40.0, 50.0]), Samples([36.0, 60.0, 60.0])
    assert math.isclose(ours.ratio_to(floor), 1.2)


def test_unpaired_samples_fall_back_to_the_ratio_of_medians() -> None:
    assert math.isclose(Samples([2.0, 4.0, 6.0]).ratio_to(Samples([2.0])), 2.0)
    assert math.isnan(Samples([1.0]).ratio_to(Samples()))


def test_host_load_is_the_share_of_all_cpu_time_and_the_watched_processes_seconds() -> None:
    before, after = [0] * 8, [0] * 8
    after[0], after[IOWAIT], after[STEAL] = 70, 10, 20  # user, iowait, steal jiffies
    load = HostLoad(processes={"etcd": 1})
    load.add((before, {"etcd": 2.0}), (after, {"etcd": 3.5}))
    assert (load.steal, load.iowait, load.cpu_seconds) == ([20.0], [10.0], {"etcd": [1.5]})
    assert load.summary() == "steal 20%, iowait 10%; CPU s: etcd 1.5"


def test_a_running_process_cpu_seconds_are_read_from_proc() -> None:
    spent = process_cpu_seconds(os.getpid())
    deadline = time.process_time() + 0.3
    while time.process_time() < deadline:
        pass
    assert process_cpu_seconds(os.getpid()) - spent >= 0.2
