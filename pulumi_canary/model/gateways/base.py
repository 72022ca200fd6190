"""What the rest of pulumi-canary needs to know about one gateway, in one value: ``GatewayModel``.

Each gateway module (``mse.py``, ``gateway_api.py``, ``istio.py``) defines its spec, its validation
rules and hints, and a ``GATEWAY`` model that ``gateways/__init__.py`` registers; the argument class
users write (``canary.MseGateway``...) is in ``model/gateway_arguments.py``, where programs load it
without pydantic. Validation, diff, the driver factory, ``status``, the bench and the
tests read the registry instead of branching on the kind.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from .. import syntax
from .._text import Problem, Props
from ..fields import SpecModel

__all__ = [
    "GatewayModel",
    "GatewaySpecModel",
    "canary_header_problems",
    "kubernetes_route_name_problems",
    "no_route_problems",
]


class GatewaySpecModel(SpecModel):
    """The base of a gateway spec: ``kind`` tells the gateways apart."""

    kind: str

    def where(self) -> str:
        """The gateway as a person names it in a status line (its id or its object's name)."""
        return self.kind


def no_route_problems(_route: Props) -> list[Problem]:
    return []


@dataclass(frozen=True)
class GatewayModel:
    """One registered gateway. Adding a gateway means writing one of these (see the README)."""

    kind: str
    """The ``kind`` of its props, e.g. ``"mse"``."""
    spec: type[GatewaySpecModel]
    """The parsed, frozen form of its props."""
    argument: type
    """The class users write in programs, e.g. ``canary.MseGateway``; its ``to_props()`` sets ``kind``."""
    title: str
    """What it is, in a few words, for messages and the README: ``"an Alibaba Cloud MSE gateway"``."""
    identity: tuple[str, ...]
    """The props that say where the route lives: changing one replaces the policy (and its split)."""
    driver: str
    """``"module:function"`` that builds its driver (``function(spec, context)``): a string, so the
    pure model never imports a driver."""
    example: str
    """The example project that shows it, a folder under ``examples/``."""
    hints: Mapping[str, str] = field(default_factory=dict)
    """For each required property, what to give when it is missing."""
    route_problems: Callable[[Props], list[Problem]] = no_route_problems
    """What a ``route`` asks for that this gateway cannot express (paths relative to the route)."""

    @property
    def display(self) -> str:
        """The argument class's name, as users read it: ``MseGateway``."""
        return self.argument.__name__


def kubernetes_route_name_problems(route: Props, resource: str) -> list[Problem]:
    """On a Kubernetes gateway ``route.name`` names an object (``HTTPRoute``, ``VirtualService``) to adopt."""
    name = route.get("name")
    if not isinstance(name, str) or not name:
        return []
    problem = syntax.dns1123_subdomain_problem(name, f"{resource} name")
    if problem is None:
        return []
    return [(("name",), f"{problem}; on this gateway route.name names the {resource} to adopt")]


def canary_header_problems(route: Props, problem: Callable[[str, str], str | None]) -> list[Problem]:
    """``problem(name, value)`` for each canary header whose name and value are strings (the type rules
    report the others), at ``canary_headers.<name>``."""
    headers = route.get("canary_headers")
    if not isinstance(headers, Mapping):
        return []
    found: list[Problem] = []
    for name, value in headers.items():
        if isinstance(name, str) and isinstance(value, str):
            reason = problem(name, value)
            if reason is not None:
                found.append((("canary_headers", name), reason))
    return found
