"""A second reference for the Gateway API: the floor, plus the objects a Gateway API canary creates.

Each policy's stand-in writes its two version Services and its HTTPRoute with one server-side apply
each, and deletes them on destroy; the split's stand-in does nothing, as a split create that moves no
traffic writes nothing. No reads, no checks, no plan, no turn-taking: what the cluster costs for the
objects themselves. The distance from here to the canary stack is the plugin's reads and work.

The objects are named ``objects-only-…`` so they never meet the canary stack's own.
"""

from __future__ import annotations

from typing import Any

from pulumi.dynamic import CreateResult, Resource

from bench.noop import NoopProvider
from pulumi_canary.drivers.kube import KubeAccess

PREFIX = "objects-only"


def manifests(props: dict[str, Any]) -> list[dict[str, Any]]:
    """What a Gateway API policy with the stand-in's properties would write, from the same builders."""
    from bench.gateways import GATEWAY_API_GATEWAY
    from bench.stage import service_manifests
    from pulumi_canary.drivers import gateway_api
    from pulumi_canary.model import GatewayApiSpec, RouteMatchSpec

    gateway_api.http_route_resource()  # makes the HTTPRoute kind known to lightkube's codecs
    namespace, service = props["service"]["namespace"], props["service"]["name"]
    owner = props["__owner"]
    base = service_manifests(service, "v1")[0]
    versions = {version: f"{PREFIX}-{service}-{version}" for version in ("v1", "v2")}
    written = [
        gateway_api.version_service_manifest(base, name, version, {"version": version}, owner)
        for version, name in versions.items()
    ]
    refs = [gateway_api.backend_ref(versions["v1"], 80, 100), gateway_api.backend_ref(versions["v2"], 80, 0)]
    rule = gateway_api.weighted_rule({}, RouteMatchSpec(path=props["route"]["path"]), refs)
    gateway = GatewayApiSpec(kind="gateway_api", gateway=GATEWAY_API_GATEWAY, namespace=namespace)
    name = f"{PREFIX}-{service}"
    written.append(gateway_api.created_route_manifest(name, namespace, owner, gateway, [rule]))
    return written


class ObjectsOnlyProvider(NoopProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        if "policy" not in props:
            from lightkube import codecs

            kube = KubeAccess.resolve({}).client()  # the plugin's own shared client, from KUBECONFIG
            for manifest in manifests(props):
                kube.apply(codecs.from_dict(manifest), force=True)
        return super().create(props)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        if "policy" not in props:
            from lightkube.resources.core_v1 import Service

            from pulumi_canary.drivers.gateway_api import http_route_resource

            kube = KubeAccess.resolve({}).client()  # the plugin's own shared client, from KUBECONFIG
            for manifest in manifests(props):
                kind = Service if manifest["kind"] == "Service" else http_route_resource()
                kube.delete(kind, manifest["metadata"]["name"], namespace=manifest["metadata"]["namespace"])


class ObjectsOnly(Resource, module="bench", name="ObjectsOnly"):
    def __init__(self, name: str, props: dict[str, Any]) -> None:
        super().__init__(ObjectsOnlyProvider(), name, props)
