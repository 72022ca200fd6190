"""The floor: a dynamic resource that does nothing, carrying the same properties as a canary resource.

It measures what the Pulumi engine and the dynamic-provider machinery cost by themselves.
"""

from __future__ import annotations

from typing import Any

from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult


class NoopProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(id_=str(props.get("name", "noop")), outs=dict(props))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = any(olds.get(key) != value for key, value in news.items() if not key.startswith("__"))
        return DiffResult(changes=changed, replaces=[], stables=[], delete_before_replace=False)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs=dict(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_=id_, outs=dict(props))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        return None


class Noop(Resource, module="bench", name="Noop"):
    def __init__(self, name: str, props: dict[str, Any]) -> None:
        super().__init__(NoopProvider(), name, props)
