"""Dynamic providers of CanaryPolicy and TrafficSplit: parse, plan, execute, report.

Providers are pickled by reference into the state, so these classes must keep their module path and
name, hold no attributes, and import nothing heavy at module level. Every operation builds its drivers
from the stack configuration (credentials included) and drops them when it returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)

from . import stack_config
from .serial import one_at_a_time
from .state_keys import OWNER_KEY

if TYPE_CHECKING:
    from ..drivers.executor import Outcome
    from ..drivers.factory import Session
    from ..model import CanaryPolicySpec, DiffDecision, LiveRoute, Plan, TrafficSplitSpec


def is_unknown(value: object) -> bool:
    """Preview-time unknowns arrive as ``Unknown`` objects (or the wire sentinel string)."""
    from pulumi.output import Unknown
    from pulumi.runtime import rpc

    return isinstance(value, Unknown) or (isinstance(value, str) and value == rpc.UNKNOWN)


def declared_inputs(props: Mapping[str, Any], fields: Mapping[str, Any]) -> dict[str, Any]:
    """The user's inputs among ``props`` (outputs also carry computed keys and ``__provider``)."""
    return {key: value for key, value in props.items() if key in fields and value is not None}


def open_session(spec: CanaryPolicySpec | TrafficSplitSpec, owner: str) -> Session:
    from ..drivers.factory import open_session as open_drivers

    return open_drivers(spec, stack_config.current(), owner)


def final_weights(plan: Plan, live: LiveRoute) -> dict[str, int]:
    """The route's weights once ``plan`` has run: the last weights it writes, else the live ones."""
    from ..model import CreateRoute, DeleteRoute, ReleaseRoute, RestoreRoute, SetWeights

    weights = dict(live.weights)
    for step in plan:
        if isinstance(step, SetWeights | CreateRoute):
            weights = dict(step.weights)
        elif isinstance(step, DeleteRoute | RestoreRoute | ReleaseRoute):
            weights = {}
    return weights


def diff_result(decision: DiffDecision) -> DiffResult:
    """The engine's answer for a model ``DiffDecision`` (``stables`` is dropped on the wire anyway)."""
    return DiffResult(
        changes=decision.changes,
        replaces=list(decision.replaces),
        stables=[],
        delete_before_replace=decision.delete_before_replace,
    )


def failures_of(error: Exception) -> list[CheckFailure]:
    from ..errors import InvalidInputError

    if isinstance(error, InvalidInputError):
        return [CheckFailure(f.property, f.reason) for f in error.failures]
    raise error


