"""The registry of gateways: each one's spec, rules and driver, in one module each.

To add a gateway, write its module here (a ``GatewaySpecModel`` and a ``GatewayModel``) and its argument
class in ``model/gateway_arguments.py`` (kept free of pydantic for programs), register it below (in
``GatewaySpec`` and ``GATEWAYS``), write its driver, export its argument class from ``pulumi_canary``,
and add its example and conformance harness: the README's "Adding a gateway" says how, and
``sdk_tests/unit/test_gateway_registry.py`` fails while a piece is missing.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from . import gateway_api, istio, mse
from .base import GatewayModel, GatewaySpecModel
from .gateway_api import GatewayApi, GatewayApiSpec
from .istio import Istio, IstioSpec
from .mse import MseGateway, MseGatewaySpec

__all__ = [
    "GATEWAYS",
    "GatewayApi",
    "GatewayApiSpec",
    "GatewayModel",
    "GatewaySpec",
    "GatewaySpecModel",
    "Istio",
    "IstioSpec",
    "MseGateway",
    "MseGatewaySpec",
    "gateway_model",
]

GatewaySpec = Annotated[MseGatewaySpec | GatewayApiSpec | IstioSpec, Field(discriminator="kind")]
"""Which gateway carries the route, chosen by ``kind``: ``mse``, ``gateway_api`` or ``istio``."""

GATEWAYS: tuple[GatewayModel, ...] = (mse.GATEWAY, gateway_api.GATEWAY, istio.GATEWAY)
"""Every gateway pulumi-canary supports, in the order messages list them."""

_BY_KIND = {gateway.kind: gateway for gateway in GATEWAYS}


def gateway_model(kind: object) -> GatewayModel | None:
    """The registered gateway of this ``kind``, or None (any value: props are not checked yet)."""
    return _BY_KIND.get(kind) if isinstance(kind, str) else None
