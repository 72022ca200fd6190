"""The Kubernetes Gateway API driver: per-version Services and an HTTPRoute with weighted backendRefs.

A version is a Service of its own (``<service>-<version>``): the policy's Service's selector plus
``label_key=version``, with the same ports. The route is an HTTPRoute attached to the Gateway whose rule
matches the policy's path and sends traffic to those Services; the weights are the percentages (the
Gateway API reads them as proportions, so 90/10 means 90%/10%). With ``canary_headers`` a second rule,
placed before the weighted one, sends requests carrying all those headers to the canary's Service; the
Gateway API ranks a match with more header matches above the plain path match anyway.

The manifests are built by the pure functions below. ``HttpRouteDialect`` tells the shared
``k8s_routes.RouteDriver`` how an HTTPRoute looks, ``VersionServices`` keeps the per-version Services,
and ``GatewayApiDriver`` puts the three together.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import OwnershipError, PreconditionError
from ..model import CanaryPolicySpec, GatewayApiSpec, RouteMatchSpec, ServiceRefSpec, TrafficSplitSpec
from ..model.live import RouteSnapshot
from ..model.naming import version_object_name
from .context import DriverContext
from .k8s_routes import (
    GatewayObject,
    Manifest,
    Objects,
    RouteDriver,
    RouteIntent,
    created_labels,
    entries_of,
    ownership_metadata,
    route_owner,
)
from .workloads import VERSION_ANNOTATION, Workloads, format_labels

if TYPE_CHECKING:
    from lightkube import Client

    from .executor import GatewayDriver

GROUP = "gateway.networking.k8s.io"
API_VERSION = f"{GROUP}/v1"
PATH_TYPES = {"prefix": "PathPrefix", "exact": "Exact", "regex": "RegularExpression"}
MAX_RULES = 16  # the HTTPRoute CRD's limit on spec.rules
DRIFTED_SELECTOR = "(selector)"
"""Key of ``LiveRoute.versions`` labels when a version's Service no longer selects within the Service."""


def http_route_resource() -> Any:
    from lightkube.generic_resource import create_namespaced_resource

    return create_namespaced_resource(GROUP, "v1", "HTTPRoute", "httproutes")


def gateway_resource() -> Any:
    from lightkube.generic_resource import create_namespaced_resource

    return create_namespaced_resource(GROUP, "v1", "Gateway", "gateways")


# ---- manifests (pure) ---------------------------------------------------------------------------------


def path_match(match: RouteMatchSpec) -> Manifest:
    return {"type": PATH_TYPES[match.path_type], "value": match.path}


def header_matches(headers: Mapping[str, str]) -> list[Manifest]:
    return [{"type": "Exact", "name": name, "value": value} for name, value in sorted(headers.items())]


def backend_ref(service_name: str, port: int, weight: int) -> Manifest:
    """A Service backend with every default spelled out, so the stored object equals what we wrote."""
    return {"group": "", "kind": "Service", "name": service_name, "port": port, "weight": weight}


def weighted_backend_refs(service: ServiceRefSpec, weights: Mapping[str, int]) -> list[Manifest]:
    return [
        backend_ref(version_object_name(service.name, version), service.port, percent)
        for version, percent in weights.items()
    ]


def _is_plain_path(candidate: Mapping[str, Any], path: Mapping[str, Any]) -> bool:
    """A match on exactly this path and nothing else (no headers, query parameters or method)."""
    extra = {key: value for key, value in candidate.items() if key != "path" and value}
    return candidate.get("path") == path and not extra


def rule_with_path(rules: Sequence[Mapping[str, Any]], match: RouteMatchSpec) -> int | None:
    """The first rule that matches the policy's path alone."""
    if match.path is None:
        return None
    wanted = path_match(match)
    for index, rule in enumerate(rules):
        if any(_is_plain_path(candidate, wanted) for candidate in rule.get("matches") or []):
            return index
    return None


def retargeted_matches(base: Mapping[str, Any], match: RouteMatchSpec) -> list[Manifest]:
    """The rule's matches made to say the policy's path (kept as they are when they already do)."""
    matches = [dict(candidate) for candidate in base.get("matches") or []]
    if match.path is None:
        return matches
    wanted = path_match(match)
    if any(_is_plain_path(candidate, wanted) for candidate in matches):
        return matches
    return [{"path": wanted}]


