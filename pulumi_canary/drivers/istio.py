"""The Istio driver: a DestinationRule with one subset per version and a VirtualService with weights.

Istio's model is the MSE model: a version is a subset (a set of pod labels) of the Service's host, and
the route lists subsets with weights. The policy owns one DestinationRule (``<service>-canary-<hash>``)
whose host is the Service's FQDN and whose subsets are named like the per-version objects elsewhere
(``<service>-<version>``: subset names must be DNS labels, label values need not be). The route is a
VirtualService whose http entry matches the policy's path; with ``canary_headers`` a second entry,
placed BEFORE it (Istio takes the first entry that matches), sends requests carrying those headers to
the canary subset.

The manifests are built by the pure functions below. ``VirtualServiceDialect`` tells the route driver
shared with the Gateway API (``k8s_routes.RouteDriver``) how a VirtualService looks,
``DestinationRuleSubsets`` keeps the versions, and ``IstioDriver`` puts the three together.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import OwnershipError
from ..model import CanaryPolicySpec, IstioSpec, RouteMatchSpec, ServiceRefSpec, TrafficSplitSpec
from ..model.gateways.istio import MESH_GATEWAY
from ..model.live import RouteSnapshot
from ..model.naming import version_object_name
from .context import DriverContext
from .k8s_routes import (
    GatewayObject,
    Manifest,
    Objects,
    RouteDriver,
    RouteIntent,
    ownership_metadata,
    route_name_for,
    route_owner,
)
from .workloads import Workloads

if TYPE_CHECKING:
    from lightkube import Client

    from .executor import GatewayDriver

GROUP = "networking.istio.io"
API_VERSION = f"{GROUP}/v1"
CLUSTER_DOMAIN = "cluster.local"
URI_KINDS = {"prefix": "prefix", "exact": "exact", "regex": "regex"}
UNSPLITTABLE = {
    "redirect": "it redirects",
    "directResponse": "it answers directly",
    "delegate": "it delegates to another VirtualService",
}


def virtual_service_resource() -> Any:
    from lightkube.generic_resource import create_namespaced_resource

    return create_namespaced_resource(GROUP, "v1", "VirtualService", "virtualservices")


def gateway_resource() -> Any:
    from lightkube.generic_resource import create_namespaced_resource

    return create_namespaced_resource(GROUP, "v1", "Gateway", "gateways")


def destination_rule_resource() -> Any:
    from lightkube.generic_resource import create_namespaced_resource

    return create_namespaced_resource(GROUP, "v1", "DestinationRule", "destinationrules")


# ---- manifests (pure) ---------------------------------------------------------------------------------


def service_host(service: ServiceRefSpec) -> str:
    """The Service's FQDN (Istio recommends full names: a short one is read relative to the rule)."""
    return f"{service.name}.{service.namespace}.svc.{CLUSTER_DOMAIN}"


def host_forms(service: ServiceRefSpec) -> set[str]:
    """Every way a destination in the Service's namespace can name it."""
    short = service.name
    return {short, f"{short}.{service.namespace}", f"{short}.{service.namespace}.svc", service_host(service)}


def subset_name(service: ServiceRefSpec, version: str) -> str:
    return version_object_name(service.name, version)


def uri_match(match: RouteMatchSpec) -> Manifest:
    return {URI_KINDS[match.path_type]: match.path}


def destination(service: ServiceRefSpec, version: str, weight: int) -> Manifest:
    target = {
        "host": service_host(service),
        "subset": subset_name(service, version),
        "port": {"number": service.port},
    }
    return {"destination": target, "weight": weight}


def weighted_destinations(service: ServiceRefSpec, weights: Mapping[str, int]) -> list[Manifest]:
    return [destination(service, version, percent) for version, percent in weights.items()]


def _is_plain_uri(candidate: Mapping[str, Any], uri: Mapping[str, Any]) -> bool:
    """A match request on exactly this URI and nothing else (its ``name`` is only a label)."""
    extra = {key: value for key, value in candidate.items() if key not in ("uri", "name") and value}
    return candidate.get("uri") == uri and not extra


