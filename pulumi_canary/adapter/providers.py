"""Dynamic providers of CanaryPolicy and TrafficSplit: translate the engine's dicts to the operations of
``pulumi_canary.usecases`` and back.

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

from ..state_keys import OWNER_KEY
from . import stack_config
from .serial import one_at_a_time

if TYPE_CHECKING:
    from ..errors import Failure
    from ..model import CanaryPolicySpec, DiffDecision, RouteSnapshot, TrafficSplitSpec
    from ..usecases.policy import PolicyState


def is_unknown(value: object) -> bool:
    """Preview-time unknowns arrive as ``Unknown`` objects (or the wire sentinel string)."""
    from pulumi.output import Unknown
    from pulumi.runtime import rpc

    return isinstance(value, Unknown) or (isinstance(value, str) and value == rpc.UNKNOWN)


def declared_inputs(props: Mapping[str, Any], fields: Mapping[str, Any]) -> dict[str, Any]:
    """The user's inputs among ``props`` (outputs also carry computed keys and ``__provider``)."""
    return {key: value for key, value in props.items() if key in fields and value is not None}


def check_failures(failures: list[Failure]) -> list[CheckFailure]:
    return [CheckFailure(failure.property, failure.reason) for failure in failures]


def diff_result(decision: DiffDecision) -> DiffResult:
    """The engine's answer for a model ``DiffDecision`` (``stables`` is dropped on the wire anyway)."""
    return DiffResult(
        changes=decision.changes,
        replaces=list(decision.replaces),
        stables=[],
        delete_before_replace=decision.delete_before_replace,
    )


class CanaryPolicyProvider(ResourceProvider):
    """Creates or adopts the route, defines the two versions, owns the canary Deployment."""

    def configure(self, req: ConfigureRequest) -> None:
        stack_config.remember(req.config)

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        from ..model import CanaryPolicySpec
        from ..usecases import checks

        fields = CanaryPolicySpec.model_fields
        owner = news.get(OWNER_KEY)
        failures = checks.check_policy_inputs(
            declared_inputs(olds, fields),
            declared_inputs(news, fields),
            owner if isinstance(owner, str) else None,
            stack_config.current(),
            is_unknown,
            # Validation runs side by side; only the questions to the cluster take turns, as operations do.
            live_checks=one_at_a_time(checks.live_failures),
        )
        return CheckResult(news, check_failures(failures))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        from ..model import CanaryPolicySpec, diff_policy

        fields = CanaryPolicySpec.model_fields
        return diff_result(diff_policy(declared_inputs(olds, fields), declared_inputs(news, fields)))

    @one_at_a_time
    def create(self, props: dict[str, Any]) -> CreateResult:
        from ..usecases.policy import create_policy

        spec, owner = _policy_spec(props), str(props[OWNER_KEY])
        state = create_policy(spec, owner, stack_config.current())
        return CreateResult(id_=state.route_id or owner, outs=_policy_outputs(spec, state))

    @one_at_a_time
    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        from ..usecases.policy import update_policy

        new = _policy_spec(news)
        stored = _stored_state(olds, str(news[OWNER_KEY]))
        state = update_policy(_policy_spec(olds), new, stored, stack_config.current())
        return UpdateResult(outs=_policy_outputs(new, state))

    @one_at_a_time
    def delete(self, _id: str, props: dict[str, Any]) -> None:
        from ..usecases.policy import delete_policy

        delete_policy(
            _policy_spec(props), _stored_state(props, str(props[OWNER_KEY])), stack_config.current()
        )

    @one_at_a_time
    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        from ..usecases.policy import read_policy

        spec, owner = _policy_spec(props), str(props[OWNER_KEY])
        live = read_policy(spec, owner, props.get("route_id"), stack_config.current(), readiness=False)
        if live.route_id is None:
            return ReadResult(id_="", outs={})
        outs = {**props, "weights": dict(live.weights), "live_versions": sorted(live.versions)}
        return ReadResult(id_=id_, outs=outs)