def with_headers(candidate: Mapping[str, Any], headers: Mapping[str, str]) -> Manifest:
    """``candidate`` plus exact header matches; ours replace any on the same name (names ignore case)."""
    ours = {name.lower() for name in headers}
    kept = [h for h in candidate.get("headers") or [] if str(h.get("name", "")).lower() not in ours]
    return {**candidate, "headers": [*kept, *header_matches(headers)]}


def weighted_rule(
    base: Mapping[str, Any], match: RouteMatchSpec, refs: Sequence[Mapping[str, Any]]
) -> Manifest:
    """The rule that splits traffic: ``base`` (the adopted rule, or nothing) with our match and backends."""
    return {
        **base,
        "matches": retargeted_matches(base, match) or [{"path": path_match(match)}],
        "backendRefs": [dict(ref) for ref in refs],
    }


def header_rule(
    weighted: Mapping[str, Any], headers: Mapping[str, str], canary: Mapping[str, Any]
) -> Manifest:
    """The weighted rule's twin that sends requests with ``headers`` to the canary only. It keeps the
    rule's filters and timeouts (the canary should behave like the rest) but not its name (names are
    unique within a route)."""
    rule = {key: value for key, value in weighted.items() if key != "name"}
    rule["matches"] = [with_headers(candidate, headers) for candidate in weighted["matches"]]
    rule["backendRefs"] = [{**canary, "weight": 1}]
    return rule


def our_rules(
    base: Mapping[str, Any],
    match: RouteMatchSpec,
    refs: Sequence[Mapping[str, Any]],
    canary_service: str,
) -> list[Manifest]:
    """The policy's rules: the header rule (only while the canary is on the route) and the weighted one."""
    weighted = weighted_rule(base, match, refs)
    canary = next((ref for ref in refs if ref.get("name") == canary_service), None)
    if not match.canary_headers or canary is None:
        return [weighted]
    return [header_rule(weighted, match.canary_headers, canary), weighted]


def parent_ref(gateway: GatewayApiSpec) -> Manifest:
    ref: Manifest = {"group": GROUP, "kind": "Gateway", "name": gateway.gateway}
    if gateway.namespace is not None:
        ref["namespace"] = gateway.namespace
    if gateway.section_name is not None:
        ref["sectionName"] = gateway.section_name
    return ref


def created_route_manifest(
    name: str, namespace: str, owner: str, gateway: GatewayApiSpec, rules: Sequence[Mapping[str, Any]]
) -> Manifest:
    """The whole HTTPRoute the policy creates and owns."""
    spec: Manifest = {"parentRefs": [parent_ref(gateway)], "rules": [dict(rule) for rule in rules]}
    if gateway.hostnames:
        spec["hostnames"] = list(gateway.hostnames)
    return {
        "apiVersion": API_VERSION,
        "kind": "HTTPRoute",
        "metadata": ownership_metadata(name, namespace, owner, created=True),
        "spec": spec,
    }


def adopted_route_manifest(
    name: str, namespace: str, owner: str, original: RouteSnapshot, rules: Sequence[Mapping[str, Any]]
) -> Manifest:
    """What the policy applies to an adopted HTTPRoute: its marks and the rule list, nothing else (the
    route keeps its parents and hostnames, which stay with whoever manages them)."""
    return {
        "apiVersion": API_VERSION,
        "kind": "HTTPRoute",
        "metadata": ownership_metadata(name, namespace, owner, created=False, original=original),
        "spec": {"rules": [dict(rule) for rule in rules]},
    }


def version_service_manifest(
    base: Mapping[str, Any], name: str, version: str, labels: Mapping[str, str], owner: str
) -> Manifest:
    """The Service of one version: the policy's Service's selector plus the version labels, same ports."""
    spec = base.get("spec") or {}
    keys = ("name", "port", "targetPort", "protocol", "appProtocol")
    ports = [
        {key: port[key] for key in keys if port.get(key) is not None} for port in spec.get("ports") or []
    ]
    metadata = ownership_metadata(name, base["metadata"]["namespace"], owner, created=True)
    metadata["annotations"][VERSION_ANNOTATION] = version
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata,
        "spec": {"type": "ClusterIP", "selector": {**(spec.get("selector") or {}), **labels}, "ports": ports},
    }


def selected_labels(
    selector: Mapping[str, str], base_selector: Mapping[str, str], label_key: str
) -> dict[str, str]:
    """The version labels a per-version Service selects: ``{label_key: value}`` when its selector is the
    Service's plus that label. Anything else is drift, reported under ``(selector)`` so that it differs
    from every declared version and the plan defines the version again."""
    value = selector.get(label_key)
    if value is not None and dict(selector) == {**base_selector, label_key: value}:
        return {label_key: value}
    return {DRIFTED_SELECTOR: format_labels(selector)}


