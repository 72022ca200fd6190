"""Istio: its spec and what a VirtualService match cannot express.

The route is a VirtualService routing to the subsets of a DestinationRule, one subset per version. Its
driver is ``pulumi_canary.drivers.istio``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator

from .. import syntax
from .._text import Problem, Props, show
from ..fields import checked, list_to_tuple, non_empty_list
from ..gateway_arguments import Istio
from .base import (
    GatewayModel,
    GatewaySpecModel,
    canary_header_problems,
    kubernetes_route_name_problems,
)

__all__ = ["GATEWAY", "RESERVED_HEADER_KEYS", "Istio", "IstioSpec", "header_key_problem"]

RESERVED_HEADER_KEYS = ("uri", "scheme", "method", "authority")


MESH_GATEWAY = "mesh"
"""The reserved gateway name for the sidecars of the mesh (no Gateway object)."""

def _host_problem(value: str) -> str | None:
    if value == "*" or syntax.is_host_name(value):
        return None
    return (
        f"{show(value)} is not a valid VirtualService host: a lowercase DNS name, short service name, "
        "'*.' wildcard or '*', e.g. 'demo.example.com'"
    )


def _gateway_problem(value: str) -> str | None:
    if value == MESH_GATEWAY:
        return None
    namespace, slash, name = value.rpartition("/")
    if slash and syntax.dns1123_label_problem(namespace) is not None:
        return f"{show(value)} is not a valid Istio gateway: the namespace must be a DNS-1123 label"
    if syntax.dns1123_subdomain_problem(name) is not None:
        return f"{show(value)} is not a valid Istio gateway: use 'mesh', 'name' or 'namespace/name'"
    return None


def header_key_problem(name: str) -> str | None:
    """Istio reads these keys as pseudo-headers and ignores them in a header match."""
    if name.lower() not in RESERVED_HEADER_KEYS:
        return None
    return (
        f"Istio ignores the header key {name!r} in a VirtualService match (uri, scheme, method and "
        "authority are reserved for pseudo-headers), so it cannot select the canary: use another header"
    )


class IstioSpec(GatewaySpecModel):
    """Istio: a VirtualService routing to DestinationRule subsets (``canary.Istio``).

    Example: ``{"kind": "istio", "hosts": ["demo.example.com"], "gateways": ["istio-system/public"]}``.
    """

    kind: Literal["istio"]
    hosts: Annotated[
        tuple[Annotated[str, checked(_host_problem)], ...],
        BeforeValidator(list_to_tuple),
        non_empty_list("host, e.g. 'demo.example.com'"),
    ]
    """The VirtualService's hosts (at least one)."""
    gateways: Annotated[
        tuple[Annotated[str, checked(_gateway_problem)], ...],
        BeforeValidator(list_to_tuple),
    ] = ()
    """Istio Gateways (``namespace/name``, or ``mesh``); empty means sidecars only, as in Istio itself."""


def _route_problems(route: Props) -> list[Problem]:
    problems = kubernetes_route_name_problems(route, "VirtualService")
    problems += canary_header_problems(route, lambda name, _value: header_key_problem(name))
    return problems


GATEWAY = GatewayModel(
    kind="istio",
    spec=IstioSpec,
    argument=Istio,
    title="Istio (a VirtualService and a DestinationRule)",
    # Hosts and gateways are fields of the VirtualService, updated in place.
    identity=("kind",),
    driver="pulumi_canary.drivers.istio:open_driver",
    example="istio",
    hints={"hosts": "the VirtualService hosts, e.g. ['demo.example.com']"},
    route_problems=_route_problems,
)
