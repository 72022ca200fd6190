"""A moto-style emulator of the Alibaba Cloud MSE cloud-native gateway API (2019-05-31).

The official SDK (``alibabacloud-mse20190531``) talks to it unchanged. Layout:

* :mod:`~pulumi_canary.emulator.models`: state only (resources with ``describe()``, :class:`MseBackend`)
* :mod:`~pulumi_canary.emulator.responses`: wire translation, one method per API action
* :mod:`~pulumi_canary.emulator.signature`: V3 (ACS3-HMAC-SHA256) and RPC (HMAC-SHA1) signatures
* :mod:`~pulumi_canary.emulator.endpoints`: where ports and ready pods come from (static or a cluster)
* :mod:`~pulumi_canary.emulator.faults`: injected latency and failures
* :mod:`~pulumi_canary.emulator.server`: the threaded HTTP server and its ``/_emulator/`` control plane
* :mod:`~pulumi_canary.emulator.cli`: ``python -m pulumi_canary.emulator``

Importing this package is cheap: neither the Alibaba SDK nor lightkube is imported.
"""

from pulumi_canary.emulator.endpoints import (
    EndpointSource,
    KubernetesEndpoints,
    StaticEndpoints,
    WatchedEndpoints,
)
from pulumi_canary.emulator.exceptions import (
    BusinessError,
    IllegalRequestError,
    InternalError,
    InvalidParameterError,
    MseApiError,
    NoPermissionError,
    NotFoundError,
)
from pulumi_canary.emulator.faults import FaultRule
from pulumi_canary.emulator.models import MseBackend, RouteStatus
from pulumi_canary.emulator.server import (
    API_VERSION,
    DEFAULT_ACCESS_KEY_ID,
    DEFAULT_ACCESS_KEY_SECRET,
    EmulatorServer,
    RequestRecord,
)

__all__ = [
    "API_VERSION",
    "DEFAULT_ACCESS_KEY_ID",
    "DEFAULT_ACCESS_KEY_SECRET",
    "BusinessError",
    "EmulatorServer",
    "EndpointSource",
    "FaultRule",
    "IllegalRequestError",
    "InternalError",
    "InvalidParameterError",
    "KubernetesEndpoints",
    "MseApiError",
    "MseBackend",
    "NoPermissionError",
    "NotFoundError",
    "RequestRecord",
    "RouteStatus",
    "StaticEndpoints",
    "WatchedEndpoints",
]
