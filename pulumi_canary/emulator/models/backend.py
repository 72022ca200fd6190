""":class:`MseBackend`: the emulated MSE state with every action, one mixin per resource family.

Like moto's ``EC2Backend``, the backend is only the sum of its mixins; each builds on
:class:`~pulumi_canary.emulator.models.backend_state.BackendState`, which owns the lock and the state.
"""

from __future__ import annotations

from pulumi_canary.emulator.models.backend_dataplane import DataPlaneBackend
from pulumi_canary.emulator.models.backend_gateways import GatewayBackend
from pulumi_canary.emulator.models.backend_routes import RouteBackend
from pulumi_canary.emulator.models.backend_services import ServiceBackend

__all__ = ["MseBackend"]


class MseBackend(GatewayBackend, ServiceBackend, RouteBackend, DataPlaneBackend):
    """All emulated MSE state, guarded by one lock; typed operations named after the API actions.

    ``endpoints`` answers for every cluster not connected with :meth:`connect_cluster`; with neither,
    services import without checks and report no endpoints.

    Example::

        backend = MseBackend(endpoints=StaticEndpoints())
        backend.add_gateway("gw-demo")
        source_id = backend.add_service_source("gw-demo", name="c-demo", address="c-demo")
    """
