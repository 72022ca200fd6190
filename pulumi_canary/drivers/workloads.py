"""Kubernetes workloads: the Service's pods per version, and the canary Deployments a policy owns.

A canary Deployment is a clone of the Deployment that serves the source version (found through the
Service's selector plus ``label_key=source_version``), with the canary label value, image and replicas
set. It is written with server-side apply under the field manager ``pulumi-canary`` and carries labels
that say which stack resource owns it, so a retried create finds it instead of duplicating it.

Every API call is retried with backoff when the failure is transient (409 conflicts, 429, 5xx, network
errors and timeouts); a delete of something already gone succeeds.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast

from ..errors import ChangedMeanwhileError, NotReadyError, OwnershipError, PreconditionError
from ..model.naming import version_object_name
from .kube import (
    FIELD_MANAGER,
    api_error_status,
    apply_conflict,
    json_pointer,
    kube_call,
    missing_is_none,
)
from .memo import ReadMemo
from .retry import wait_for_count, with_retries

if TYPE_CHECKING:
    from lightkube import Client

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "pulumi-canary"
OWNER_ANNOTATION = "pulumi-canary.io/owner"
VERSION_ANNOTATION = "pulumi-canary.io/version"
POLL_SECONDS = 1.0
CANARY_FIELDS = "the canary's labels, image and replicas"
"""What pulumi-canary writes on a canary Deployment, for the message when another manager owns it."""

T = TypeVar("T")


@dataclass(frozen=True)
class ServiceTarget:
    """The Kubernetes Service whose pods are split into versions by ``label_key``."""

    namespace: str
    name: str
    label_key: str


class Workloads:
    """Reads pods and owns canary Deployments through one lightkube client (see ``KubeAccess.client``)."""

    def __init__(self, client: Client, owner: str, sleep: Callable[[float], None] = time.sleep) -> None:
        self._client = client
        self._owner = owner
        self._sleep = sleep
        self._reads = ReadMemo()  # Service selectors and pods; forgotten when a Deployment is written

    @property
    def client(self) -> Client:
        """The cluster client, for the drivers of the same operation to share."""
        return self._client

    def _call(self, operation: str, target: str, action: Callable[[], T]) -> T:
        """One API call with our errors, retried with backoff while the failure is transient."""
        return cast(T, with_retries(lambda: kube_call(operation, target, action), sleep=self._sleep))

    def service(self, target: ServiceTarget) -> Any:
        """The Service (a lightkube ``Service``), or None when it does not exist."""
        from lightkube.resources.core_v1 import Service

        return self._reads.read(
            ("service", target),
            lambda: self._call(
                "get service",
                f"service {target.namespace}/{target.name}",
                missing_is_none(lambda: self._client.get(Service, target.name, namespace=target.namespace)),
            ),
        )

    def selector(self, target: ServiceTarget) -> dict[str, str]:
        where = f"service {target.namespace}/{target.name}"
        service = self.service(target)
        if service is None:
            raise PreconditionError(
                f"{where} does not exist: create it (and its Deployment) before the canary policy"
            )
        selector = dict((service.spec and service.spec.selector) or {})
        if not selector:
            raise PreconditionError(f"{where} has no pod selector: a canary needs pods selected by labels")
        return selector

    def pods(self, target: ServiceTarget, *, fresh: bool = False) -> list[tuple[dict[str, str], bool]]:
        """Labels and readiness of every pod the Service selects."""
        from lightkube.resources.core_v1 import Pod

        selector: dict[str, Any] = dict(self.selector(target))

        def read() -> list[tuple[dict[str, str], bool]]:
            pods: list[Any] = self._call(
                "list pods",
                f"{target.namespace}/{target.name}",
                lambda: list(self._client.list(Pod, namespace=target.namespace, labels=selector)),
            )
            return [(dict(pod.metadata.labels or {}), is_ready(pod)) for pod in pods]

        return self._reads.read(("pods", target), read, fresh=fresh)

    def ready_count(self, target: ServiceTarget, version: str, *, fresh: bool = False) -> int:
        return sum(
            1
            for labels, ready in self.pods(target, fresh=fresh)
            if ready and labels.get(target.label_key) == version
        )

    def wait_ready(self, target: ServiceTarget, version: str, minimum: int, timeout_seconds: float) -> int:
        def too_few(ready: int) -> NotReadyError:
            return NotReadyError(
                f"version {version} of service {target.namespace}/{target.name} has {ready} ready "
                f"pod(s) with {target.label_key}={version}, needs {minimum}, after waiting "
                f"{timeout_seconds:.0f}s: check that its Deployment exists and its pods become Ready "
                "(or set allow_unready=True to send traffic anyway)"
            )

        return wait_for_count(
            lambda fresh: self.ready_count(target, version, fresh=fresh),
            minimum,
            timeout_seconds,
            too_few=too_few,
            sleep=self._sleep,
            every_seconds=POLL_SECONDS,
        )

    def find_source_deployment(self, target: ServiceTarget, version: str) -> Any:
        from lightkube.resources.apps_v1 import Deployment

        wanted = {**self.selector(target), target.label_key: version}
        deployments: list[Any] = self._call(
            "list deployments",
            target.namespace,
            lambda: list(self._client.list(Deployment, namespace=target.namespace)),
        )
        candidates = [d for d in deployments if wanted.items() <= template_labels(d).items()]
        if len(candidates) != 1:
            found = ", ".join(sorted(d.metadata.name for d in candidates)) or "none"
            raise PreconditionError(
                f"expected exactly one Deployment in {target.namespace} whose pod template carries "
                f"{format_labels(wanted)} to clone the canary from, found {found}"
            )
        return candidates[0]

    def apply_canary(
        self,
        target: ServiceTarget,
        version: str,
        source_version: str,
        image: str,
        replicas: int,
        labels: Mapping[str, str],
    ) -> str:
        """Create or update the canary Deployment of ``version``; returns its name."""
        from lightkube import ApiError
        from lightkube.resources.apps_v1 import Deployment

        self._forget_pods()

        name = version_object_name(target.name, version)
        self._refuse_foreign(target, name)
        source = self.find_source_deployment(target, source_version)
        manifest = canary_manifest(
            source.to_dict(), name, target.label_key, version, image, replicas, labels, self._owner
        )

        def apply() -> None:
            try:
                deployment = cast(Deployment, Deployment.from_dict(manifest))
                self._client.apply(deployment, field_manager=FIELD_MANAGER)
            except ApiError as error:
                conflict = apply_conflict(error, "Deployment", target.namespace, name, CANARY_FIELDS)
                if conflict is not None:
                    raise conflict from error
                raise

        self._call("apply deployment", f"{target.namespace}/{name}", apply)
        return name

    def _forget_pods(self) -> None:
        self._reads.forget(keep=lambda key: key[0] == "service")

    def _refuse_foreign(self, target: ServiceTarget, name: str) -> None:
        existing = self._get_deployment(target.namespace, name)
        if existing is None:
            return
        owner = (existing.metadata.annotations or {}).get(OWNER_ANNOTATION)
        if owner != self._owner:
            raise OwnershipError(
                f"Deployment {target.namespace}/{name} already exists and is "
                f"{'owned by ' + owner if owner else 'not managed by pulumi-canary'}: pulumi-canary will "
                "not take it over; delete or rename it, or deploy the canary yourself"
            )

    def _get_deployment(self, namespace: str, name: str) -> Any:
        from lightkube.resources.apps_v1 import Deployment

        return self._call(
            "get deployment",
            f"{namespace}/{name}",
            missing_is_none(lambda: self._client.get(Deployment, name, namespace=namespace)),
        )

    def _owned_deployment(self, target: ServiceTarget, version: str) -> Any:
        """The Deployment of ``version`` if this owner has one, else None."""
        existing = self._get_deployment(target.namespace, version_object_name(target.name, version))
        if existing is None or (existing.metadata.annotations or {}).get(OWNER_ANNOTATION) != self._owner:
            return None
        return existing

    def owned_canary(self, target: ServiceTarget, version: str) -> tuple[str, int] | None:
        """Image and replicas of the canary Deployment of ``version`` if this owner has one."""
        existing = self._owned_deployment(target, version)
        if existing is None:
            return None
        containers = existing.spec.template.spec.containers
        return containers[0].image, int(existing.spec.replicas or 0)

    def stable_replicas(self, target: ServiceTarget, version: str) -> int:
        """The replicas the Deployment serving ``version`` declares (the one a canary is cloned from)."""
        return int(self.find_source_deployment(target, version).spec.replicas or 0)

    def scale_canary(self, target: ServiceTarget, version: str, replicas: int) -> None:
        """Set the replicas of this owner's canary Deployment of ``version``."""
        from lightkube.resources.apps_v1 import Deployment
        from lightkube.types import PatchType

        self._forget_pods()
        name = version_object_name(target.name, version)
        if self._owned_deployment(target, version) is None:
            raise PreconditionError(
                f"the canary Deployment {target.namespace}/{name} of version {version} is gone or no longer "
                "this policy's, so its replicas cannot follow the weight: `pulumi up` the policy first"
            )
        patch = {"spec": {"replicas": replicas}}
        self._call(
            "scale deployment",
            f"{target.namespace}/{name}",
            lambda: self._client.patch(
                Deployment,
                name,
                patch,
                namespace=target.namespace,
                patch_type=PatchType.MERGE,
                field_manager=FIELD_MANAGER,
            ),
        )

    def delete_canary(self, target: ServiceTarget, version: str) -> None:
        """Delete the owned canary Deployment of ``version``; already gone is fine."""
        from lightkube.resources.apps_v1 import Deployment

        self._forget_pods()

        name = version_object_name(target.name, version)
        if self._owned_deployment(target, version) is None:
            return
        self._call(
            "delete deployment",
            f"{target.namespace}/{name}",
            missing_is_none(lambda: self._client.delete(Deployment, name, namespace=target.namespace)),
        )

    def release_canary(self, target: ServiceTarget, version: str) -> None:
        """Stop owning the Deployment of ``version`` (it now serves stable traffic) but keep it running:
        every mark pulumi-canary wrote goes, and so does its field-manager entry, so that whoever takes
        the Deployment over next (kubectl, pulumi-kubernetes, Helm) meets no claim of ours."""
        from lightkube import ApiError
        from lightkube.resources.apps_v1 import Deployment
        from lightkube.types import PatchType

        self._forget_pods()
        name = version_object_name(target.name, version)

        def release() -> None:
            existing = self._owned_deployment(target, version)
            if existing is None:
                return
            try:
                self._client.patch(
                    Deployment,
                    name,
                    release_patch(existing.to_dict()),
                    namespace=target.namespace,
                    patch_type=PatchType.JSON,
                    field_manager=FIELD_MANAGER,
                )
            except ApiError as error:
                if api_error_status(error) in (409, 422):  # its resourceVersion test failed: read again
                    raise ChangedMeanwhileError(
                        f"Deployment {target.namespace}/{name} changed while it was being released",
                        operation="release deployment",
                        target=f"{target.namespace}/{name}",
                    ) from error
                if api_error_status(error) != 404:
                    raise

        self._call("release deployment", f"{target.namespace}/{name}", release)


