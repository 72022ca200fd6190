"""An in-memory gateway + cluster that executes plan steps and checks safety after every one.

It behaves like a strict driver: it refuses steps that a real gateway would reject or that would hurt
users (removing a version the route still lists, deleting pods that still get traffic, removing either
of them before a ``Drain`` once the plan took the version's traffic away: a gateway applies a route
change a moment after accepting it), and it records
a safety violation whenever a step leaves weights not summing to 100, a weight on an undefined version,
or a raised weight on a version without ready endpoints.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pulumi_canary.model import (
    AdoptRoute,
    ApplyCanaryDeployment,
    CreateRoute,
    DeleteCanaryDeployment,
    DeleteRoute,
    Drain,
    EnsureVersion,
    LiveDeployment,
    LiveRoute,
    Pause,
    Plan,
    ReleaseCanaryDeployment,
    ReleaseRoute,
    RemoveVersion,
    RestoreRoute,
    RouteSnapshot,
    SetWeights,
    Step,
    UpdateRoute,
    WaitReady,
    safety_violations,
)


class NotReadyError(Exception):
    """WaitReady timed out: the plan stops here, as a driver's NotReadyError would stop it."""


class UnsafeStepError(AssertionError):
    """The plan asked for something a careful driver must refuse."""


@dataclass
class World:
    route_id: str | None = None
    owner: str = "unowned"
    versions: dict[str, dict[str, str]] = field(default_factory=dict)
    weights: dict[str, int] = field(default_factory=dict)
    foreign_ready: dict[str, int] = field(default_factory=dict)  # pods the policy does not own
    deployments: dict[str, LiveDeployment] = field(default_factory=dict)  # pods the policy owns
    snapshot: RouteSnapshot | None = None  # what AdoptRoute recorded, kept with the route (an annotation)
    allow_unready: bool = False
    executed: list[Step] = field(default_factory=list)
    undrained: set[str] = field(default_factory=set)  # lost their traffic in this plan, not drained yet

    @classmethod
    def from_live(cls, live: LiveRoute, *, allow_unready: bool = False) -> World:
        owned = {version: deployment.replicas for version, deployment in live.deployments.items()}
        return cls(
            route_id=live.route_id,
            owner=live.owner,
            versions={name: dict(labels) for name, labels in live.versions.items()},
            weights=dict(live.weights),
            foreign_ready={v: max(0, n - owned.get(v, 0)) for v, n in live.ready_endpoints.items()},
            deployments=dict(live.deployments),
            allow_unready=allow_unready,
        )

    def ready(self, version: str) -> int:
        deployment = self.deployments.get(version)
        return self.foreign_ready.get(version, 0) + (deployment.replicas if deployment else 0)

    def live(self) -> LiveRoute:
        names = set(self.foreign_ready) | set(self.deployments)
        return LiveRoute(
            route_id=self.route_id,
            owner=self.owner,  # type: ignore[arg-type]
            versions={name: dict(labels) for name, labels in self.versions.items()},
            weights=dict(self.weights),
            ready_endpoints={name: self.ready(name) for name in names if self.ready(name) > 0},
            deployments=dict(self.deployments),
            original=self.snapshot if self.route_id is not None and self.owner == "self" else None,
        )

    def run(self, plan: Plan) -> bool:
        """Execute the plan; False if a WaitReady stopped it. Raises UnsafeStepError on a safety violation."""
        for step in plan:
            try:
                self.apply(step)
            except NotReadyError:
                return False
            self.executed.append(step)
            problems = safety_violations(self.live())
            if problems:
                raise UnsafeStepError(f"after {step.describe()}: {problems}")
        return True

    def apply(self, step: Step) -> None:
        if isinstance(step, EnsureVersion):
            self.versions[step.name] = dict(step.labels)
        elif isinstance(step, WaitReady):
            if self.ready(step.version) < step.minimum:
                raise NotReadyError(step.version)
        elif isinstance(step, CreateRoute):
            self._require(self.route_id is None, "CreateRoute while a route exists")
            self._set_weights(step.weights)
            self.route_id, self.owner = "rt-created", "self"
        elif isinstance(step, AdoptRoute):
            self._require(
                self.route_id == step.route_id and self.owner == "unowned", "adopting a foreign route"
            )
            referenced = tuple(self.weights)  # a version listed at 0% is still referenced
            self.snapshot = RouteSnapshot(step.route_id, referenced, {"weights": dict(self.weights)})
            self.owner = "self"
        elif isinstance(step, UpdateRoute):
            self._require(self.route_id == step.route_id, "UpdateRoute on a missing route")
        elif isinstance(step, SetWeights):
            self._require(self.route_id is not None, "SetWeights without a route")
            self._set_weights(step.weights)
        elif isinstance(step, Drain):
            self.undrained -= set(step.versions)
        elif isinstance(step, Pause):
            pass  # a held rollout step changes nothing
        elif isinstance(step, RemoveVersion):
            self._require(step.name not in self.weights, f"removing version {step.name} still on the route")
            self._require_drained(step.name)
            self.versions.pop(step.name, None)
        elif isinstance(step, ApplyCanaryDeployment):
            self.deployments[step.version] = LiveDeployment(step.deployment.image, step.deployment.replicas)
        elif isinstance(step, DeleteCanaryDeployment):
            losing_all_pods = self.foreign_ready.get(step.version, 0) == 0
            self._require(
                not (losing_all_pods and self.weights.get(step.version, 0) > 0),
                f"deleting the pods of version {step.version} while it has weight",
            )
            self._require_drained(step.version)
            self.deployments.pop(step.version, None)
        elif isinstance(step, ReleaseCanaryDeployment):
            released = self.deployments.pop(step.version, None)
            if released is not None:
                self.foreign_ready[step.version] = self.foreign_ready.get(step.version, 0) + released.replicas
        elif isinstance(step, RestoreRoute):
            self._require(self.route_id == step.original.route_id, "restoring another route")
            self._replace_weights(dict(step.original.data.get("weights", {})))
            self.owner, self.snapshot = "unowned", None
        elif isinstance(step, ReleaseRoute):
            self.owner, self.snapshot = "unowned", None
        elif isinstance(step, DeleteRoute):
            # Requests to a deleted route fail whatever happens to its versions: nothing to drain.
            self.route_id, self.owner, self.weights, self.snapshot = None, "unowned", {}, None
            self.undrained.clear()
        else:
            raise AssertionError(f"unknown step {step!r}")

    def _set_weights(self, weights: object) -> None:
        assert isinstance(weights, dict)
        for version, percent in weights.items():
            rises = percent > self.weights.get(version, 0)
            if rises and not self.allow_unready and self.ready(version) < 1:
                raise UnsafeStepError(f"weight of {version} rose to {percent} with no ready endpoints")
        self._replace_weights(dict(weights))

    def _replace_weights(self, weights: dict[str, int]) -> None:
        self.undrained |= {v for v, percent in self.weights.items() if percent > 0 and weights.get(v, 0) == 0}
        self.undrained -= {version for version, percent in weights.items() if percent > 0}
        self.weights = weights

    def _require_drained(self, version: str) -> None:
        self._require(
            version not in self.undrained, f"removing version {version} before the gateway drained it"
        )

    @staticmethod
    def _require(condition: bool, message: str) -> None:
        if not condition:
            raise UnsafeStepError(message)