def entry_with_path(entries: Sequence[Mapping[str, Any]], match: RouteMatchSpec) -> int | None:
    """The first http entry that matches the policy's path alone."""
    if match.path is None:
        return None
    wanted = uri_match(match)
    for index, entry in enumerate(entries):
        if any(_is_plain_uri(candidate, wanted) for candidate in entry.get("match") or []):
            return index
    return None


def retargeted_matches(base: Mapping[str, Any], match: RouteMatchSpec) -> list[Manifest]:
    """The entry's match requests made to say the policy's path (kept when they already do)."""
    matches = [dict(candidate) for candidate in base.get("match") or []]
    if match.path is None:
        return matches
    wanted = uri_match(match)
    if any(_is_plain_uri(candidate, wanted) for candidate in matches):
        return matches
    return [{"uri": wanted}]


def with_headers(candidate: Mapping[str, Any], headers: Mapping[str, str]) -> Manifest:
    """``candidate`` plus exact header matches. Istio wants header keys in lowercase; HTTP header names
    ignore case, so lowercasing keeps the meaning."""
    ours = {name.lower(): {"exact": value} for name, value in headers.items()}
    kept = {key: value for key, value in (candidate.get("headers") or {}).items() if key.lower() not in ours}
    return {**candidate, "headers": {**kept, **ours}}


def weighted_entry(
    base: Mapping[str, Any], match: RouteMatchSpec, routes: Sequence[Mapping[str, Any]]
) -> Manifest:
    """The entry that splits traffic: ``base`` (the adopted entry, or nothing) with our match and route."""
    entry = {key: value for key, value in base.items() if key != "match"}
    matches = retargeted_matches(base, match)
    if matches:
        entry["match"] = matches
    entry["route"] = [dict(route) for route in routes]
    return entry


def header_entry(
    weighted: Mapping[str, Any], headers: Mapping[str, str], canary: Mapping[str, Any]
) -> Manifest:
    """The weighted entry's twin for requests carrying ``headers``: all of them go to the canary. It keeps
    the entry's rewrites, timeouts and retries, not its name (a name labels one entry in stats)."""
    entry = {key: value for key, value in weighted.items() if key != "name"}
    entry["match"] = [with_headers(candidate, headers) for candidate in weighted.get("match") or [{}]]
    entry["route"] = [{"destination": dict(canary["destination"]), "weight": 100}]
    return entry


def our_entries(
    base: Mapping[str, Any], match: RouteMatchSpec, routes: Sequence[Mapping[str, Any]], canary_subset: str
) -> list[Manifest]:
    """The policy's http entries: the header entry (only while the canary is on the route), then the
    weighted one."""
    weighted = weighted_entry(base, match, routes)
    canary = next(
        (route for route in routes if (route.get("destination") or {}).get("subset") == canary_subset), None
    )
    if not match.canary_headers or canary is None:
        return [weighted]
    return [header_entry(weighted, match.canary_headers, canary), weighted]


def created_virtual_service(
    name: str, namespace: str, owner: str, istio: IstioSpec, entries: Sequence[Mapping[str, Any]]
) -> Manifest:
    """The whole VirtualService the policy creates and owns."""
    spec: Manifest = {"hosts": list(istio.hosts), "http": [dict(entry) for entry in entries]}
    if istio.gateways:
        spec["gateways"] = list(istio.gateways)
    return {
        "apiVersion": API_VERSION,
        "kind": "VirtualService",
        "metadata": ownership_metadata(name, namespace, owner, created=True),
        "spec": spec,
    }


def adopted_virtual_service(
    name: str, namespace: str, owner: str, original: RouteSnapshot, entries: Sequence[Mapping[str, Any]]
) -> Manifest:
    """What the policy applies to an adopted VirtualService: its marks and the http list, nothing else."""
    return {
        "apiVersion": API_VERSION,
        "kind": "VirtualService",
        "metadata": ownership_metadata(name, namespace, owner, created=False, original=original),
        "spec": {"http": [dict(entry) for entry in entries]},
    }


