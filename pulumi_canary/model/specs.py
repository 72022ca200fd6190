"""The typed, frozen desired state of CanaryPolicy and TrafficSplit, parsed once from the props dict.

Keys are snake_case exactly as in the Python API (``canary.ServiceRef(name=..., port=...)`` becomes
``{"name": ..., "port": ...}``). Every model forbids unknown keys, treats ``None`` as "not given" (so
defaults apply, as Pulumi leaves unset optional inputs empty) and accepts integral floats such as
``80.0`` for integer fields, because Pulumi's wire protocol carries every number as a double.

Build specs from props with :func:`pulumi_canary.model.parse_policy` / ``parse_split``, which turn every
problem into a readable ``Failure``; constructing a model directly raises pydantic's ``ValidationError``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from . import labels, rules
from ._text import got, show
from .numbers import whole_number

__all__ = [
    "CanaryDeploymentSpec",
    "CanaryPolicySpec",
    "GatewayApiSpec",
    "GatewaySpec",
    "IstioSpec",
    "MseGatewaySpec",
    "PathType",
    "RouteMatchSpec",
    "ServiceRefSpec",
    "SpecError",
    "TrafficSplitSpec",
]

PathType = Literal["prefix", "exact", "regex"]

MAX_HOSTNAMES = 16  # the HTTPRoute limit on hostnames
MAX_READINESS_TIMEOUT_SECONDS = 86_400
# Longer than the few seconds gateways take to apply a route change (Traefik gathers changes for 2 s).
DEFAULT_DRAIN_SECONDS = 5


class SpecError(ValueError):
    """Raised inside a model validator: carries every problem with its path relative to that model."""

    def __init__(self, problems: list[rules.Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(reason for _, reason in self.problems))


# ---- field types -------------------------------------------------------------------------------------


def _checked(problem: Callable[[str], str | None]) -> AfterValidator:
    """Turn a ``labels``-style check into a pydantic validator that keeps our wording."""

    def validate(value: str) -> str:
        reason = problem(value)
        if reason is not None:
            raise ValueError(reason)
        return value

    return AfterValidator(validate)


def _whole_number(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError(f"must be a whole number, {got(value)}")
    return whole_number(value)  # Pulumi sends 80 as 80.0


def _between(low: int, high: int) -> AfterValidator:
    def validate(value: int) -> int:
        if not low <= value <= high:
            raise ValueError(f"must be a whole number from {low} to {high}, got {value}")
        return value

    return AfterValidator(validate)


def _list_to_tuple(value: object) -> object:
    return tuple(value) if isinstance(value, list) else value


def _at_most(count: int, what: str) -> AfterValidator:
    def validate(value: tuple[str, ...]) -> tuple[str, ...]:
        if len(value) > count:
            raise ValueError(f"at most {count} {what} are allowed, got {len(value)}")
        return value

    return AfterValidator(validate)


def _non_empty_list(what: str) -> AfterValidator:
    def validate(value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError(f"must list at least one {what}")
        return value

    return AfterValidator(validate)


_ONE_WORD = re.compile(r"[^\s\x00-\x1f\x7f]+")
_GATEWAY_ID = re.compile(r"[A-Za-z0-9][-A-Za-z0-9_]*")
_REGION = re.compile(r"[a-z]{2,}(?:-[a-z0-9]+)+")
_ENDPOINT = re.compile(
    r"(?:(?P<scheme>https?)://)?(?P<host>[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::(?P<port>\d{1,5}))?"
)
_WILDCARD_HOST = re.compile(r"(?:\*\.)?[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*")


def _word_problem(what: str, limit: int, example: str) -> Callable[[str], str | None]:
    """Opaque identifiers (ids, images, route names): non-empty, bounded, no spaces or control characters."""

    def problem(value: str) -> str | None:
        if value == "":
            return f"must not be empty: give the {what}, e.g. {example!r}"
        if len(value) > limit or not _ONE_WORD.fullmatch(value):
            rule = f"1 to {limit} characters without spaces or control characters"
            return f"{show(value)} is not a valid {what}: {rule}"
        return None

    return problem


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


def _hostname_problem(value: str) -> str | None:
    if len(value) <= 253 and _WILDCARD_HOST.fullmatch(value):
        return None
    return (
        f"{show(value)} is not a valid hostname: a lowercase DNS name, optionally starting with '*.', "
        "e.g. 'demo.example.com' or '*.example.com'"
    )


def _istio_host_problem(value: str) -> str | None:
    if value == "*" or (len(value) <= 253 and _WILDCARD_HOST.fullmatch(value)):
        return None
    return (
        f"{show(value)} is not a valid VirtualService host: a lowercase DNS name, short service name, "
        "'*.' wildcard or '*', e.g. 'demo.example.com'"
    )


def _istio_gateway_problem(value: str) -> str | None:
    if value == "mesh":
        return None
    namespace, slash, name = value.rpartition("/")
    if slash and labels.dns1123_label_problem(namespace) is not None:
        return f"{show(value)} is not a valid Istio gateway: the namespace must be a DNS-1123 label"
    if labels.dns1123_subdomain_problem(name) is not None:
        return f"{show(value)} is not a valid Istio gateway: use 'mesh', 'name' or 'namespace/name'"
    return None


def _service_name_problem(value: str) -> str | None:
    # The apiserver validates Service names as DNS-1035 labels (stricter than DNS-1123: a leading letter).
    return labels.dns1035_label_problem(value, "Service name")


def _namespace_problem(value: str) -> str | None:
    return labels.dns1123_label_problem(value, "namespace")


def _subdomain_problem(what: str) -> Callable[[str], str | None]:
    def problem(value: str) -> str | None:
        return labels.dns1123_subdomain_problem(value, what)

    return problem


Percent = Annotated[int, BeforeValidator(_whole_number), _between(0, 100)]
Port = Annotated[int, BeforeValidator(_whole_number), _between(1, 65535)]
Replicas = Annotated[int, BeforeValidator(_whole_number), _between(0, 2**31 - 1)]
TimeoutSeconds = Annotated[int, BeforeValidator(_whole_number), _between(0, MAX_READINESS_TIMEOUT_SECONDS)]
LabelKey = Annotated[str, _checked(labels.label_key_problem)]
Version = Annotated[str, _checked(labels.version_problem)]
ServiceName = Annotated[str, _checked(_service_name_problem)]
Namespace = Annotated[str, _checked(_namespace_problem)]
HeaderName = Annotated[str, _checked(labels.header_name_problem)]
HeaderValue = Annotated[str, _checked(labels.header_value_problem)]
RouteName = Annotated[str, _checked(_word_problem("route name", 253, "demo-route"))]


# ---- models --------------------------------------------------------------------------------------------


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _absent_when_none(cls, data: Any) -> Any:
        # Pulumi leaves unset optional inputs as None; treat them as absent so that defaults apply and a
        # required property reads "is required" rather than "got None".
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if value is not None}
        return data

    def to_props(self) -> dict[str, Any]:
        """The props dict this spec parses from (defaults filled in, lists not tuples): store it as inputs."""
        return self.model_dump(mode="json")


class MseGatewaySpec(_Spec):
    """An Alibaba Cloud MSE cloud-native gateway (``canary.MseGateway``).

    Example: ``{"kind": "mse", "gateway_id": "gw-1a2b3c", "region": "cn-hangzhou"}``.
    """

    kind: Literal["mse"]
    gateway_id: Annotated[str, _checked(_gateway_id_problem)]
    """The gateway's unique id (GatewayUniqueId), e.g. ``gw-1a2b3c4d5e6f``."""
    region: Annotated[str, _checked(_region_problem)]
    """The region id, e.g. ``cn-hangzhou``."""
    endpoint: Annotated[str, _checked(_endpoint_problem)] | None = None
    """Overrides the API endpoint: ``host[:port]``, optionally with ``http://`` (the emulator) or ``https://``."""

    def endpoint_host(self) -> str | None:
        """The endpoint as the SDK's ``Config.endpoint`` wants it: ``host[:port]`` without a scheme."""
        if self.endpoint is None:
            return None
        return self.endpoint.split("://", 1)[-1]

    def endpoint_protocol(self) -> Literal["http", "https"]:
        """``http`` only when the endpoint says so explicitly; the real API is HTTPS."""
        return "http" if self.endpoint is not None and self.endpoint.startswith("http://") else "https"


