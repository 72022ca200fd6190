"""A canary release on an MSE cloud-native gateway, step by step through stack config.

Every step of the release is a `pulumi config set` (or rm) followed by `pulumi up`; see README.md.

Config (project namespace; defaults in Pulumi.yaml):
    gatewayId        the MSE gateway's unique id (required)
    region           its region (cn-hangzhou)
    endpoint         the OpenAPI endpoint, only to override it (e.g. http://127.0.0.1:8080 for the emulator)
    namespace, service, port, path
                     the Kubernetes Service (default/demo-service, port 80) and the route's path (/demo)
    stableVersion, canaryVersion
                     the `version` label values (v1, v2)
    canaryImage      set it to let the policy deploy the canary (a clone of the stable Deployment)
    canaryReplicas   the canary Deployment's replicas (1)
    canaryWeight     set it to add a TrafficSplit giving the canary this share (0..100)
"""

import pulumi

import pulumi_canary as canary

config = pulumi.Config()
canary_image = config.get("canaryImage")
canary_weight = config.get_int("canaryWeight")

policy = canary.CanaryPolicy(
    "demo",
    gateway=canary.MseGateway(
        gateway_id=config.require("gatewayId"),
        region=config.get("region") or "cn-hangzhou",
        endpoint=config.get("endpoint"),
    ),
    service=canary.ServiceRef(
        name=config.get("service") or "demo-service",
        namespace=config.get("namespace") or "default",
        port=config.get_int("port") or 80,
    ),
    route=canary.RouteMatch(path=config.get("path") or "/demo"),
    label_key="version",
    stable_version=config.get("stableVersion") or "v1",
    canary_version=config.get("canaryVersion") or "v2",
    canary_deployment=(
        canary.CanaryDeployment(image=canary_image, replicas=config.get_int("canaryReplicas") or 1)
        if canary_image
        else None
    ),
)

pulumi.export("route_id", policy.route_id)
pulumi.export("canary_deployment", policy.canary_deployment_name)

if canary_weight is None:
    # Without a split the policy keeps its resting state: 100% stable, 0% canary.
    pulumi.export("weights", policy.weights)
else:
    split = canary.TrafficSplit("demo", policy=policy, canary_weight=canary_weight)
    pulumi.export("weights", split.live_weights)