def destination_rule(
    name: str, service: ServiceRefSpec, owner: str, versions: Mapping[str, Mapping[str, str]]
) -> Manifest:
    """The policy's DestinationRule: one subset per version, in a stable order."""
    subsets = [
        {"name": subset_name(service, version), "labels": dict(labels)}
        for version, labels in sorted(versions.items())
    ]
    return {
        "apiVersion": API_VERSION,
        "kind": "DestinationRule",
        "metadata": ownership_metadata(name, service.namespace, owner, created=True),
        "spec": {"host": service_host(service), "subsets": subsets},
    }


def subset_versions(
    rule: Mapping[str, Any] | None, service: ServiceRefSpec, label_key: str
) -> dict[str, dict[str, str]]:
    """version -> labels of the subsets that are versions of ``service`` (named after the version they
    select); a subset edited by hand so that its name and labels disagree is left out, and the plan
    defines that version again."""
    versions: dict[str, dict[str, str]] = {}
    for subset in ((rule or {}).get("spec") or {}).get("subsets") or []:
        labels = dict(subset.get("labels") or {})
        version = labels.get(label_key)
        if version is not None and subset.get("name") == subset_name(service, version):
            versions[version] = labels
    return versions


def weights_of_entry(
    entry: Mapping[str, Any] | None, hosts: set[str], subsets: Mapping[str, str]
) -> dict[str, int]:
    """Percent per version of an entry's destinations that are subsets of the Service (name -> version).

    Istio gives a lone destination without a weight all the traffic.
    """
    if entry is None:
        return {}
    routes = entry.get("route") or []
    weights: dict[str, int] = {}
    for route in routes:
        target = route.get("destination") or {}
        version = subsets.get(str(target.get("subset")))
        if version is not None and target.get("host") in hosts:
            default = 100 if len(routes) == 1 else 0
            weights[version] = weights.get(version, 0) + int(route.get("weight", default))
    return weights


def refers_to_subset(service_entry: Mapping[str, Any], hosts: set[str], subset: str) -> bool:
    return any(
        (route.get("destination") or {}).get("host") in hosts
        and (route.get("destination") or {}).get("subset") == subset
        for entry in (service_entry.get("spec") or {}).get("http") or []
        for route in entry.get("route") or []
    )


def unsplittable(entry: Mapping[str, Any]) -> str | None:
    """Why an http entry cannot carry weighted destinations, if it cannot."""
    for key, reason in UNSPLITTABLE.items():
        if entry.get(key):
            return reason
    return None


# ---- what a VirtualService tells the shared driver (pure) -----------------------------------------------


class VirtualServiceDialect:
    """The ``k8s_routes.RouteDialect`` of a VirtualService: http entries with weighted destinations to
    subsets of the Service, on VirtualServices serving one of the policy's hosts."""

    kind = "VirtualService"
    entries_field = "http"
    max_entries: int | None = None

    def __init__(self, istio: IstioSpec, intent: RouteIntent) -> None:
        self.istio = istio
        self.intent = intent
        self.namespace = intent.service.namespace

    def entry_with_path(self, entries: Sequence[Mapping[str, Any]], match: RouteMatchSpec) -> int | None:
        return entry_with_path(entries, match)

    def target_names(self, versions: Sequence[str]) -> dict[str, str]:
        return {subset_name(self.intent.service, version): version for version in versions}

    def targets_of(self, entry: Mapping[str, Any]) -> list[Manifest]:
        return [dict(route) for route in entry.get("route") or []]

    def targets_for(self, weights: Mapping[str, int]) -> list[Manifest]:
        return weighted_destinations(self.intent.service, weights)

    def weights_of(self, entry: Mapping[str, Any] | None, names: Mapping[str, str]) -> dict[str, int]:
        return weights_of_entry(entry, host_forms(self.intent.service), names)

    def our_entries(
        self, base: Mapping[str, Any], match: RouteMatchSpec, targets: Sequence[Mapping[str, Any]]
    ) -> list[Manifest]:
        return our_entries(base, match, targets, subset_name(self.intent.service, self.intent.canary_version))

    def unsplittable(self, entry: Mapping[str, Any]) -> str | None:
        return unsplittable(entry)

    def is_candidate(self, route: Mapping[str, Any]) -> bool:
        """A VirtualService that serves one of the policy's hosts (Istio merges them per host)."""
        return bool(set((route.get("spec") or {}).get("hosts") or []) & set(self.istio.hosts))

    def candidate_description(self) -> str:
        return f"serving any of the hosts {', '.join(self.istio.hosts)}"

    def gateway_objects(self) -> list[GatewayObject]:
        """Each named Gateway (``namespace/name``, or ``name`` in the route's namespace); ``mesh`` is the
        sidecars, no object."""
        objects: list[GatewayObject] = []
        for reference in self.istio.gateways:
            if reference == MESH_GATEWAY:
                continue
            namespace, _, name = reference.rpartition("/")
            where = namespace or self.namespace
            objects.append(GatewayObject("gateways", gateway_resource(), "Gateway", where, name))
        return objects

    def created_manifest(self, name: str, entries: Sequence[Mapping[str, Any]]) -> Manifest:
        return created_virtual_service(name, self.namespace, self.intent.owner, self.istio, entries)

    def adopted_manifest(
        self, name: str, original: RouteSnapshot, entries: Sequence[Mapping[str, Any]]
    ) -> Manifest:
        return adopted_virtual_service(name, self.namespace, self.intent.owner, original, entries)