class GatewayApiSpec(_Spec):
    """A Kubernetes Gateway API ``Gateway`` that the policy attaches an HTTPRoute to (``canary.GatewayApi``).

    Example: ``{"kind": "gateway_api", "gateway": "public-gw", "namespace": "infra"}``.
    """

    kind: Literal["gateway_api"]
    gateway: Annotated[str, _checked(_subdomain_problem("Gateway name"))]
    """The Gateway's name."""
    namespace: Namespace | None = None
    """The Gateway's namespace; None means the Service's namespace, as in a Gateway API parentRef."""
    section_name: Annotated[str, _checked(_subdomain_problem("listener (section) name"))] | None = None
    """One listener of the Gateway; None attaches to all of them."""
    hostnames: Annotated[
        tuple[Annotated[str, _checked(_hostname_problem)], ...],
        BeforeValidator(_list_to_tuple),
        _at_most(MAX_HOSTNAMES, "hostnames"),
    ] = ()
    """The HTTPRoute's hostnames; empty means every hostname of the listener."""


class IstioSpec(_Spec):
    """Istio: a VirtualService routing to DestinationRule subsets (``canary.Istio``).

    Example: ``{"kind": "istio", "hosts": ["demo.example.com"], "gateways": ["istio-system/public"]}``.
    """

    kind: Literal["istio"]
    hosts: Annotated[
        tuple[Annotated[str, _checked(_istio_host_problem)], ...],
        BeforeValidator(_list_to_tuple),
        _non_empty_list("host, e.g. 'demo.example.com'"),
    ]
    """The VirtualService's hosts (at least one)."""
    gateways: Annotated[
        tuple[Annotated[str, _checked(_istio_gateway_problem)], ...],
        BeforeValidator(_list_to_tuple),
    ] = ()
    """Istio Gateways (``namespace/name``, or ``mesh``); empty means sidecars only, as in Istio itself."""