def _policy_spec(props: Mapping[str, Any]) -> CanaryPolicySpec:
    from ..model import CanaryPolicySpec, parse_policy

    return parse_policy(declared_inputs(props, CanaryPolicySpec.model_fields))


def _stored_state(props: Mapping[str, Any], owner: str) -> PolicyState:
    """What the previous outputs recorded: the route and, for an adopted route, its restore copy."""
    from ..usecases.policy import PolicyState

    return PolicyState(
        owner=owner,
        route_id=props.get("route_id"),
        original=_snapshot(props),
        weights=dict(props.get("weights") or {}),
        canary_deployment_name=props.get("canary_deployment_name"),
    )


def _snapshot(props: Mapping[str, Any]) -> RouteSnapshot | None:
    from ..model import RouteSnapshot

    stored = props.get("original_route")
    return RouteSnapshot.from_props(stored) if isinstance(stored, Mapping) else None


def _policy_outputs(spec: CanaryPolicySpec, state: PolicyState) -> dict[str, Any]:
    return {
        **spec.to_props(),
        OWNER_KEY: state.owner,
        "owner": state.owner,
        "route_id": state.route_id,
        "original_route": state.original.to_props() if state.original else None,
        "weights": dict(state.weights),
        "canary_deployment_name": state.canary_deployment_name,
    }


class TrafficSplitProvider(ResourceProvider):
    """Sets the percentages of the policy's two versions on the policy's route."""

    def configure(self, req: ConfigureRequest) -> None:
        stack_config.remember(req.config)

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        from ..model import TrafficSplitSpec
        from ..usecases.checks import check_split_inputs

        inputs = declared_inputs(news, TrafficSplitSpec.model_fields)
        return CheckResult(news, check_failures(check_split_inputs(inputs, is_unknown)))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        from ..model import TrafficSplitSpec, diff_split

        fields = TrafficSplitSpec.model_fields
        return diff_result(diff_split(declared_inputs(olds, fields), declared_inputs(news, fields)))

    @one_at_a_time
    def create(self, props: dict[str, Any]) -> CreateResult:
        spec = _split_spec(props)
        return CreateResult(id_=f"{spec.policy}/split", outs=_apply(spec, str(props[OWNER_KEY])))

    @one_at_a_time
    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs=_apply(_split_spec(news), str(news[OWNER_KEY])))

    @one_at_a_time
    def delete(self, _id: str, props: dict[str, Any]) -> None:
        from ..usecases.split import delete_split

        delete_split(_split_spec(props), str(props[OWNER_KEY]), stack_config.current())

    @one_at_a_time
    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        from ..usecases.split import drifted_inputs, read_split

        spec, owner = _split_spec(props), str(props[OWNER_KEY])
        live_weights = read_split(spec, owner, stack_config.current())
        if live_weights is None:
            return ReadResult(id_="", outs={})
        inputs = declared_inputs(props, type(spec).model_fields) | {OWNER_KEY: owner}
        # Drift reads as an input change, so the next preview shows the declared weights coming back.
        inputs |= drifted_inputs(spec, live_weights)
        # The engine diffs against outputs, so they carry the drifted inputs too.
        return ReadResult(id_=id_, outs={**props, **inputs, "live_weights": live_weights}, inputs=inputs)


def _split_spec(props: Mapping[str, Any]) -> TrafficSplitSpec:
    from ..model import TrafficSplitSpec, parse_split

    return parse_split(declared_inputs(props, TrafficSplitSpec.model_fields))


def _apply(spec: TrafficSplitSpec, owner: str) -> dict[str, Any]:
    from ..usecases.split import apply_split

    live_weights = apply_split(spec, owner, stack_config.current())
    return {**spec.to_props(), OWNER_KEY: owner, "live_weights": live_weights}