# ---- versions: subsets of one DestinationRule (I/O) -----------------------------------------------------


class DestinationRuleSubsets:
    """The ``k8s_routes.VersionStore`` of Istio: one subset per version in the policy's DestinationRule."""

    def __init__(self, client: Client, routes: Objects, intent: RouteIntent) -> None:
        self.routes = routes
        self.intent = intent
        self.namespace = intent.service.namespace
        self.rules = Objects(client, destination_rule_resource(), "DestinationRule", self.namespace)
        self.rule_name = route_name_for(intent.service.name, intent.owner)

    def _own_rule(self) -> Manifest | None:
        rule = self.rules.get(self.rule_name)
        if rule is not None and route_owner(rule["metadata"], self.intent.owner) != "self":
            raise OwnershipError(
                f"DestinationRule {self.namespace}/{self.rule_name} exists and is not this policy's: "
                "pulumi-canary will not take it over; rename or delete it"
            )
        return rule

    def labels_by_version(self) -> dict[str, dict[str, str]]:
        return subset_versions(self._own_rule(), self.intent.service, self.intent.label_key)

    def ensure(self, wanted: Mapping[str, Mapping[str, str]]) -> None:
        versions = {**self.labels_by_version(), **{name: dict(labels) for name, labels in wanted.items()}}
        self.rules.apply(destination_rule(self.rule_name, self.intent.service, self.intent.owner, versions))

    def remove(self, name: str) -> None:
        versions = self.labels_by_version()
        if name not in versions:
            return
        hosts, subset = host_forms(self.intent.service), subset_name(self.intent.service, name)
        if any(refers_to_subset(service, hosts, subset) for service in self.routes.all()):
            return  # a VirtualService still sends traffic there (a restored one, or one made by hand)
        del versions[name]
        if versions:
            self.rules.apply(
                destination_rule(self.rule_name, self.intent.service, self.intent.owner, versions)
            )
        else:
            self.rules.delete(self.rule_name)


# ---- the driver -----------------------------------------------------------------------------------------


class IstioDriver(RouteDriver):
    """One mesh route, one Service, one owner; the lightkube client and the workloads are the operation's
    own (``DriverContext``)."""

    def __init__(self, workloads: Workloads, istio: IstioSpec, intent: RouteIntent) -> None:
        dialect = VirtualServiceDialect(istio, intent)
        routes = Objects(workloads.client, virtual_service_resource(), dialect.kind, intent.service.namespace)
        versions = DestinationRuleSubsets(workloads.client, routes, intent)
        super().__init__(routes, dialect, versions, workloads, intent)


def open_driver(spec: CanaryPolicySpec | TrafficSplitSpec, context: DriverContext) -> GatewayDriver:
    """The Istio driver of one operation (the gateway registry names this function)."""
    if not isinstance(spec.gateway, IstioSpec):
        raise TypeError(f"the Istio driver cannot serve a {spec.gateway.kind!r} gateway")
    return IstioDriver(context.cluster(), spec.gateway, RouteIntent.of(spec, context.owner))
