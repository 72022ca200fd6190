"""Provider operations on the same route or the same Service take turns; all others run side by side.

The engine calls a dynamic provider from several gRPC worker threads at once (``--parallel``). Two
operations race only where they read and then write the same objects: a route (two policies declared on
one path share it) and a Service's versions, per-version Services and canary Deployments (two policies
of one Service on two paths share those). So each operation holds the turn of its gateway's route and
the turn of its gateway's Service, taken in one order so that two operations never wait on each other.

The Kubernetes client's decoders, whose concurrent first use crashed the process, are built once before
any operation uses them (``drivers.kube.prime_decoders``): that race is not a reason to take turns.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from typing import Any, ParamSpec, TypeVar

__all__ = ["taking_turns", "turn_keys", "turns"]

P = ParamSpec("P")
R = TypeVar("R")

_registry_guard = threading.Lock()
_turns: dict[str, threading.RLock] = {}


def turn_keys(props: Mapping[str, Any]) -> set[str]:
    """What an operation on a policy or split with these inputs may change: its route and its Service,
    each on its gateway."""
    gateway = _canonical(props.get("gateway"))
    return {
        f"route {gateway} {_canonical(props.get('route'))}",
        f"service {gateway} {_canonical(props.get('service'))}",
    }


@contextmanager
def turns(*props: Mapping[str, Any]) -> Iterator[None]:
    """Hold the turns of every route and Service ``props`` name (an update passes its old and new
    inputs: a change of route touches both)."""
    keys = sorted(set().union(*(turn_keys(p) for p in props)))
    with ExitStack() as held:
        for key in keys:
            held.enter_context(_turn(key))
        yield


def taking_turns(operation: Callable[P, R]) -> Callable[P, R]:
    """A provider operation that holds the turns of the inputs it is given (``olds`` and ``news`` of an
    update, ``props`` of the others)."""

    @functools.wraps(operation)
    def in_turn(*args: P.args, **kwargs: P.kwargs) -> R:
        with turns(*(arg for arg in args if isinstance(arg, Mapping))):
            return operation(*args, **kwargs)

    return in_turn


def _turn(key: str) -> threading.RLock:
    with _registry_guard:
        return _turns.setdefault(key, threading.RLock())


def _canonical(value: object) -> str:
    # Preview-time unknowns and other objects print as their repr: a key only has to be stable within
    # one process.
    return json.dumps(value, sort_keys=True, default=repr)