def weights_of_rule(rule: Mapping[str, Any] | None, versions: Mapping[str, str]) -> dict[str, int]:
    """Percent per version of a rule's backends that are version Services (``versions``: name -> version)."""
    if rule is None:
        return {}
    weights: dict[str, int] = {}
    for ref in rule.get("backendRefs") or []:
        version = versions.get(str(ref.get("name")))
        if version is not None and ref.get("kind", "Service") == "Service" and not ref.get("group"):
            weights[version] = weights.get(version, 0) + int(ref.get("weight", 1))
    return weights


def attached_to(route: Mapping[str, Any], gateway: GatewayApiSpec) -> bool:
    """Whether one of the route's parentRefs is the policy's Gateway (a missing namespace is the route's)."""
    namespace = route["metadata"]["namespace"]
    for ref in (route.get("spec") or {}).get("parentRefs") or []:
        if (
            ref.get("group", GROUP) == GROUP
            and ref.get("kind", "Gateway") == "Gateway"
            and ref.get("name") == gateway.gateway
            and ref.get("namespace", namespace) == (gateway.namespace or namespace)
        ):
            return True
    return False


def references(rule: Mapping[str, Any], service_name: str) -> bool:
    return any(
        ref.get("name") == service_name and ref.get("kind", "Service") == "Service" and not ref.get("group")
        for ref in rule.get("backendRefs") or []
    )


def unsplittable(rule: Mapping[str, Any]) -> str | None:
    """Why a rule cannot carry weighted backends, if it cannot."""
    if any(f.get("type") == "RequestRedirect" for f in rule.get("filters") or []):
        return "it redirects (a RequestRedirect filter cannot be combined with backends)"
    return None


# ---- what an HTTPRoute tells the shared driver (pure) ---------------------------------------------------


class HttpRouteDialect:
    """The ``k8s_routes.RouteDialect`` of an HTTPRoute: rules with weighted backendRefs to the version
    Services, on routes attached to the policy's Gateway."""

    kind = "HTTPRoute"
    entries_field = "rules"
    max_entries: int | None = MAX_RULES

    def __init__(self, gateway: GatewayApiSpec, intent: RouteIntent) -> None:
        self.gateway = gateway
        self.intent = intent
        self.namespace = intent.service.namespace

    def entry_with_path(self, entries: Sequence[Mapping[str, Any]], match: RouteMatchSpec) -> int | None:
        return rule_with_path(entries, match)

    def target_names(self, versions: Sequence[str]) -> dict[str, str]:
        return {version_object_name(self.intent.service.name, version): version for version in versions}

    def targets_of(self, entry: Mapping[str, Any]) -> list[Manifest]:
        return [dict(ref) for ref in entry.get("backendRefs") or []]

    def targets_for(self, weights: Mapping[str, int]) -> list[Manifest]:
        return weighted_backend_refs(self.intent.service, weights)

    def weights_of(self, entry: Mapping[str, Any] | None, names: Mapping[str, str]) -> dict[str, int]:
        return weights_of_rule(entry, names)

    def our_entries(
        self, base: Mapping[str, Any], match: RouteMatchSpec, targets: Sequence[Mapping[str, Any]]
    ) -> list[Manifest]:
        canary_service = version_object_name(self.intent.service.name, self.intent.canary_version)
        return our_rules(base, match, targets, canary_service)

    def unsplittable(self, entry: Mapping[str, Any]) -> str | None:
        return unsplittable(entry)

    def is_candidate(self, route: Mapping[str, Any]) -> bool:
        return attached_to(route, self.gateway)

    def candidate_description(self) -> str:
        return f"attached to Gateway {self.gateway.namespace or self.namespace}/{self.gateway.gateway}"

    def gateway_objects(self) -> list[GatewayObject]:
        namespace = self.gateway.namespace or self.namespace
        return [GatewayObject("gateway", gateway_resource(), "Gateway", namespace, self.gateway.gateway)]

    def created_manifest(self, name: str, entries: Sequence[Mapping[str, Any]]) -> Manifest:
        return created_route_manifest(name, self.namespace, self.intent.owner, self.gateway, entries)

    def adopted_manifest(
        self, name: str, original: RouteSnapshot, entries: Sequence[Mapping[str, Any]]
    ) -> Manifest:
        return adopted_route_manifest(name, self.namespace, self.intent.owner, original, entries)


