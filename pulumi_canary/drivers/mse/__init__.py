"""The MSE cloud-native gateway driver, on the official SDK ``alibabacloud-mse20190531``.

A policy's versions are MSE service versions (a name and a pod label set) of the imported Kubernetes
service; its weights are the ``Percent`` of each entry of a ``VersionOriented`` route, published with
``ApplyGatewayRoute``. MSE has no labels on routes, so ownership is written in the route's
``Description``: ``pulumi-canary:<owner>``, followed for an adopted route by ``;restore=<copy>``, a
compressed copy of what the route was before it was adopted. The copy travels with the route, so a create
that fails after adopting it (Pulumi then records nothing) cannot make a later delete mistake the route
for one the policy created.

Requests are built as plain wire-shaped dicts (pure functions) and only then handed to the SDK.

::

    wire.py           pure: ownership markers, the restore copy, predicates, route services, statuses
    errors.py         the one mapping from a failed call to our exceptions (transient, permanent, gone)
    client.py         the SDK boundary: the client, timeouts, retries, the read memo, paging
    services.py       the gateway's copy of the Kubernetes service and its versions
    routes.py         finding, reading, rewriting, publishing and deleting routes
    header_routes.py  the canary-header companion route
    driver.py         MseDriver, the executor's GatewayDriver, composing the above; open_driver
"""

from .client import READ_TIMEOUT_ENV
from .driver import MseDriver, open_driver
from .wire import (
    MAX_DESCRIPTION_LENGTH,
    OWNER_PREFIX,
    adopted_description,
    decode_restore_copy,
    encode_restore_copy,
    owner_marker,
    owner_of,
)

__all__ = [
    "MAX_DESCRIPTION_LENGTH",
    "OWNER_PREFIX",
    "READ_TIMEOUT_ENV",
    "MseDriver",
    "adopted_description",
    "decode_restore_copy",
    "encode_restore_copy",
    "open_driver",
    "owner_marker",
    "owner_of",
]
