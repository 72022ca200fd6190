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
from .refusals import refusals_without_traceback
from .serial import taking_turns

if TYPE_CHECKING:
    from ..errors import Failure
    from ..model import CanaryPolicySpec, DiffDecision, RouteSnapshot, TrafficSplitSpec
    from ..usecases.policy import PolicyState
    from ..usecases.split import SplitState


PROVIDER_KEY = "__provider"
"""The input where pulumi's dynamic provider keeps the pickled provider; it puts it back itself."""
DECLARED_INPUTS_KEY = "__declared_inputs"
"""A TrafficSplit's inputs exactly as the program declared them (``__`` keys are hidden from diffs), for
``read``: its other outputs are the normalised inputs, with defaults (``allow_unready: false``)."""


def is_unknown(value: object) -> bool:
    """Preview-time unknowns arrive as ``Unknown`` objects (or the wire sentinel string)."""
    from pulumi.output import Unknown
    from pulumi.runtime import rpc

    return isinstance(value, Unknown) or (isinstance(value, str) and value == rpc.UNKNOWN)


def declared_inputs(props: Mapping[str, Any], fields: Mapping[str, Any]) -> dict[str, Any]:
    """The user's inputs among ``props`` (outputs also carry computed keys and ``__provider``)."""
    return {key: value for key, value in props.items() if key in fields and value is not None}


def check_failures(failures: list[Failure]) -> list[CheckFailure]:
    return [check_failure(failure) for failure in failures]


def check_failure(failure: Failure) -> CheckFailure:
    """The engine prints a failure as ``property P value {inputs[P]} has a problem: R``, looking ``P`` up
    among the top-level inputs only: a nested path (``weights.v1``) would show ``value {<nil>}``. So a
    nested failure goes without a property, and the engine prints ``resource 'demo' has a problem:
    property weights.v1: must be a whole number from 0 to 100, got 110``: the path, and the value, which
    the model's reasons quote. Naming the top-level property instead would make the engine print its
    whole value in Go's notation, e.g. ``value {map[v1:{110} v2:{-10}]}``, before the same reason."""
    if failure.property.isidentifier():
        return CheckFailure(failure.property, failure.reason)
    return CheckFailure("", f"property {failure.property}: {failure.reason}")


def diff_result(decision: DiffDecision) -> DiffResult:
    """The engine's answer for a model ``DiffDecision`` (``stables`` is dropped on the wire anyway)."""
    return DiffResult(
        changes=decision.changes,
        replaces=list(decision.replaces),
        stables=[],
        delete_before_replace=decision.delete_before_replace,
    )


@refusals_without_traceback
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
        )
        return CheckResult(news, check_failures(failures))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        from ..model import CanaryPolicySpec, diff_policy

        fields = CanaryPolicySpec.model_fields
        return diff_result(diff_policy(declared_inputs(olds, fields), declared_inputs(news, fields)))

    @taking_turns
    def create(self, props: dict[str, Any]) -> CreateResult:
        from ..usecases.policy import create_policy

        spec, owner = _policy_spec(props), str(props[OWNER_KEY])
        state = create_policy(spec, owner, stack_config.current())
        return CreateResult(id_=state.route_id or owner, outs=_policy_outputs(spec, state))

    @taking_turns
    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        from ..usecases.policy import update_policy

        new = _policy_spec(news)
        stored = _stored_state(olds, str(news[OWNER_KEY]))
        state = update_policy(_policy_spec(olds), new, stored, stack_config.current())
        return UpdateResult(outs=_policy_outputs(new, state))

    @taking_turns
    def delete(self, _id: str, props: dict[str, Any]) -> None:
        from ..usecases.policy import delete_policy

        delete_policy(
            _policy_spec(props), _stored_state(props, str(props[OWNER_KEY])), stack_config.current()
        )

    @taking_turns
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


@refusals_without_traceback
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

    @taking_turns
    def create(self, props: dict[str, Any]) -> CreateResult:
        spec = _split_spec(props)
        outs = _apply(spec, str(props[OWNER_KEY])) | _declared_record(props)
        return CreateResult(id_=f"{spec.policy}/split", outs=outs)

    @taking_turns
    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs=_apply(_split_spec(news), str(news[OWNER_KEY])) | _declared_record(news))

    @taking_turns
    def delete(self, _id: str, props: dict[str, Any]) -> None:
        from ..usecases.split import delete_split

        delete_split(_split_spec(props), str(props[OWNER_KEY]), stack_config.current())

    @taking_turns
    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        from ..usecases.split import drifted_inputs, read_split

        spec, owner = _split_spec(props), str(props[OWNER_KEY])
        state = read_split(spec, owner, stack_config.current())
        if state is None:
            return ReadResult(id_="", outs={})
        declared, drifted = _as_declared(props, spec, owner), drifted_inputs(spec, state.weights)
        # The inputs as declared but for what drifted: refresh shows the drift alone (normalised inputs
        # would read as changes too: `+allow_unready`, `~route`), the next preview the declared weights
        # coming back. The engine diffs against outputs, so they carry the drifted inputs too.
        outs = {**props, **drifted, **_declared_record(declared), **_state_outputs(state)}
        return ReadResult(id_=id_, outs=outs, inputs=declared | drifted)


def _declared_record(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The outputs' copy of the inputs as declared. A secret: the engine strips secrets before it calls a
    dynamic provider and marks as secret only outputs named like a secret input, so a plain copy would
    store a secret input in clear."""
    from pulumi.runtime import rpc

    declared = {key: value for key, value in inputs.items() if key != PROVIDER_KEY}
    return {DECLARED_INPUTS_KEY: rpc.wrap_rpc_secret(declared)}


def _as_declared(props: Mapping[str, Any], spec: TrafficSplitSpec, owner: str) -> dict[str, Any]:
    """The inputs as the last create or update got them; for a split written before they were kept, its
    normalised inputs, as ``read`` used to return (a refresh may show the defaults as changes once)."""
    from pulumi.runtime import rpc

    declared = rpc.unwrap_rpc_secret(props.get(DECLARED_INPUTS_KEY))
    if isinstance(declared, Mapping):
        return dict(declared)
    return declared_inputs(props, type(spec).model_fields) | {OWNER_KEY: owner}


def _split_spec(props: Mapping[str, Any]) -> TrafficSplitSpec:
    from ..model import TrafficSplitSpec, parse_split

    return parse_split(declared_inputs(props, TrafficSplitSpec.model_fields))


def _apply(spec: TrafficSplitSpec, owner: str) -> dict[str, Any]:
    from ..usecases.split import apply_split

    state = apply_split(spec, owner, stack_config.current())
    return {**spec.to_props(), OWNER_KEY: owner, **_state_outputs(state)}


def _state_outputs(state: SplitState) -> dict[str, Any]:
    rollout = state.rollout.to_props() if state.rollout is not None else None
    return {"live_weights": state.weights, "rollout": rollout}
