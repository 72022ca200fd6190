"""Alibaba Cloud's MSE cloud-native gateway: its spec and its rules.

The route is an MSE gateway route; the versions are MSE service versions, selected by pod labels. Its
driver is ``pulumi_canary.drivers.mse``.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from .._text import show
from ..fields import checked
from ..gateway_arguments import MseGateway
from .base import GatewayModel, GatewaySpecModel

__all__ = ["GATEWAY", "MseGateway", "MseGatewaySpec"]

_GATEWAY_ID = re.compile(r"[A-Za-z0-9][-A-Za-z0-9_]*")
_REGION = re.compile(r"[a-z]{2,}(?:-[a-z0-9]+)+")
_ENDPOINT = re.compile(
    r"(?:(?P<scheme>https?)://)?(?P<host>[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::(?P<port>\d{1,5}))?"
)


def _gateway_id_problem(value: str) -> str | None:
    if len(value) <= 64 and _GATEWAY_ID.fullmatch(value):
        return None
    return (
        f"{show(value)} is not a valid MSE gateway id: letters, digits, '-' and '_' (up to 64), "
        "as shown in the MSE console, e.g. 'gw-1a2b3c4d5e6f'"
    )


def _region_problem(value: str) -> str | None:
    if len(value) <= 64 and _REGION.fullmatch(value):
        return None
    return f"{show(value)} is not a valid Alibaba Cloud region id, e.g. 'cn-hangzhou' or 'ap-southeast-1'"


def _endpoint_problem(value: str) -> str | None:
    match = _ENDPOINT.fullmatch(value)
    if match is not None and 1 <= int(match.group("port") or 443) <= 65535:
        return None
    return (
        f"{show(value)} is not a valid API endpoint: give host[:port], optionally after http:// or https://, "
        "with no path, e.g. 'mse.cn-hangzhou.aliyuncs.com' or 'http://127.0.0.1:8080'"
    )


class MseGatewaySpec(GatewaySpecModel):
    """An Alibaba Cloud MSE cloud-native gateway (``canary.MseGateway``).

    Example: ``{"kind": "mse", "gateway_id": "gw-1a2b3c", "region": "cn-hangzhou"}``.
    """

    kind: Literal["mse"]
    gateway_id: Annotated[str, checked(_gateway_id_problem)]
    """The gateway's unique id (GatewayUniqueId), e.g. ``gw-1a2b3c4d5e6f``."""
    region: Annotated[str, checked(_region_problem)]
    """The region id, e.g. ``cn-hangzhou``."""
    endpoint: Annotated[str, checked(_endpoint_problem)] | None = None
    """Overrides the API endpoint: ``host[:port]``, optionally with ``http://`` (the emulator) or ``https://``."""

    def where(self) -> str:
        return self.gateway_id

    def endpoint_host(self) -> str | None:
        """The endpoint as the SDK's ``Config.endpoint`` wants it: ``host[:port]`` without a scheme."""
        if self.endpoint is None:
            return None
        return self.endpoint.split("://", 1)[-1]

    def endpoint_protocol(self) -> Literal["http", "https"]:
        """``http`` only when the endpoint says so explicitly; the real API is HTTPS."""
        return "http" if self.endpoint is not None and self.endpoint.startswith("http://") else "https"


GATEWAY = GatewayModel(
    kind="mse",
    spec=MseGatewaySpec,
    argument=MseGateway,
    title="an Alibaba Cloud MSE cloud-native gateway",
    # The endpoint only says how to reach the API, not where the route lives.
    identity=("kind", "gateway_id", "region"),
    driver="pulumi_canary.drivers.mse:open_driver",
    example="mse-canary",
    hints={
        "gateway_id": "the MSE gateway's id, e.g. 'gw-1a2b3c4d5e6f'",
        "region": "the gateway's region, e.g. 'cn-hangzhou'",
    },
)
