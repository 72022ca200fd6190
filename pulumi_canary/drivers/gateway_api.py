"""The Kubernetes Gateway API driver: per-version Services and an HTTPRoute with weighted backendRefs.

A version is a Service of its own (``<service>-<version>``): the policy's Service's selector plus
``label_key=version``, with the same ports. The route is an HTTPRoute attached to the Gateway whose rule
matches the policy's path and sends traffic to those Services; the weights are the percentages (the
Gateway API reads them as proportions, so 90/10 means 90%/10%). With ``canary_headers`` a second rule,
placed before the weighted one, sends requests carrying all those headers to the canary's Service; the
Gateway API ranks a match with more header matches above the plain path match anyway.

The manifests are built by the pure functions below; ``GatewayApiDriver`` only reads, decides which
entries are ours (see ``k8s_routes``) and writes with server-side apply.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import Failure, OwnershipError, PreconditionError
from ..model.live import LiveRoute, RouteSnapshot
from ..model.naming import version_object_name
from ..model.specs import GatewayApiSpec, RouteMatchSpec, ServiceRefSpec
from . import k8s_routes
from .k8s_routes import (
    Adoption,
    Manifest,
    Objects,
    RouteIntent,
    adoption_of,
    compose_entries,
    our_entries,
    ownership_metadata,
    route_owner,
    stored_snapshot,
)
from .workloads import VERSION_ANNOTATION, format_labels

if TYPE_CHECKING:
    from lightkube import Client

GROUP = "gateway.networking.k8s.io"
API_VERSION = f"{GROUP}/v1"
PATH_TYPES = {"prefix": "PathPrefix", "exact": "Exact", "regex": "RegularExpression"}
MAX_RULES = 16  # the HTTPRoute CRD's limit on spec.rules
ENTRIES = "rules"
DRIFTED_SELECTOR = "(selector)"
"""Key of ``LiveRoute.versions`` labels when a version's Service no longer selects within the Service."""
# The HTTPRoute CRD's pattern for header match values: visible ASCII, single inner spaces or tabs.
_HEADER_VALUE = re.compile(r"[!-~]+(?:[\t ]?[!-~]+)*")


def http_route_resource() -> Any:
    from lightkube.generic_resource import create_namespaced_resource

    return create_namespaced_resource(GROUP, "v1", "HTTPRoute", "httproutes")


# ---- what the Gateway API cannot express (pure) ---------------------------------------------------------


def unsupported(route: RouteMatchSpec) -> list[Failure]:
    """Route features the HTTPRoute schema rejects although they are valid for pulumi-canary in general."""
    return [
        Failure(
            f"route.canary_headers.{name}",
            f"{value!r} cannot be matched by an HTTPRoute: Gateway API header values are visible ASCII "
            "characters, separated by single spaces or tabs, with no space at either end",
        )
        for name, value in route.canary_headers.items()
        if not _HEADER_VALUE.fullmatch(value)
    ]


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


def rule_to_adopt(rules: Sequence[Mapping[str, Any]], match: RouteMatchSpec) -> int | None:
    """The rule a policy takes over: the one with its path, else the only rule there is."""
    found = rule_with_path(rules, match)
    if found is None and len(rules) == 1:
        return 0
    return found


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


# ---- the driver -----------------------------------------------------------------------------------------


