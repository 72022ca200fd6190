"""What the Kubernetes gateways' harnesses share: reading objects back from the apiserver (after the CRDs'
defaulting, which is what a gateway implementation reads), the watch-based history of a destroy, who owns
a field, and another tool taking the weights over.

Deletes are checked for ORDER, not just for their end state: the apiserver's watch replays every change
since a resourceVersion, so a test can see that traffic left a version before its object went.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from lightkube import Client, KubeConfig
from lightkube.types import PatchType

from sdk_tests.conformance.observed import HandEdit

__all__ = [
    "CONTROLLER",
    "Events",
    "as_it_was",
    "deleted_at",
    "deletions",
    "history",
    "names",
    "only",
    "release_claim",
    "rules_owners",
    "take_over_by_hand",
]

CONTROLLER = "argo-rollouts"  # the field manager of a rollout controller that takes the weights over

Events = list[tuple[int, str, Any]]
"""(resourceVersion, event type, object dict) of each change a watch replayed."""


def only(kube: Any, resource: Any, namespace: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [item.to_dict() for item in kube.list(resource, namespace=namespace)]
    assert len(found) == 1, [item["metadata"]["name"] for item in found]
    return found[0]


def names(kube: Any, resource: Any, namespace: str) -> set[str]:
    return {item.metadata.name for item in kube.list(resource, namespace=namespace)}


def rules_owners(obj: dict[str, Any], field: str = "rules") -> list[tuple[str, str]]:
    """(manager, operation) of every managedFields entry that owns ``spec.<field>``."""
    return [
        (entry["manager"], entry["operation"])
        for entry in obj["metadata"].get("managedFields") or []
        if f"f:{field}" in ((entry.get("fieldsV1") or {}).get("f:spec") or {})
    ]


def as_it_was(obj: dict[str, Any]) -> dict[str, Any]:
    """What restore must give back: spec, labels, annotations and who owns which field."""
    managed = sorted(
        (e["manager"], e["operation"], str(e.get("fieldsV1"))) for e in obj["metadata"]["managedFields"]
    )
    metadata = obj["metadata"]
    return {
        "spec": obj["spec"],
        "labels": metadata.get("labels"),
        "annotations": metadata.get("annotations"),
        "managed": managed,
    }


# ---- the history of a destroy ------------------------------------------------------------------------


def history(kube: Any, resource: Any, namespace: str, since: str, done: Callable[[Events], bool]) -> Events:
    """Every change to ``resource`` objects in ``namespace`` after resourceVersion ``since``, replayed by
    the apiserver's watch, until ``done`` says enough.

    The rig's resourceVersions are etcd revisions, one counter for all kinds, so they order events
    across kinds (Kubernetes calls them opaque; on this one apiserver they are not).
    """
    events: Events = []

    def consume() -> None:
        for kind, obj in kube.watch(resource, namespace=namespace, resource_version=since):
            events.append((int(obj.metadata.resourceVersion), kind, obj.to_dict()))
            if done(events):
                return

    reader = threading.Thread(target=consume, daemon=True)
    reader.start()
    reader.join(30)
    assert not reader.is_alive(), f"the expected changes never came; saw {[(rv, k) for rv, k, _ in events]}"
    return events


def deleted_at(events: Events, name: str) -> int:
    return next(rv for rv, kind, obj in events if kind == "DELETED" and obj["metadata"]["name"] == name)


def deletions(*wanted: str) -> Callable[[Events], bool]:
    def done(events: Events) -> bool:
        gone = {obj["metadata"]["name"] for _, kind, obj in events if kind == "DELETED"}
        return set(wanted) <= gone

    return done


# ---- edits by hand -----------------------------------------------------------------------------------


def take_over_by_hand(
    kube: Any, kubeconfig: Path, resource: Any, obj: Mapping[str, Any], field: str, entries: list[Any]
) -> HandEdit:
    """Another tool takes ``spec.<field>`` of ``obj`` over: a forced server-side apply as ``argo-rollouts``
    (as rollout controllers do, and ``kubectl apply --server-side --force-conflicts``), which then owns
    the field; ``release`` drops that claim as its owner would."""
    name, namespace = obj["metadata"]["name"], obj["metadata"]["namespace"]
    controller = Client(config=KubeConfig.from_file(kubeconfig), field_manager=CONTROLLER)
    takeover = {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "metadata": {"name": name, "namespace": namespace},
        "spec": {field: entries},
    }
    controller.apply(resource.from_dict(takeover), force=True)
    return HandEdit(
        claim=(CONTROLLER, "Apply"),
        claimed_field=f".spec.{field}",
        owners=lambda: rules_owners(kube.get(resource, name, namespace=namespace).to_dict(), field),
        release=lambda: release_claim(kube, resource, name, namespace, CONTROLLER),
    )


def release_claim(kube: Any, resource: Any, name: str, namespace: str, manager: str) -> None:
    """Remove ``manager``'s managedFields entries from the object: it no longer claims any field."""
    stored = kube.get(resource, name, namespace=namespace).to_dict()
    managed = [e for e in stored["metadata"]["managedFields"] if e["manager"] != manager]
    kube.patch(
        resource,
        name,
        [{"op": "replace", "path": "/metadata/managedFields", "value": managed}],
        namespace=namespace,
        patch_type=PatchType.JSON,
    )
