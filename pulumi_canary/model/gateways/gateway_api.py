"""The Kubernetes Gateway API: its spec and the rules the HTTPRoute CRD adds.

The route is an HTTPRoute attached to a ``Gateway``; each version is a Service selecting its pods. Its
driver is ``pulumi_canary.drivers.gateway_api``.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BeforeValidator

from .. import syntax
from .._text import Problem, Props, show
from ..fields import Namespace, at_most, checked, list_to_tuple, subdomain_problem
from ..gateway_arguments import GatewayApi
from .base import (
    GatewayModel,
    GatewaySpecModel,
    canary_header_problems,
    kubernetes_route_name_problems,
)

__all__ = ["GATEWAY", "GatewayApi", "GatewayApiSpec", "header_value_problem", "path_problem"]

MAX_HOSTNAMES = 16  # the HTTPRoute limit on hostnames
# The character set the HTTPRoute CRD's CEL rule allows in Exact and PathPrefix paths.
_PATH = re.compile(r"(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|%[0-9a-fA-F]{2})+")
_HEADER_VALUE = re.compile(r"[!-~]+(?:[\t ]?[!-~]+)*")


def _hostname_problem(value: str) -> str | None:
    if syntax.is_host_name(value):
        return None
    return (
        f"{show(value)} is not a valid hostname: a lowercase DNS name, optionally starting with '*.', "
        "e.g. 'demo.example.com' or '*.example.com'"
    )


def path_problem(path: str) -> str | None:
    """The extra rules the HTTPRoute CRD enforces on Exact and PathPrefix paths (its CEL validations)."""
    for fragment in ("//", "/./", "/../", "%2f", "%2F", "#"):
        if fragment in path:
            return f"{show(path)} is not accepted by the Gateway API: it must not contain {fragment!r}"
    for ending in ("/..", "/."):
        if path.endswith(ending):
            return f"{show(path)} is not accepted by the Gateway API: it must not end with {ending!r}"
    if not _PATH.fullmatch(path):
        return (
            f"{show(path)} is not accepted by the Gateway API: only letters, digits, "
            '"-/._~!$&\'()*+,;=:@" and percent-encoded bytes (%XX) are allowed'
        )
    return None


def header_value_problem(value: str) -> str | None:
    """The HTTPRoute CRD's pattern for header match values."""
    if _HEADER_VALUE.fullmatch(value):
        return None
    return (
        f"{value!r} cannot be matched by an HTTPRoute: Gateway API header values are visible ASCII "
        "characters, separated by single spaces or tabs, with no space at either end"
    )


class GatewayApiSpec(GatewaySpecModel):
    """A Kubernetes Gateway API ``Gateway`` that the policy attaches an HTTPRoute to (``canary.GatewayApi``).

    Example: ``{"kind": "gateway_api", "gateway": "public-gw", "namespace": "infra"}``.
    """

    kind: Literal["gateway_api"]
    gateway: Annotated[str, checked(subdomain_problem("Gateway name"))]
    """The Gateway's name."""
    namespace: Namespace | None = None
    """The Gateway's namespace; None means the Service's namespace, as in a Gateway API parentRef."""
    section_name: Annotated[str, checked(subdomain_problem("listener (section) name"))] | None = None
    """One listener of the Gateway; None attaches to all of them."""
    hostnames: Annotated[
        tuple[Annotated[str, checked(_hostname_problem)], ...],
        BeforeValidator(list_to_tuple),
        at_most(MAX_HOSTNAMES, "hostnames"),
    ] = ()
    """The HTTPRoute's hostnames; empty means every hostname of the listener."""

    def where(self) -> str:
        return self.gateway


def _route_problems(route: Props) -> list[Problem]:
    problems = kubernetes_route_name_problems(route, "HTTPRoute")
    path, path_type = route.get("path"), route.get("path_type") or "prefix"
    if (
        isinstance(path, str)
        and path_type in ("prefix", "exact")
        and syntax.path_problem(path, path_type) is None
    ):
        problem = path_problem(path)
        if problem is not None:
            problems.append((("path",), problem))
    problems += canary_header_problems(route, lambda _name, value: header_value_problem(value))
    return problems


GATEWAY = GatewayModel(
    kind="gateway_api",
    spec=GatewayApiSpec,
    argument=GatewayApi,
    title="a Kubernetes Gateway API Gateway",
    # Hostnames are a field of the HTTPRoute, updated in place.
    identity=("kind", "gateway", "namespace", "section_name"),
    driver="pulumi_canary.drivers.gateway_api:open_driver",
    example="gateway-api",
    hints={"gateway": "the Gateway's name, e.g. 'public-gw'"},
    route_problems=_route_problems,
)