GatewaySpec = Annotated[MseGatewaySpec | GatewayApiSpec | IstioSpec, Field(discriminator="kind")]
"""Which gateway carries the route, chosen by ``kind``: ``mse``, ``gateway_api`` or ``istio``."""


class ServiceRefSpec(_Spec):
    """The Kubernetes Service whose pods the versions select (``canary.ServiceRef``).

    Example: ``{"name": "demo-service", "namespace": "default", "port": 80}``.
    """

    name: ServiceName
    namespace: Namespace = "default"
    port: Port
    """The Service port the route sends traffic to."""


class RouteMatchSpec(_Spec):
    """Which requests the policy routes (``canary.RouteMatch``): create a route, or adopt one by name.

    ``path`` alone finds a route with that path, or creates one. ``name`` alone adopts the existing route
    (MSE route, HTTPRoute or VirtualService) of that name as it is. Both: adopt ``name`` and match ``path``.
    ``canary_headers`` sends requests carrying all these headers (exact values) to the canary whatever the
    weights. Example: ``{"path": "/demo", "path_type": "prefix", "canary_headers": {"x-canary": "always"}}``.
    """

    path: str | None = None
    path_type: PathType = "prefix"
    name: RouteName | None = None
    canary_headers: dict[HeaderName, HeaderValue] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> RouteMatchSpec:
        problems = rules.route_problems(self.model_dump())
        if problems:
            raise SpecError(problems)
        return self


