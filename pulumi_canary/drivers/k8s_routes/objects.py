"""One kind of namespaced Kubernetes object through lightkube, as plain dicts (I/O).

Every value is written with server-side apply under the field manager ``pulumi-canary``, never forced: a
field another manager owns is an ``OwnershipError``. The one other write is a JSON patch that starts with
a ``test`` of the resourceVersion it was computed from; when the object moved on meanwhile it raises
``ChangedMeanwhileError``, and ``optimistic`` reads and computes again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from ...errors import ChangedMeanwhileError
from ..kube import FIELD_MANAGER, api_error_status, apply_conflict, kube_call, missing_is_none
from ..memo import ReadMemo
from ..retry import with_retries
from .marks import Manifest

if TYPE_CHECKING:
    from lightkube import Client

T = TypeVar("T")

WRITE_ATTEMPTS = 3  # optimistic writes re-read and retry this often when the object changes under them


class Objects:
    """One kind of namespaced object through lightkube, as plain dicts; errors become ours."""

    def __init__(self, client: Client, resource: Any, kind: str, namespace: str) -> None:
        self._client = client
        self._resource = resource
        self.kind = kind
        self.namespace = namespace
        self._reads = ReadMemo()

    def _call(self, operation: str, name: str, action: Callable[[], T], *, retry: bool = True) -> T:
        """Run ``action`` with our error types; retry transient failures unless the write is conditional
        (a conditional write that lost a race must be recomputed from a fresh read, see ``optimistic``)."""
        where = f"{self.kind} {self.namespace}/{name}" if name else f"{self.kind}s in {self.namespace}"

        def once() -> T:
            return kube_call(operation, where, action)  # type: ignore[no-any-return]

        return with_retries(once) if retry else once()

    def _forget(self, written: str) -> None:
        """A write to ``written`` changes that object and every list; other objects read stay as read."""
        self._reads.forget(keep=lambda key: key != ("get", written) and key[0] == "get")

    def get(self, name: str) -> Manifest | None:
        fetch = missing_is_none(lambda: self._client.get(self._resource, name, namespace=self.namespace))

        def read() -> Manifest | None:
            found = fetch()
            return None if found is None else dict(found.to_dict())

        return self._reads.read(("get", name), lambda: self._call(f"get {self.kind}", name, read))

    def all(self, labels: Mapping[str, str] | None = None) -> list[Manifest]:
        selector: dict[str, Any] | None = dict(labels) if labels else None

        def read() -> list[Manifest]:
            found = self._client.list(self._resource, namespace=self.namespace, labels=selector)
            return [dict(item.to_dict()) for item in found]

        key = ("all", tuple(sorted((selector or {}).items())))
        return self._reads.read(key, lambda: self._call(f"list {self.kind}", "", read))

    def apply(self, manifest: Manifest) -> Manifest:
        """Server-side apply as ``pulumi-canary``, never forced: a field another manager owns raises
        ``OwnershipError`` naming the manager and the field."""
        from lightkube import ApiError

        name = manifest["metadata"]["name"]
        self._forget(name)

        def write() -> Manifest:
            try:
                obj = self._resource.from_dict(manifest)
                applied = self._client.apply(obj, field_manager=FIELD_MANAGER, force=False)
            except ApiError as error:
                conflict = apply_conflict(error, self.kind, self.namespace, name)
                if conflict is not None:
                    raise conflict from error
                raise
            return dict(applied.to_dict())

        return self._call(f"apply {self.kind}", name, write)

    def patch_json(self, name: str, operations: list[Manifest]) -> None:
        """A JSON patch; callers start it with a ``test`` of the resourceVersion they computed it from."""
        from lightkube import ApiError
        from lightkube.types import PatchType

        self._forget(name)

        def write() -> None:
            try:
                self._client.patch(
                    self._resource,
                    name,
                    operations,
                    namespace=self.namespace,
                    patch_type=PatchType.JSON,
                    field_manager=FIELD_MANAGER,
                )
            except ApiError as error:
                if api_error_status(error) in (409, 422) and self._moved_on(name, operations):
                    raise _changed_meanwhile(self.kind, self.namespace, name) from error
                raise

        self._call(f"patch {self.kind}", name, write, retry=False)

    def _moved_on(self, name: str, operations: list[Manifest]) -> bool:
        """Whether a refused patch failed its resourceVersion ``test`` (the object changed: compute again)
        rather than being invalid (the apiserver's message says why; computing again would not help)."""
        tested = next((op["value"] for op in operations if op.get("op") == "test"), None)
        current = self.get(name)
        return tested is not None and (current is None or current["metadata"]["resourceVersion"] != tested)

    def delete(self, name: str) -> None:
        """Delete ``name``; already gone is fine."""
        self._forget(name)
        remove = missing_is_none(lambda: self._client.delete(self._resource, name, namespace=self.namespace))
        self._call(f"delete {self.kind}", name, remove)


def _changed_meanwhile(kind: str, namespace: str, name: str) -> ChangedMeanwhileError:
    return ChangedMeanwhileError(
        f"{kind} {namespace}/{name} changed while pulumi-canary was writing it; run `pulumi up` again",
        operation=f"write {kind}",
        target=f"{namespace}/{name}",
        status=409,
    )


def optimistic(action: Callable[[], T]) -> T:
    """Run a read-compute-write ``action`` again (fresh read) when its object changed under it."""
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        try:
            return action()
        except ChangedMeanwhileError:
            if attempt == WRITE_ATTEMPTS:
                raise
    raise AssertionError("unreachable: the loop returns or raises")
