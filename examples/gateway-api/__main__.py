"""A canary release through the Kubernetes Gateway API, step by step through stack config.

The policy writes one HTTPRoute (attached to an existing Gateway) and one Service per version (the
application's Service selector plus `version=<value>`); the split sets the weights of the route's
backendRefs. Every step is a `pulumi config set` (or rm) followed by `pulumi up`; see README.md.

Config (project namespace; defaults in Pulumi.yaml):
    gateway, gatewayNamespace, sectionName
                     the Gateway the HTTPRoute attaches to (public-gw in infra; a listener, optional)
    hostname         the route's hostname (optional)
    namespace, service, port, path
                     the Kubernetes Service (default/demo-service, port 80) and the route's path (/demo)
    stableVersion, canaryVersion
                     the `version` label values (v1, v2)
    canaryHeader     `name=value`: requests with this header always go to the canary (optional)
    canaryImage      set it to let the policy deploy the canary (a clone of the stable Deployment)
    canaryReplicas   the canary Deployment's replicas (1)
    canaryWeight     set it to add a TrafficSplit giving the canary this share (0..100)
"""

import pulumi

import pulumi_canary as canary

config = pulumi.Config()
canary_image = config.get("canaryImage")
canary_weight = config.get_int("canaryWeight")
canary_header = config.get("canaryHeader")
hostname = config.get("hostname")

policy = canary.CanaryPolicy(
    "demo",
    gateway=canary.GatewayApi(
        gateway=config.get("gateway") or "public-gw",
        namespace=config.get("gatewayNamespace") or None,
        section_name=config.get("sectionName"),
        hostnames=[hostname] if hostname else None,
    ),
    service=canary.ServiceRef(
        name=config.get("service") or "demo-service",
        namespace=config.get("namespace") or "default",
        port=config.get_int("port") or 80,
    ),
    route=canary.RouteMatch(
        path=config.get("path") or "/demo",
        canary_headers=dict([canary_header.split("=", 1)]) if canary_header else None,
    ),
    label_key="version",
    stable_version=config.get("stableVersion") or "v1",
    canary_version=config.get("canaryVersion") or "v2",
    canary_deployment=(
        canary.CanaryDeployment(image=canary_image, replicas=config.get_int("canaryReplicas") or 1)
        if canary_image
        else None
    ),
)

pulumi.export("http_route", policy.route_id)
pulumi.export("canary_deployment", policy.canary_deployment_name)

if canary_weight is None:
    pulumi.export("weights", policy.weights)
else:
    split = canary.TrafficSplit("demo", policy=policy, canary_weight=canary_weight)
    pulumi.export("weights", split.live_weights)