def is_ready(pod: Any) -> bool:
    conditions = (pod.status and pod.status.conditions) or []
    return (
        any(c.type == "Ready" and c.status == "True" for c in conditions)
        and not pod.metadata.deletionTimestamp
    )


def template_labels(deployment: Any) -> dict[str, str]:
    template = deployment.spec and deployment.spec.template
    return dict((template and template.metadata and template.metadata.labels) or {})


def format_labels(labels: Mapping[str, str]) -> str:
    return ", ".join(f"{key}={value}" for key, value in sorted(labels.items()))


def release_patch(deployment: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A JSON patch that removes pulumi-canary's marks and field-manager entry from a canary Deployment,
    valid only at the resourceVersion it was computed from (pure)."""
    metadata = deployment["metadata"]
    operations: list[dict[str, Any]] = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": metadata["resourceVersion"]}
    ]
    annotations = metadata.get("annotations") or {}
    for key in (OWNER_ANNOTATION, VERSION_ANNOTATION):
        if key in annotations:
            operations.append({"op": "remove", "path": "/metadata/annotations/" + json_pointer(key)})
    if (metadata.get("labels") or {}).get(MANAGED_BY_LABEL) == MANAGED_BY:
        operations.append({"op": "remove", "path": "/metadata/labels/" + json_pointer(MANAGED_BY_LABEL)})
    others = [entry for entry in metadata.get("managedFields") or [] if entry.get("manager") != FIELD_MANAGER]
    # An empty list would leave managedFields as they are; one empty entry clears them.
    operations.append({"op": "replace", "path": "/metadata/managedFields", "value": others or [{}]})
    return operations


def canary_manifest(
    source: dict[str, Any],
    name: str,
    label_key: str,
    version: str,
    image: str,
    replicas: int,
    extra_labels: Mapping[str, str],
    owner: str,
) -> dict[str, Any]:
    """The server-side-apply manifest of a canary Deployment cloned from ``source`` (pure)."""
    spec = copy.deepcopy(source["spec"])
    for key in ("strategy", "revisionHistoryLimit", "progressDeadlineSeconds", "paused"):
        spec.pop(key, None)
    template = spec["template"]
    template.setdefault("metadata", {}).setdefault("labels", {}).update({**extra_labels, label_key: version})
    for key in ("creationTimestamp",):
        template["metadata"].pop(key, None)
    # The selector must not match the source's pods, or two ReplicaSets would compete for them.
    selector = spec.setdefault("selector", {}).setdefault("matchLabels", {})
    selector[label_key] = version
    spec["replicas"] = replicas
    containers = template["spec"]["containers"]
    containers[0]["image"] = image
    metadata = source["metadata"]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": metadata["namespace"],
            "labels": {
                **(metadata.get("labels") or {}),
                label_key: version,
                MANAGED_BY_LABEL: MANAGED_BY,
            },
            "annotations": {OWNER_ANNOTATION: owner, VERSION_ANNOTATION: version},
        },
        "spec": spec,
    }
