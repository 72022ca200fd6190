"""State of the emulated MSE cloud-native gateway, apart from any wire protocol.

Each resource is a dataclass whose ``describe()`` returns the shape the real API returns (PascalCase).
:class:`MseBackend` holds all resources behind one lock and exposes typed operations that validate like
the real service and raise :mod:`pulumi_canary.emulator.exceptions` errors. Layout, in moto's style:

* :mod:`.values`: value checks on decoded JSON (``as_int``, ``as_str``, ...)
* :mod:`.services`: gateways, service sources, services, versions and their endpoint counts
* :mod:`.predicates`: the match conditions of a route
* :mod:`.routes`: route destinations, the route input and its checks, routes and their status
* :mod:`.listing`: paging, ordering and filters of the List* actions
* :mod:`.backend_state`: the lock, the resource dicts, the clock, shared lookups
* :mod:`.backend_gateways`, :mod:`.backend_services`, :mod:`.backend_routes`,
  :mod:`.backend_dataplane`: one backend mixin per resource family
* :mod:`.backend`: :class:`MseBackend`, the mixins combined

Errors the backend answers "softly" (HTTP 200, ``Success:false``), as the real API does for conflicts
with resources that already exist:

* ``Duplicate.RouteName``      AddGatewayRoute/UpdateGatewayRoute: another route of the gateway has the name
* ``Duplicate.RouteMatch``     AddGatewayRoute/UpdateGatewayRoute: another route on an overlapping domain
                               set has exactly the same match conditions (path, headers, queries, methods)
* ``Duplicate.ServiceSource``  AddServiceSource: the cluster is already a source of the gateway
* ``Duplicate.ServiceVersion`` AddGatewayServiceVersion: the service already has a version of that name
"""

from pulumi_canary.emulator.models.backend import MseBackend
from pulumi_canary.emulator.models.listing import MAX_PAGE_SIZE, ListQuery, Page
from pulumi_canary.emulator.models.predicates import KeyValuePredicate, PathPredicate, Predicates
from pulumi_canary.emulator.models.routes import (
    DESTINATION_TYPES,
    GatewayRoute,
    RouteInput,
    RouteService,
    RouteStatus,
    ServedRoute,
)
from pulumi_canary.emulator.models.services import (
    Gateway,
    GatewayService,
    Label,
    ServiceDetail,
    ServiceSource,
    ServiceVersion,
    VersionEndpoints,
)

__all__ = [
    "DESTINATION_TYPES",
    "MAX_PAGE_SIZE",
    "Gateway",
    "GatewayRoute",
    "GatewayService",
    "KeyValuePredicate",
    "Label",
    "ListQuery",
    "MseBackend",
    "Page",
    "PathPredicate",
    "Predicates",
    "RouteInput",
    "RouteService",
    "RouteStatus",
    "ServedRoute",
    "ServiceDetail",
    "ServiceSource",
    "ServiceVersion",
    "VersionEndpoints",
]
