"""A tiny dynamic provider whose real-world object is a file, so preview/up/refresh/destroy are observable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, ReadResult, Resource, ResourceProvider, UpdateResult


class FileProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        Path(props["path"]).write_text(props["content"])
        return CreateResult(id_=props["path"], outs=dict(props))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        path = Path(id_)
        if not path.exists():
            return ReadResult(id_="", outs={})
        return ReadResult(id_=id_, outs={**props, "content": path.read_text()})

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        Path(id_).write_text(news["content"])
        return UpdateResult(outs=dict(news))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        Path(id_).unlink(missing_ok=True)


class ManagedFile(Resource):
    content: pulumi.Output[str]

    def __init__(self, name: str, path: str, content: str) -> None:
        super().__init__(FileProvider(), name, {"path": path, "content": content})
