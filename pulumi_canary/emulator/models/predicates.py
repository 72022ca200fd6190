"""The match conditions of a route (path, headers, queries, methods): parsing, checks, identity."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pulumi_canary.emulator.exceptions import InvalidParameterError
from pulumi_canary.emulator.models.values import as_bool, as_list, as_mapping, as_str

__all__ = ["HTTP_METHODS", "PATH_MATCH_TYPES", "KeyValuePredicate", "PathPredicate", "Predicates"]

PATH_MATCH_TYPES = ("PRE", "EQUAL", "ERGULAR")  # "ERGULAR" (sic) is how the real API spells regex.
HTTP_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "CONNECT")


@dataclass(frozen=True)
class PathPredicate:
    """How a route matches the request path."""

    path: str
    type: str
    ignore_case: bool

    def describe(self) -> dict[str, Any]:
        return {"Path": self.path, "Type": self.type, "IgnoreCase": self.ignore_case}


@dataclass(frozen=True)
class KeyValuePredicate:
    """A header or query-parameter condition of a route."""

    key: str
    type: str
    value: str

    def describe(self) -> dict[str, Any]:
        return {"Key": self.key, "Type": self.type, "Value": self.value}


@dataclass(frozen=True)
class Predicates:
    """All match conditions of a route."""

    path: PathPredicate
    headers: tuple[KeyValuePredicate, ...] = ()
    queries: tuple[KeyValuePredicate, ...] = ()
    methods: tuple[str, ...] = ()

    @classmethod
    def from_wire(cls, value: Any) -> Predicates:
        body = as_mapping(value, "Predicates")
        if body.get("PathPredicates") is None:
            raise InvalidParameterError("Predicates.PathPredicates is required")
        path_body = as_mapping(body["PathPredicates"], "Predicates.PathPredicates")
        path = PathPredicate(
            path=as_str(path_body.get("Path"), "Predicates.PathPredicates.Path"),
            type=_match_type(path_body.get("Type", "PRE"), "Predicates.PathPredicates.Type"),
            ignore_case=as_bool(path_body.get("IgnoreCase", False), "Predicates.PathPredicates.IgnoreCase"),
        )
        return cls(
            path=path,
            headers=_key_value_predicates(body.get("HeaderPredicates"), "Predicates.HeaderPredicates"),
            queries=_key_value_predicates(body.get("QueryPredicates"), "Predicates.QueryPredicates"),
            methods=_methods(body.get("MethodPredicates")),
        )

    def validate(self) -> None:
        if self.path.type in ("PRE", "EQUAL") and not self.path.path.startswith("/"):
            raise InvalidParameterError(f"path {self.path.path!r} must start with '/'")
        if self.path.type == "ERGULAR":
            _check_regex(self.path.path, "path regex")
        for predicate in (*self.headers, *self.queries):
            if predicate.type == "ERGULAR":
                _check_regex(predicate.value, f"regex of {predicate.key!r}")

    def match_key(self) -> tuple[Any, ...]:
        """Two routes with equal keys match exactly the same requests."""
        path = self.path.path.lower() if self.path.ignore_case else self.path.path
        return (
            self.path.type,
            path,
            self.path.ignore_case,
            tuple(sorted((p.key.lower(), p.type, p.value) for p in self.headers)),
            tuple(sorted((p.key, p.type, p.value) for p in self.queries)),
            tuple(sorted(self.methods)),
        )

    def describe(self) -> dict[str, Any]:
        return {
            "PathPredicates": self.path.describe(),
            "HeaderPredicates": [predicate.describe() for predicate in self.headers],
            "QueryPredicates": [predicate.describe() for predicate in self.queries],
            "MethodPredicates": list(self.methods),
        }


def _match_type(value: Any, what: str) -> str:
    text = as_str(value, what)
    if text not in PATH_MATCH_TYPES:
        raise InvalidParameterError(f"{what} must be one of {', '.join(PATH_MATCH_TYPES)}, got {text!r}")
    return text


def _key_value_predicates(value: Any, what: str) -> tuple[KeyValuePredicate, ...]:
    predicates = []
    for item in as_list(value, what):
        body = as_mapping(item, f"{what}[]")
        predicates.append(
            KeyValuePredicate(
                key=as_str(body.get("Key"), f"{what}[].Key"),
                type=_match_type(body.get("Type", "EQUAL"), f"{what}[].Type"),
                value=as_str(body.get("Value"), f"{what}[].Value"),
            )
        )
    return tuple(predicates)


def _methods(value: Any) -> tuple[str, ...]:
    methods = tuple(
        as_str(item, "Predicates.MethodPredicates[]") for item in as_list(value, "MethodPredicates")
    )
    unknown = [method for method in methods if method not in HTTP_METHODS]
    if unknown:
        raise InvalidParameterError(f"unknown HTTP methods in Predicates.MethodPredicates: {unknown}")
    return methods


def _check_regex(pattern: str, what: str) -> None:
    try:
        re.compile(pattern)
    except re.error as error:
        raise InvalidParameterError(f"{what} {pattern!r} does not compile: {error}") from error