class CanaryDeploymentSpec(_Spec):
    """A canary Deployment the policy creates and owns (``canary.CanaryDeployment``).

    It is a clone of the stable Deployment with the canary label value, this image and these replicas.
    Example: ``{"image": "demo:2.0", "replicas": 1}``.
    """

    image: Annotated[str, _checked(_word_problem("container image", 4096, "registry.example.com/demo:2.0"))]
    replicas: Replicas = 1


class _VersionedSpec(_Spec):
    """What a CanaryPolicy and a TrafficSplit share: where the route is and which versions it splits."""

    gateway: GatewaySpec
    service: ServiceRefSpec
    route: RouteMatchSpec
    label_key: LabelKey
    """The pod label that carries the version, e.g. ``version`` or ``app.kubernetes.io/version``."""
    stable_version: Version
    canary_version: Version
    readiness_timeout_seconds: TimeoutSeconds = 300
    """How long to wait for a version's ready endpoints before giving it traffic (0: check once)."""
    allow_unready: bool = False
    """Give traffic to versions without ready endpoints instead of waiting (unsafe; off by default)."""
    drain_seconds: TimeoutSeconds = DEFAULT_DRAIN_SECONDS
    """How long to wait after taking traffic off a version before removing its pods or its version, so
    that the gateway has applied the change and requests on their way have been answered."""

    def version_labels(self, version: str) -> dict[str, str]:
        """The pod labels that select ``version``: ``{label_key: version}``."""
        return {self.label_key: version}

    @property
    def versions(self) -> tuple[str, str]:
        """``(stable_version, canary_version)``."""
        return (self.stable_version, self.canary_version)


class CanaryPolicySpec(_VersionedSpec):
    """The desired state of a ``CanaryPolicy``: a route split between a stable and a canary version.

    Example::

        {"gateway": {"kind": "mse", "gateway_id": "gw-1", "region": "cn-hangzhou"},
         "service": {"name": "demo-service", "port": 80}, "route": {"path": "/demo"},
         "label_key": "version", "stable_version": "v1", "canary_version": "v2"}
    """

    canary_deployment: CanaryDeploymentSpec | None = None

    @model_validator(mode="after")
    def _consistent(self) -> CanaryPolicySpec:
        problems = rules.policy_problems(self.model_dump())
        if problems:
            raise SpecError(problems)
        return self


class TrafficSplitSpec(_VersionedSpec):
    """The desired state of a ``TrafficSplit``: integer percentages for the policy's two versions.

    It carries the policy's outputs it needs (gateway, service, route, label key and versions) so its
    driver never has to read the policy. Give exactly one of ``weights`` and ``canary_weight``.
    Example: ``{..., "policy": "demo", "weights": {"v1": 90, "v2": 10}}``.
    """

    policy: Annotated[str, _checked(_word_problem("policy id", 1024, "demo"))]
    """The CanaryPolicy this split belongs to (its resource id); changing it replaces the split."""
    route_id: Annotated[str, _checked(_word_problem("route id", 256, "rt-1234"))] | None = None
    """The route id from the policy's outputs; None lets the driver find the route by ``route``."""
    weights: dict[str, Percent] | None = None
    canary_weight: Percent | None = None
    """Shorthand: the canary's percentage; the stable version gets the rest."""

    @model_validator(mode="after")
    def _consistent(self) -> TrafficSplitSpec:
        problems = rules.split_problems(self.model_dump())
        if problems:
            raise SpecError(problems)
        return self

    def resolved_weights(self) -> dict[str, int]:
        """The percentages per version, stable first: ``weights`` as given, or ``canary_weight`` expanded."""
        if self.weights is not None:
            return {version: self.weights[version] for version in self.versions}
        canary = self.canary_weight or 0
        return {self.stable_version: 100 - canary, self.canary_version: canary}