# ---- versions: one Service each (I/O) -------------------------------------------------------------------


class VersionServices:
    """The ``k8s_routes.VersionStore`` of the Gateway API: a Service per version, ``<service>-<version>``."""

    def __init__(self, client: Client, routes: Objects, workloads: Workloads, intent: RouteIntent) -> None:
        from lightkube.resources.core_v1 import Service

        self.routes = routes
        self.workloads = workloads
        self.intent = intent
        self.namespace = intent.service.namespace
        self.services = Objects(client, Service, "Service", self.namespace)

    def _service_name(self, version: str) -> str:
        return version_object_name(self.intent.service.name, version)

    def _version_services(self) -> dict[str, Manifest]:
        owned: dict[str, Manifest] = {}
        for service in self.services.all(labels=created_labels(self.intent.owner)):
            metadata = service["metadata"]
            version = (metadata.get("annotations") or {}).get(VERSION_ANNOTATION)
            if version and route_owner(metadata, self.intent.owner) == "self":
                owned[version] = service
        return owned

    def labels_by_version(self) -> dict[str, dict[str, str]]:
        try:
            # The readiness reads need this selector too: one read of the Service serves both.
            base_selector = self.workloads.selector(self.intent.target)
        except PreconditionError:
            base_selector = {}  # no Service, or one without a selector: every version Service has drifted
        return {
            version: selected_labels(
                (service.get("spec") or {}).get("selector") or {}, base_selector, self.intent.label_key
            )
            for version, service in self._version_services().items()
        }

    def _base_service(self) -> Manifest:
        # Read through the workloads, which need the same Service for the selector and the pods; their
        # selector() refuses a Service that is missing or selects no pods.
        self.workloads.selector(self.intent.target)
        service: Manifest = self.workloads.service(self.intent.target).to_dict()
        where = f"service {self.namespace}/{self.intent.service.name}"
        spec = service.get("spec") or {}
        ports = [port.get("port") for port in spec.get("ports") or []]
        if self.intent.service.port not in ports:
            raise PreconditionError(
                f"{where} has no port {self.intent.service.port} (its ports: {ports}): "
                "set service.port to one of them"
            )
        return service

    def ensure(self, wanted: Mapping[str, Mapping[str, str]]) -> None:
        base = self._base_service()
        for name, labels in wanted.items():
            self._ensure_version(base, name, labels)

    def _ensure_version(self, base: Manifest, name: str, labels: Mapping[str, str]) -> None:
        service_name = self._service_name(name)
        existing = self.services.get(service_name)
        if existing is not None and route_owner(existing["metadata"], self.intent.owner) != "self":
            raise OwnershipError(
                f"Service {self.namespace}/{service_name} already exists and is not this policy's: "
                "pulumi-canary names the Service of each version <service>-<version> and will not take "
                "over another; rename or delete it"
            )
        self.services.apply(version_service_manifest(base, service_name, name, labels, self.intent.owner))

    def remove(self, name: str) -> None:
        service_name = self._service_name(name)
        existing = self.services.get(service_name)
        if existing is None or route_owner(existing["metadata"], self.intent.owner) != "self":
            return
        rules = (rule for route in self.routes.all() for rule in entries_of(route, "rules"))
        if any(references(rule, service_name) for rule in rules):
            return  # a route still sends traffic there (a restored route, or one made by hand)
        self.services.delete(service_name)


# ---- the driver -----------------------------------------------------------------------------------------


class GatewayApiDriver(RouteDriver):
    """One Gateway, one Service, one owner; the lightkube client and the workloads are the operation's own
    (``DriverContext``), never pickled."""

    def __init__(self, workloads: Workloads, gateway: GatewayApiSpec, intent: RouteIntent) -> None:
        dialect = HttpRouteDialect(gateway, intent)
        routes = Objects(workloads.client, http_route_resource(), dialect.kind, intent.service.namespace)
        versions = VersionServices(workloads.client, routes, workloads, intent)
        super().__init__(routes, dialect, versions, workloads, intent)


def open_driver(spec: CanaryPolicySpec | TrafficSplitSpec, context: DriverContext) -> GatewayDriver:
    """The Gateway API driver of one operation (the gateway registry names this function)."""
    if not isinstance(spec.gateway, GatewayApiSpec):
        raise TypeError(f"the Gateway API driver cannot serve a {spec.gateway.kind!r} gateway")
    return GatewayApiDriver(context.cluster(), spec.gateway, RouteIntent.of(spec, context.owner))
