"""What the shared route driver needs to know about one kind of Kubernetes gateway.

Two small protocols, implemented by plain classes in ``gateway_api`` and ``istio``:

- ``RouteDialect`` (pure): how a route object of this kind looks: the ``spec`` field holding its
  entries, how an entry matches a path and lists its weighted targets, the manifests the policy applies;
- ``VersionStore`` (I/O): where the versions live: a Service each, or subsets of one DestinationRule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ...model import CanaryPolicySpec, RouteMatchSpec, ServiceRefSpec, TrafficSplitSpec
from ...model.live import RouteSnapshot
from ..workloads import ServiceTarget
from .marks import Manifest


@dataclass(frozen=True)
class RouteIntent:
    """What a driver needs from a CanaryPolicy or TrafficSplit spec besides its gateway."""

    service: ServiceRefSpec
    label_key: str
    canary_version: str
    route: RouteMatchSpec
    owner: str

    @classmethod
    def of(cls, spec: CanaryPolicySpec | TrafficSplitSpec, owner: str) -> RouteIntent:
        return cls(spec.service, spec.label_key, spec.canary_version, spec.route, owner)

    @property
    def target(self) -> ServiceTarget:
        return ServiceTarget(self.service.namespace, self.service.name, self.label_key)


@dataclass(frozen=True)
class GatewayObject:
    """A gateway object a route attaches to, which must exist: ``field`` of the gateway spec names it."""

    field: str
    resource: Any  # the lightkube resource class of its kind
    kind: str
    namespace: str
    name: str


class RouteDialect(Protocol):
    """What differs between an HTTPRoute and a VirtualService; every method is pure."""

    @property
    def kind(self) -> str:
        """The route object's kind, for messages: ``HTTPRoute``."""

    @property
    def entries_field(self) -> str:
        """The ``spec`` field that holds the ordered entries: ``rules``, ``http``."""

    @property
    def max_entries(self) -> int | None:
        """How many entries the kind allows, if it limits them."""

    def entry_with_path(self, entries: Sequence[Mapping[str, Any]], match: RouteMatchSpec) -> int | None:
        """The first entry that matches the policy's path and nothing else."""

    def target_names(self, versions: Sequence[str]) -> dict[str, str]:
        """How an entry names each version's target (Service name, subset name) -> version."""

    def targets_of(self, entry: Mapping[str, Any]) -> list[Manifest]:
        """The weighted targets an entry sends to (backendRefs, route destinations), as they are."""

    def targets_for(self, weights: Mapping[str, int]) -> list[Manifest]:
        """The targets that give each version its percentage."""

    def weights_of(self, entry: Mapping[str, Any] | None, names: Mapping[str, str]) -> dict[str, int]:
        """Percent per version of an entry's targets that are versions (``names``: target -> version)."""

    def our_entries(
        self, base: Mapping[str, Any], match: RouteMatchSpec, targets: Sequence[Mapping[str, Any]]
    ) -> list[Manifest]:
        """The entries the policy puts where ``base`` was: a header entry (while the canary is among
        ``targets``) and the weighted one."""

    def unsplittable(self, entry: Mapping[str, Any]) -> str | None:
        """Why an entry cannot carry weighted targets (a redirect...), if it cannot."""

    def is_candidate(self, route: Mapping[str, Any]) -> bool:
        """Whether a route serves the policy's gateway (attached to its Gateway, or one of its hosts)."""

    def candidate_description(self) -> str:
        """What ``is_candidate`` asks, for messages: 'attached to Gateway infra/public-gw'."""

    def gateway_objects(self) -> list[GatewayObject]:
        """The gateway objects the policy's route attaches to (its Gateway, its Istio gateways)."""

    def created_manifest(self, name: str, entries: Sequence[Mapping[str, Any]]) -> Manifest:
        """The whole route object the policy creates and owns."""

    def adopted_manifest(
        self, name: str, original: RouteSnapshot, entries: Sequence[Mapping[str, Any]]
    ) -> Manifest:
        """What the policy applies to a route it adopted: its marks and the entry list only."""


class VersionStore(Protocol):
    """The objects that define the policy's versions; each method is idempotent."""

    def labels_by_version(self) -> dict[str, dict[str, str]]:
        """Every version this policy has defined, name -> the pod labels it selects."""

    def ensure(self, wanted: Mapping[str, Mapping[str, str]]) -> None:
        """Define (or correct) each version of ``wanted`` to select its labels."""

    def remove(self, name: str) -> None:
        """Remove a version, unless a route still sends traffic to it."""
