"""The application as pulumi-kubernetes declares it, and its canary as pulumi-canary manages it.

- pulumi-kubernetes owns the Service `demo-service` (selector `app=demo`) and the stable track, the
  Deployment `demo-service-stable` whose pods carry `track=stable`. Rolling the stable track to a new image
  is an ordinary pulumi-kubernetes update.
- pulumi-canary owns the canary track: its CanaryPolicy clones the stable Deployment as
  `demo-service-canary` (`track=canary`, the canary image), and its TrafficSplit moves traffic between
  the two tracks on the gateway route.

The policy depends on the two pulumi-kubernetes resources, so it starts once the stable Deployment is
rolled out (pulumi-kubernetes waits for that), and it is deleted before them.

Config (project namespace; defaults in Pulumi.yaml):
    gatewayId        the MSE gateway's unique id (required); region (cn-hangzhou); endpoint (to override
                     the OpenAPI endpoint, e.g. http://127.0.0.1:8080 for the emulator)
    namespace        the application's namespace (default; it must exist)
    stableImage      the stable track's image (demo:1.0); stableReplicas (2)
    canaryImage      set it to start a canary: the policy deploys demo-service-canary with this image
    canaryWeight     set it to send this share (0..100) of the traffic to the canary track
"""

import pulumi
import pulumi_kubernetes as k8s

import pulumi_canary as canary

config = pulumi.Config()
namespace = config.get("namespace") or "default"
canary_image = config.get("canaryImage")
canary_weight = config.get_int("canaryWeight")
app = {"app": "demo"}
stable_track = {**app, "track": "stable"}

service = k8s.core.v1.Service(
    "demo-service",
    metadata={"name": "demo-service", "namespace": namespace},
    spec={"selector": app, "ports": [{"port": 80, "target_port": 8080}]},
)
stable = k8s.apps.v1.Deployment(
    "demo-service-stable",
    metadata={"name": "demo-service-stable", "namespace": namespace},
    spec={
        "replicas": config.get_int("stableReplicas") or 2,
        "selector": {"match_labels": stable_track},
        "template": {
            "metadata": {"labels": stable_track},
            "spec": {"containers": [{"name": "app", "image": config.get("stableImage") or "demo:1.0"}]},
        },
    },
)

policy = canary.CanaryPolicy(
    "demo",
    gateway=canary.MseGateway(
        gateway_id=config.require("gatewayId"),
        region=config.get("region") or "cn-hangzhou",
        endpoint=config.get("endpoint"),
    ),
    service=canary.ServiceRef(name=service.metadata.name, namespace=namespace, port=80),
    route=canary.RouteMatch(path="/demo"),
    label_key="track",
    stable_version="stable",
    canary_version="canary",
    canary_deployment=canary.CanaryDeployment(image=canary_image) if canary_image else None,
    opts=pulumi.ResourceOptions(depends_on=[service, stable]),
)

pulumi.export("stable_deployment", stable.metadata.name)
pulumi.export("canary_deployment", policy.canary_deployment_name)
if canary_weight is None:
    pulumi.export("weights", policy.weights)
else:
    split = canary.TrafficSplit("demo", policy=policy, canary_weight=canary_weight)
    pulumi.export("weights", split.live_weights)
