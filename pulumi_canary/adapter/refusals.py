"""A refusal reaches the user as our message alone; a real bug keeps its traceback.

Pulumi's dynamic provider server answers every exception that leaves a provider method with
``traceback.format_exc()`` (``_abort_with_traceback`` in ``pulumi/dynamic/__main__.py``), so an expected
error (a ``CanaryError``: pods another owner serves, a permanent API error, a version that never became
ready) reached the CLI as a Python traceback, the SDK's raw response (the chained cause) printed before
our own sentence.

Why ``traceback.format_exc`` is replaced, and not something else:

- The frames cannot be taken off the exception: its traceback grows as it leaves each frame, the
  server's own included, after our code has returned. ``raise ... from None`` drops the chained cause
  but still prints "Traceback (most recent call last)" and every frame.
- ``sys.tracebacklimit = 0`` is one global for every thread: it would cut the traceback of real bugs
  too, and setting it around one call races with the provider's other gRPC worker threads.
- Wrapping the server's methods means patching pulumi's private internals (and its ``__main__``).

The replacement decides on each call from the exception being handled in the calling thread
(``sys.exc_info()`` is per thread) and keeps no state, so concurrent calls cannot see each other's
errors: a ``CanaryError`` gives its message, anything else the original, full traceback. It is
installed once per process, under a lock, when the first ``CanaryError`` leaves a provider method
(importing this module changes nothing). Nothing useful is lost with the cause: every ``ApiError``'s
message already names the operation, the target, the code, the HTTP status and the request id.
"""

from __future__ import annotations

import functools
import sys
import threading
import traceback
from collections.abc import Callable
from typing import ParamSpec, Protocol, TypeVar

from ..errors import CanaryError

__all__ = ["PROVIDER_METHODS", "install_clean_format_exc", "refusals_without_traceback"]

PROVIDER_METHODS = ("check", "diff", "create", "update", "delete", "read")
"""The methods the engine calls through ``_abort_with_traceback``."""

P = ParamSpec("P")
R = TypeVar("R")
Provider = TypeVar("Provider", bound=type)

_installing = threading.Lock()


class FormatExc(Protocol):
    """The signature of ``traceback.format_exc``."""

    def __call__(self, limit: int | None = None, chain: bool = True) -> str: ...


def refusals_without_traceback(provider: Provider) -> Provider:
    """Class decorator: each of ``PROVIDER_METHODS`` reports a ``CanaryError`` as its message alone.

    The class keeps its module and name (providers are pickled by reference) and gains no attribute.
    """
    for name in PROVIDER_METHODS:
        setattr(provider, name, _reporting_refusals(getattr(provider, name)))
    return provider


def _reporting_refusals(method: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(method)
    def reporting(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except CanaryError:
            install_clean_format_exc()
            raise

    return reporting


def install_clean_format_exc() -> None:
    """Make ``traceback.format_exc`` give a ``CanaryError``'s message alone (idempotent, thread-safe)."""
    with _installing:
        if traceback.format_exc.__module__ != __name__:
            traceback.format_exc = _clean_format_exc(traceback.format_exc)


def _clean_format_exc(original: FormatExc) -> FormatExc:
    def format_exc(limit: int | None = None, chain: bool = True) -> str:
        handled = sys.exc_info()[1]
        if isinstance(handled, CanaryError):
            return f"{handled}\n"
        return original(limit, chain)

    return format_exc
