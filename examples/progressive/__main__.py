"""Progressive delivery on the Kubernetes Gateway API: the canary's share rises through steps, each step
held and then measured in Prometheus, within one `pulumi up`; a canary whose error rate crosses its bound
is sent back to where the update began, and the `up` fails saying why.

The policy writes one HTTPRoute (attached to an existing Gateway) and one Service per version, and deploys
the canary (a clone of the stable Deployment with another image). The split walks a rise of
`canaryWeight` through 10% and 25% (the steps below the target), holding each for `pauseSeconds`, then
measures the canary's 5xx share `analysisCount` times, `analysisIntervalSeconds` apart, at each step and
at the target. See README.md.

Config (project namespace; defaults in Pulumi.yaml):
    gateway, gatewayNamespace
                     the Gateway the HTTPRoute attaches to (public-gw in infra)
    namespace, service, port, path
                     the Kubernetes Service (default/demo-service, port 80) and the route's path (/demo)
    stableVersion, canaryVersion
                     the `version` label values (v1, v2)
    canaryImage, canaryReplicas
                     the canary Deployment the policy creates (demo:2.0, 1 replica)
    canaryWeight     the canary's target share, 0..100 (0)
    pauseSeconds     how long each step holds (60)
    prometheusUrl    the Prometheus query API (http://prometheus.monitoring:9090)
    errorRateQuery   PromQL answering the canary's 5xx share (default: Traefik's service metrics)
    analysisIntervalSeconds, analysisCount
                     the measurements at each step (every 10 s, 3 of them)
    progressDeadlineSeconds
                     the most a rollout may take, from its first move to its target (600)
    retry            raise it to walk a failed rollout again (0)
"""

import pulumi

import pulumi_canary as canary

# The canary's share of 5xx answers, from the metrics of Traefik (a Gateway API implementation). Traefik
# labels a request with the service of the backendRef that took it, named
# `httproute-...-svc-<namespace>-<Service>-<index>@kubernetesgateway`, and the policy's Service of a version
# is `<service>-<version>`; the analysis fills in {{namespace}}, {{service}} and {{canary}} at each step.
# `or vector(0)`: a canary that failed no request has no 5xx series at all, which is a rate of 0. Without
# requests to the canary the division answers nothing, a measurement error, never a pass.
CANARY = 'service=~".+-svc-{{namespace}}-{{service}}-{{canary}}-[0-9]+@kubernetesgateway"'
TRAEFIK_ERROR_RATE = (
    f'(sum(rate(traefik_service_requests_total{{{CANARY},code=~"5.."}}[1m])) or vector(0))'
    f" / sum(rate(traefik_service_requests_total{{{CANARY}}}[1m]))"
)

config = pulumi.Config()
pause_seconds = config.get_int("pauseSeconds", 60)
error_rate = canary.Metric(
    name="error-rate", query=config.get("errorRateQuery") or TRAEFIK_ERROR_RATE, max=0.05
)

policy = canary.CanaryPolicy(
    "demo",
    gateway=canary.GatewayApi(
        gateway=config.get("gateway") or "public-gw",
        namespace=config.get("gatewayNamespace") or None,
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
    canary_deployment=canary.CanaryDeployment(
        image=config.get("canaryImage") or "demo:2.0", replicas=config.get_int("canaryReplicas") or 1
    ),
)

split = canary.TrafficSplit(
    "demo",
    policy=policy,
    canary_weight=config.get_int("canaryWeight", 0),
    # Steps at or above the target are not walked: canaryWeight 10 is one move, 25 holds at 10 first,
    # 50 holds at 10 and 25. A fall (canaryWeight 0, the rollback) is always one immediate move.
    steps=[
        canary.Step(weight=10, pause_seconds=pause_seconds),
        canary.Step(weight=25, pause_seconds=pause_seconds),
    ],
    analysis=canary.Analysis(
        prometheus_url=config.get("prometheusUrl") or "http://prometheus.monitoring:9090",
        metrics=[error_rate],
        interval_seconds=config.get_int("analysisIntervalSeconds", 10),
        count=config.get_int("analysisCount", 3),
    ),
    progress_deadline_seconds=config.get_int("progressDeadlineSeconds", 600),
    # A failed rollout is recorded on the route and not walked again to the same target until this rises.
    retry=config.get_int("retry", 0),
)

pulumi.export("http_route", policy.route_id)
pulumi.export("live_weights", split.live_weights)
pulumi.export("rollout", split.rollout)
