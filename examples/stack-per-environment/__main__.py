"""One canary program for every environment; the stack's config file says where the release stands.

    Pulumi.dev.yaml       dev:      v2 takes 100% (the canary is what developers test)
    Pulumi.staging.yaml   staging:  50/50
    Pulumi.prod.yaml      prod:     10% to v2

A release moves forward by a pull request that edits one of these files: a bigger canaryWeight, or the
promotion (stableVersion: v2, canaryVersion: v3, canaryWeight: 0). `pulumi preview` on the pull request
shows the weight change; `pulumi up --stack <env>` on merge applies it.

Per-stack config (required): gatewayId, stableVersion, canaryVersion, canaryWeight.
Optional: canaryImage (the policy deploys the canary), endpoint (the gateway API endpoint, to override
it), and the project-wide defaults of Pulumi.yaml: region, namespace, service, path.
"""

import pulumi

import pulumi_canary as canary

config = pulumi.Config()
canary_image = config.get("canaryImage")

policy = canary.CanaryPolicy(
    "shop",
    gateway=canary.MseGateway(
        gateway_id=config.require("gatewayId"),
        region=config.get("region") or "cn-hangzhou",
        endpoint=config.get("endpoint"),
    ),
    service=canary.ServiceRef(
        name=config.get("service") or "demo-service",
        namespace=config.get("namespace") or "shop",
        port=80,
    ),
    route=canary.RouteMatch(path=config.get("path") or "/demo"),
    label_key="version",
    stable_version=config.require("stableVersion"),
    canary_version=config.require("canaryVersion"),
    canary_deployment=canary.CanaryDeployment(image=canary_image) if canary_image else None,
)
split = canary.TrafficSplit("shop", policy=policy, canary_weight=config.require_int("canaryWeight"))

pulumi.export("environment", pulumi.get_stack())
pulumi.export("weights", split.live_weights)