class CanaryPolicyProvider(ResourceProvider):
    """Creates or adopts the route, defines the two versions, owns the canary Deployment."""

    def configure(self, req: ConfigureRequest) -> None:
        stack_config.remember(req.config)

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        from ..model import CanaryPolicySpec, check_policy, parse_policy

        inputs = declared_inputs(news, CanaryPolicySpec.model_fields)
        failures = [CheckFailure(f.property, f.reason) for f in check_policy(inputs, is_unknown=is_unknown)]
        owner = news.get(OWNER_KEY)
        # Live checks only for complete, valid inputs (no I/O otherwise) whose pods question changed;
        # they say nothing when the APIs cannot be reached.
        if (
            not failures
            and isinstance(owner, str)
            and not any(is_unknown(v) for v in _leaves(inputs))
            and _pods_question_changed(declared_inputs(olds, CanaryPolicySpec.model_fields), inputs)
        ):
            from .live_checks import policy_live_failures

            failures = one_at_a_time(policy_live_failures)(parse_policy(inputs), owner)
        return CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        from ..model import CanaryPolicySpec, diff_policy

        fields = CanaryPolicySpec.model_fields
        decision = diff_policy(declared_inputs(olds, fields), declared_inputs(news, fields))
        return diff_result(decision)

    @one_at_a_time
    def create(self, props: dict[str, Any]) -> CreateResult:
        from ..model import plan_create_policy

        spec, owner = self._spec(props), str(props[OWNER_KEY])
        session = open_session(spec, owner)
        live = self._live(session, spec, None)
        plan = plan_create_policy(spec, live)
        # A route adopted by an earlier, failed create carries its restore copy (Pulumi kept no outputs).
        outcome = self._run(session, plan, live.route_id, live.original)
        return CreateResult(
            id_=outcome.route_id or owner, outs=self._outputs(spec, owner, outcome, plan, live)
        )

    @one_at_a_time
    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        from ..model import plan_update_policy

        old, new, owner = self._spec(olds), self._spec(news), str(news[OWNER_KEY])
        session = open_session(new, owner)
        live = self._live(session, new, olds.get("route_id"), old)
        plan = plan_update_policy(old, new, live)
        outcome = self._run(session, plan, live.route_id, _snapshot(olds) or live.original)
        return UpdateResult(outs=self._outputs(new, owner, outcome, plan, live))

    @one_at_a_time
    def delete(self, _id: str, props: dict[str, Any]) -> None:
        from ..model import plan_delete_policy

        spec, owner = self._spec(props), str(props[OWNER_KEY])
        session = open_session(spec, owner)
        live = self._live(session, spec, props.get("route_id"))
        original = _snapshot(props)
        self._run(session, plan_delete_policy(spec, live, original), live.route_id, original)

    @one_at_a_time
    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        spec, owner = self._spec(props), str(props[OWNER_KEY])
        session = open_session(spec, owner)
        # Refresh reports weights and versions: counting ready pods would cost a list of pods per policy.
        live = self._live(session, spec, props.get("route_id"), readiness=False)
        if live.route_id is None:
            return ReadResult(id_="", outs={})
        outs = {**props, "weights": dict(live.weights), "live_versions": sorted(live.versions)}
        return ReadResult(id_=id_, outs=outs)

    # ---- helpers -----------------------------------------------------------------------------------------

    @staticmethod
    def _spec(props: Mapping[str, Any]) -> CanaryPolicySpec:
        from ..model import CanaryPolicySpec, parse_policy

        return parse_policy(declared_inputs(props, CanaryPolicySpec.model_fields))

    @staticmethod
    def _live(
        session: Session,
        spec: CanaryPolicySpec,
        route_id: str | None,
        old: CanaryPolicySpec | None = None,
        *,
        readiness: bool = True,
    ) -> LiveRoute:
        from ..drivers.executor import read_live

        versions = [*spec.versions, *(old.versions if old else ())]
        # Only a policy that declares (or declared) a canary_deployment owns Deployments to look for.
        owns_deployments = any(s is not None and s.canary_deployment is not None for s in (spec, old))
        workloads = session.workloads if owns_deployments else None
        return read_live(
            session.gateway, workloads, session.target, spec.route, route_id, versions, readiness=readiness
        )

    @staticmethod
    def _run(session: Session, plan: Plan, route_id: str | None, original: Any) -> Outcome:
        from ..drivers.executor import Executor, Outcome

        return Executor(session.gateway, session.workloads, session.target, Outcome(route_id, original)).run(
            plan
        )

    @staticmethod
    def _outputs(
        spec: CanaryPolicySpec, owner: str, outcome: Outcome, plan: Plan, live: LiveRoute
    ) -> dict[str, Any]:
        from ..model import version_object_name

        deployment = (
            version_object_name(spec.service.name, spec.canary_version) if spec.canary_deployment else None
        )
        return {
            **spec.to_props(),
            OWNER_KEY: owner,
            "owner": owner,
            "route_id": outcome.route_id,
            "original_route": outcome.original.to_props() if outcome.original else None,
            "weights": final_weights(plan, live),
            "canary_deployment_name": deployment,
        }


