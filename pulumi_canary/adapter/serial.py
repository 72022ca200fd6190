"""One API-calling provider operation at a time per provider process.

The engine calls a dynamic provider from several gRPC worker threads at once. Concurrent first use of
the Kubernetes client's decoders crashes the provider process: with the turns removed, the first
`pulumi destroy` of 50 Gateway API pairs died of a segmentation fault in lightkube's ``decode_list``
(lightkube builds a msgspec list type per resource kind on first use). The SDKs make no thread-safety
promise either, so operations that call an API take turns. Pure work (validation in ``check``,
``diff``) and the engine's own work run in parallel.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

_turn = threading.RLock()


def one_at_a_time(operation: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(operation)
    def serialized(*args: P.args, **kwargs: P.kwargs) -> R:
        with _turn:
            return operation(*args, **kwargs)

    return serialized