class GatewayApiDriver:
    """One Gateway, one Service, one owner; the lightkube client is made per operation (never pickled)."""

    def __init__(self, client: Client, gateway: GatewayApiSpec, intent: RouteIntent) -> None:
        from lightkube.resources.core_v1 import Service

        self._client = client
        self.gateway = gateway
        self.intent = intent
        self.namespace = intent.service.namespace
        self.routes = Objects(client, http_route_resource(), "HTTPRoute", self.namespace)
        self.services = Objects(client, Service, "Service", self.namespace)

    # ---- versions: one Service each -----------------------------------------------------------------

    def _service_name(self, version: str) -> str:
        return version_object_name(self.intent.service.name, version)

    def _version_services(self) -> dict[str, Manifest]:
        owned: dict[str, Manifest] = {}
        for service in self.services.all():
            metadata = service["metadata"]
            version = (metadata.get("annotations") or {}).get(VERSION_ANNOTATION)
            if version and route_owner(metadata, self.intent.owner) == "self":
                owned[version] = service
        return owned

    def _base_service(self) -> Manifest:
        service = self.services.get(self.intent.service.name)
        where = f"service {self.namespace}/{self.intent.service.name}"
        if service is None:
            raise PreconditionError(
                f"{where} does not exist: create it (and its Deployment) before the policy"
            )
        spec = service.get("spec") or {}
        if not spec.get("selector"):
            raise PreconditionError(f"{where} has no pod selector: a canary needs pods selected by labels")
        ports = [port.get("port") for port in spec.get("ports") or []]
        if self.intent.service.port not in ports:
            raise PreconditionError(
                f"{where} has no port {self.intent.service.port} (its ports: {ports}): "
                "set service.port to one of them"
            )
        return service

    def ensure_version(self, name: str, labels: Mapping[str, str]) -> None:
        base = self._base_service()
        service_name = self._service_name(name)
        existing = self.services.get(service_name)
        if existing is not None and route_owner(existing["metadata"], self.intent.owner) != "self":
            raise OwnershipError(
                f"Service {self.namespace}/{service_name} already exists and is not this policy's: "
                "pulumi-canary names the Service of each version <service>-<version> and will not take "
                "over another; rename or delete it"
            )
        self.services.apply(version_service_manifest(base, service_name, name, labels, self.intent.owner))

    def remove_version(self, name: str) -> None:
        service_name = self._service_name(name)
        existing = self.services.get(service_name)
        if existing is None or route_owner(existing["metadata"], self.intent.owner) != "self":
            return
        if any(
            references(rule, service_name)
            for route in self.routes.all()
            for rule in (route.get("spec") or {}).get(ENTRIES) or []
        ):
            return  # a route still sends traffic there (a restored route, or one made by hand)
        self.services.delete(service_name)

    def wait_ready(self, version: str, minimum: int, timeout_seconds: float) -> int:
        return k8s_routes.wait_ready(self._client, self.intent, version, minimum, timeout_seconds)

    # ---- reading --------------------------------------------------------------------------------------

    def live(self, match: RouteMatchSpec, route_id: str | None) -> LiveRoute:
        owned = self._version_services()
        base = self.services.get(self.intent.service.name) or {}
        base_selector = (base.get("spec") or {}).get("selector") or {}
        versions = {
            version: selected_labels(
                (service.get("spec") or {}).get("selector") or {}, base_selector, self.intent.label_key
            )
            for version, service in owned.items()
        }
        ready = k8s_routes.ready_by_version(self._client, self.intent)
        route = self._locate(match, route_id)
        if route is None:
            return LiveRoute(versions=versions, ready_endpoints=ready)
        owner = route_owner(route["metadata"], self.intent.owner)
        snapshot = stored_snapshot(route["metadata"]) if owner == "self" else None
        by_name = {self._service_name(version): version for version in versions}
        return LiveRoute(
            route_id=route["metadata"]["name"],
            owner=owner,
            versions=versions,
            weights=weights_of_rule(self._weighted(route, owner, snapshot, match), by_name),
            ready_endpoints=ready,
            original=snapshot,
        )

    def _weighted(
        self, route: Manifest, owner: str, snapshot: RouteSnapshot | None, match: RouteMatchSpec
    ) -> Mapping[str, Any] | None:
        """Our weighted rule on a route we hold; on any other route, the rule we would take over."""
        rules = (route.get("spec") or {}).get(ENTRIES) or []
        if owner == "self":
            ours = our_entries(adoption_of(snapshot), rules)
            return ours[-1] if ours else None
        index = rule_to_adopt(rules, match)
        return None if index is None else rules[index]

    def _locate(self, match: RouteMatchSpec, route_id: str | None) -> Manifest | None:
        if route_id is not None:
            found = self.routes.get(route_id)
            if found is not None:
                return found
        return self.find_route(match)

    def find_route(self, match: RouteMatchSpec) -> Manifest | None:
        """Our own route (a retried create), else a route to adopt: by name, else an HTTPRoute attached to
        the same Gateway with a rule on the same path. Only the Service's namespace is searched: routes
        elsewhere would need a ReferenceGrant to reach the version Services."""
        routes = sorted(self.routes.all(), key=lambda route: str(route["metadata"]["name"]))
        for route in routes:
            if route_owner(route["metadata"], self.intent.owner) == "self":
                return route
        if match.name is not None:
            return next((route for route in routes if route["metadata"]["name"] == match.name), None)
        for route in routes:
            rules = (route.get("spec") or {}).get(ENTRIES) or []
            if attached_to(route, self.gateway) and rule_with_path(rules, match) is not None:
                return route
        return None

    # ---- writing the route ---------------------------------------------------------------------------

    def _require_own(self, route_id: str) -> Manifest:
        route = self.routes.get(route_id)
        if route is None:
            raise PreconditionError(
                f"HTTPRoute {self.namespace}/{route_id} no longer exists: run `pulumi refresh`, then "
                "`pulumi up` to recreate it"
            )
        if route_owner(route["metadata"], self.intent.owner) != "self":
            raise PreconditionError(
                f"HTTPRoute {self.namespace}/{route_id} does not carry this policy's ownership mark: run "
                "`pulumi refresh`, then `pulumi up`"
            )
        return route

    def _write(self, route: Manifest, match: RouteMatchSpec, refs: Sequence[Mapping[str, Any]]) -> None:
        name = route["metadata"]["name"]
        snapshot = stored_snapshot(route["metadata"])
        adoption = adoption_of(snapshot)
        base = adoption.base if adoption is not None else {}
        ours = our_rules(base, match, refs, self._service_name(self.intent.canary_version))
        rules = compose_entries(adoption, ours)
        if len(rules) > MAX_RULES:
            raise PreconditionError(
                f"HTTPRoute {self.namespace}/{name} would need {len(rules)} rules with the canary header "
                f"rule, more than the {MAX_RULES} the Gateway API allows: remove canary_headers or a rule"
            )
        if snapshot is None:
            manifest = created_route_manifest(name, self.namespace, self.intent.owner, self.gateway, rules)
        else:
            manifest = adopted_route_manifest(name, self.namespace, self.intent.owner, snapshot, rules)
        self.routes.apply(manifest)

    def create_route(self, match: RouteMatchSpec, weights: Mapping[str, int]) -> str:
        existing = self.find_route(match)
        if existing is not None and route_owner(existing["metadata"], self.intent.owner) == "self":
            name = str(existing["metadata"]["name"])
            self.set_weights(name, weights)  # an earlier attempt created it
            return name
        name = match.name or k8s_routes.default_route_name(self.intent.service.name, self.intent.owner)
        refs = weighted_backend_refs(self.intent.service, weights)
        rules = our_rules({}, match, refs, self._service_name(self.intent.canary_version))
        self.routes.apply(
            created_route_manifest(name, self.namespace, self.intent.owner, self.gateway, rules)
        )
        return name

    def adopt_route(self, route_id: str, match: RouteMatchSpec) -> RouteSnapshot:
        return k8s_routes.optimistic(lambda: self._adopt(route_id, match))

    def _adopt(self, route_id: str, match: RouteMatchSpec) -> RouteSnapshot:
        route = self.routes.get(route_id)
        if route is None:
            raise PreconditionError(f"HTTPRoute {self.namespace}/{route_id} to adopt does not exist")
        owner = route_owner(route["metadata"], self.intent.owner)
        if owner == "other":
            raise OwnershipError(
                f"HTTPRoute {self.namespace}/{route_id} belongs to another pulumi-canary policy: release it "
                "there first, or give this policy a different route"
            )
        if owner == "self":
            stored = stored_snapshot(route["metadata"])
            if stored is not None:
                return stored  # adopted by an earlier attempt
        snapshot = self._snapshot(route, match)
        adoption = Adoption.from_snapshot(snapshot)
        adopted = weighted_rule(adoption.base, match, adoption.base.get("backendRefs") or [])
        manifest = adopted_route_manifest(
            route_id, self.namespace, self.intent.owner, snapshot, adoption.compose([adopted])
        )
        self.routes.apply(manifest, take_over_from=route["metadata"]["resourceVersion"])
        return snapshot

    def _snapshot(self, route: Manifest, match: RouteMatchSpec) -> RouteSnapshot:
        name = route["metadata"]["name"]
        rules = (route.get("spec") or {}).get(ENTRIES) or []
        index = rule_to_adopt(rules, match)
        if index is None:
            wanted = f"the path {match.path!r}" if match.path is not None else "route.path"
            raise PreconditionError(
                f"HTTPRoute {self.namespace}/{name} has {len(rules)} rules and none is a plain match on "
                f"{wanted}: give route.path equal to the path of the rule the policy should take over"
            )
        problem = unsplittable(rules[index])
        if problem is not None:
            raise PreconditionError(
                f"rule {index} of HTTPRoute {self.namespace}/{name} cannot be split: {problem}"
            )
        versions = {self._service_name(version): version for version in self._version_services()}
        referenced = sorted(set(weights_of_rule(rules[index], versions)))
        managed = route["metadata"].get("managedFields") or []
        adoption = Adoption(tuple(rules), index, k8s_routes.claimants(managed, ENTRIES))
        return RouteSnapshot(route_id=name, referenced_versions=tuple(referenced), data=adoption.to_data())

    def update_route(self, route_id: str, match: RouteMatchSpec) -> None:
        route = self._require_own(route_id)
        adoption = adoption_of(stored_snapshot(route["metadata"]))
        ours = our_entries(adoption, (route.get("spec") or {}).get(ENTRIES) or [])
        refs = (ours[-1].get("backendRefs") or []) if ours else []
        self._write(route, match, refs)

    def set_weights(self, route_id: str, weights: Mapping[str, int]) -> None:
        route = self._require_own(route_id)
        self._write(route, self.intent.route, weighted_backend_refs(self.intent.service, weights))

    def restore_route(self, original: RouteSnapshot) -> None:
        k8s_routes.optimistic(lambda: self._restore(original))

    def _restore(self, original: RouteSnapshot) -> None:
        route = self.routes.get(original.route_id)
        if route is None or route_owner(route["metadata"], self.intent.owner) != "self":
            return  # gone, or restored by an earlier attempt
        adoption = Adoption.from_snapshot(original)
        manifest = adopted_route_manifest(
            original.route_id, self.namespace, self.intent.owner, original, list(adoption.entries)
        )
        restored = self.routes.apply(manifest)  # the values first, while we still own them
        self.routes.patch_json(
            original.route_id, k8s_routes.release_patch(restored, ENTRIES, adoption.claimants)
        )

    def release_route(self, route_id: str) -> None:
        route = self.routes.get(route_id)
        if route is None or route_owner(route["metadata"], self.intent.owner) != "self":
            return
        adoption = adoption_of(stored_snapshot(route["metadata"]))
        claimed = adoption.claimants if adoption is not None else ()
        self.routes.patch_json(route_id, k8s_routes.release_patch(route, ENTRIES, claimed))

    def delete_route(self, route_id: str) -> None:
        route = self.routes.get(route_id)
        if route is None or route_owner(route["metadata"], self.intent.owner) != "self":
            return
        snapshot = stored_snapshot(route["metadata"])
        if snapshot is not None:
            # The route was adopted (its mark says so even when the outputs were lost): deleting it would
            # destroy the user's route, so give it back instead.
            self.restore_route(snapshot)
            return
        self.routes.delete(route_id)