def _snapshot(props: Mapping[str, Any]) -> Any:
    from ..model import RouteSnapshot

    stored = props.get("original_route")
    return RouteSnapshot.from_props(stored) if isinstance(stored, Mapping) else None


LIVE_CHECKED = ("service", "label_key", "stable_version")


def _pods_question_changed(olds: Mapping[str, Any], news: Mapping[str, Any]) -> bool:
    """Whether the live checks (label key on the pods, ready stable pods) ask anything new: on create,
    or when the service, label key or stable version changes. An unchanged policy costs no API call."""
    return not olds or any(olds.get(key) != news.get(key) for key in LIVE_CHECKED)


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, Mapping):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, list | tuple):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]


class TrafficSplitProvider(ResourceProvider):
    """Sets the percentages of the policy's two versions on the policy's route."""

    def configure(self, req: ConfigureRequest) -> None:
        stack_config.remember(req.config)

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        from ..model import TrafficSplitSpec, check_split

        inputs = declared_inputs(news, TrafficSplitSpec.model_fields)
        failures = [CheckFailure(f.property, f.reason) for f in check_split(inputs, is_unknown=is_unknown)]
        return CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        from ..model import TrafficSplitSpec, diff_split

        fields = TrafficSplitSpec.model_fields
        decision = diff_split(declared_inputs(olds, fields), declared_inputs(news, fields))
        return diff_result(decision)

    @one_at_a_time
    def create(self, props: dict[str, Any]) -> CreateResult:
        spec = self._spec(props)
        outs = self._apply(spec, str(props[OWNER_KEY]))
        return CreateResult(id_=f"{spec.policy}/split", outs=outs)

    @one_at_a_time
    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs=self._apply(self._spec(news), str(news[OWNER_KEY])))

    @one_at_a_time
    def delete(self, _id: str, props: dict[str, Any]) -> None:
        from ..model import plan_delete_split

        spec, owner = self._spec(props), str(props[OWNER_KEY])
        session = open_session(spec, owner)
        live = self._live(session, spec)
        CanaryPolicyProvider._run(session, plan_delete_split(spec, live), live.route_id, None)

    @one_at_a_time
    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        spec, owner = self._spec(props), str(props[OWNER_KEY])
        live = self._live(open_session(spec, owner), spec)
        if live.route_id is None:
            return ReadResult(id_="", outs={})
        live_weights = dict(live.weights)
        inputs = declared_inputs(props, type(spec).model_fields) | {OWNER_KEY: owner}
        # Report drift as an input change so the next preview shows the declared weights coming back.
        if spec.weights is not None:
            inputs["weights"] = live_weights
        else:
            inputs["canary_weight"] = live_weights.get(spec.canary_version, 0)
        # The engine diffs against outputs, so they carry the drifted inputs too.
        return ReadResult(id_=id_, outs={**props, **inputs, "live_weights": live_weights}, inputs=inputs)

    @staticmethod
    def _spec(props: Mapping[str, Any]) -> TrafficSplitSpec:
        from ..model import TrafficSplitSpec, parse_split

        return parse_split(declared_inputs(props, TrafficSplitSpec.model_fields))

    @staticmethod
    def _live(session: Session, spec: TrafficSplitSpec) -> LiveRoute:
        # A split's plans look at weights and versions only; the wait before a weight rises reads the
        # ready pods itself. Not counting them here saves a Kubernetes gateway a list of pods.
        return session.gateway.live(spec.route, spec.route_id, readiness=False)

    @staticmethod
    def _apply(spec: TrafficSplitSpec, owner: str) -> dict[str, Any]:
        from ..model import plan_split

        session = open_session(spec, owner)
        live = TrafficSplitProvider._live(session, spec)
        plan = plan_split(spec, live)
        CanaryPolicyProvider._run(session, plan, live.route_id, None)
        return {**spec.to_props(), OWNER_KEY: owner, "live_weights": final_weights(plan, live)}
