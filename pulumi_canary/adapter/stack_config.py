"""The stack configuration the engine hands the provider process (``configure``), kept per process.

It lives here rather than on the provider instance because instances are pickled into the state and
the configuration can hold credentials.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

CONFIG_KEYS = (
    "alicloud:accessKey",
    "alicloud:secretKey",
    "alicloud:securityToken",
    "alicloud:region",
    "kubernetes:kubeconfig",
    "kubernetes:context",
)

_lock = threading.Lock()
_values: dict[str, str] = {}


def remember(config: Any) -> None:
    """Keep the keys pulumi-canary reads from a ``pulumi.dynamic.Config``."""
    found = {key: str(value) for key in CONFIG_KEYS if (value := config.get(key)) is not None}
    with _lock:
        _values.clear()
        _values.update(found)


def current() -> Mapping[str, str]:
    with _lock:
        return dict(_values)
