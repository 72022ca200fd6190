"""The demo program: a canary release of `demo-service` on an MSE cloud-native gateway.

`make demo` runs it against the local rig (the MSE emulator and a local Kubernetes cluster), changing
the stack config between runs the way a team edits its infra repo. Config keys (project namespace):
gatewayId, region, endpoint, namespace, stableVersion, canaryVersion, canaryImage, canaryWeight.
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
    service=canary.ServiceRef(name="demo-service", namespace=config.get("namespace") or "default", port=80),
    route=canary.RouteMatch(path="/demo"),
    label_key="version",
    stable_version=config.get("stableVersion") or "v1",
    canary_version=config.get("canaryVersion") or "v2",
    canary_deployment=canary.CanaryDeployment(image=canary_image, replicas=1) if canary_image else None,
)

pulumi.export("route_id", policy.route_id)
pulumi.export("canary_deployment", policy.canary_deployment_name)

if canary_weight is not None:
    split = canary.TrafficSplit("demo", policy=policy, canary_weight=canary_weight)
    pulumi.export("weights", split.live_weights)
else:
    pulumi.export("weights", policy.weights)
