"""The gateway argument classes users write in programs (``canary.MseGateway``, ``canary.GatewayApi``,
``canary.Istio``) and ``present``, which turns any argument class into props.

They live apart from their gateways' modules, which define pydantic specs: a Pulumi program imports
these, and loading pydantic and building the specs there would cost every program about 0.2 s that
only the provider needs. Each gateway module names its class in its ``GATEWAY`` model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pulumi

__all__ = ["GatewayApi", "Istio", "MseGateway", "present"]


def present(**values: Any) -> dict[str, Any]:
    """The props of an argument class: the values given (Pulumi leaves unset optional inputs out)."""
    return {key: value for key, value in values.items() if value is not None}


@dataclass(frozen=True)
class MseGateway:
    """An Alibaba Cloud MSE cloud-native gateway.

    ``MseGateway(gateway_id="gw-1a2b3c", region="cn-hangzhou")``; ``endpoint`` overrides the OpenAPI
    endpoint (``host[:port]``, ``http://`` for a local emulator).
    """

    gateway_id: pulumi.Input[str]
    region: pulumi.Input[str]
    endpoint: pulumi.Input[str] | None = None

    def to_props(self) -> dict[str, Any]:
        return present(kind="mse", gateway_id=self.gateway_id, region=self.region, endpoint=self.endpoint)


@dataclass(frozen=True)
class GatewayApi:
    """A Kubernetes Gateway API ``Gateway`` the policy's HTTPRoute attaches to."""

    gateway: pulumi.Input[str]
    namespace: pulumi.Input[str] | None = None
    section_name: pulumi.Input[str] | None = None
    hostnames: pulumi.Input[list[str]] | None = None

    def to_props(self) -> dict[str, Any]:
        return present(
            kind="gateway_api",
            gateway=self.gateway,
            namespace=self.namespace,
            section_name=self.section_name,
            hostnames=self.hostnames,
        )


@dataclass(frozen=True)
class Istio:
    """Istio: a VirtualService routing to the subsets of a DestinationRule."""

    hosts: pulumi.Input[list[str]]
    gateways: pulumi.Input[list[str]] | None = None

    def to_props(self) -> dict[str, Any]:
        return present(kind="istio", hosts=self.hosts, gateways=self.gateways)
