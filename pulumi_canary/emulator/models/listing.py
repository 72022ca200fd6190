"""Listing for the List* actions: paging and ordering (:class:`ListQuery`, :class:`Page`) and filters."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pulumi_canary.emulator.exceptions import InvalidParameterError
from pulumi_canary.emulator.models.values import as_int

__all__ = ["MAX_PAGE_SIZE", "ListQuery", "Page", "contains", "equals", "optional_filter_int", "paginate"]

MAX_PAGE_SIZE = 100

T = TypeVar("T")


@dataclass(frozen=True)
class ListQuery:
    """Paging and ordering of a List* action. ``order_item`` is a PascalCase field such as ``GmtCreate``."""

    page_number: int = 1
    page_size: int = 10
    order_item: str = ""
    desc_sort: bool = False

    def validate(self) -> None:
        if self.page_number < 1:
            raise InvalidParameterError(f"PageNumber must be >= 1, got {self.page_number}")
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise InvalidParameterError(f"PageSize must be 1..{MAX_PAGE_SIZE}, got {self.page_size}")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing, with the total number of matching items."""

    items: list[T]
    total_size: int
    page_number: int
    page_size: int


def paginate(items: list[dict[str, Any]], query: ListQuery, orderable: Iterable[str]) -> Page[dict[str, Any]]:
    query.validate()
    order_item = query.order_item or "Id"
    if order_item not in orderable:
        raise InvalidParameterError(
            f"OrderItem must be one of {', '.join(sorted(orderable))}, got {order_item!r}"
        )
    ordered = sorted(items, key=lambda item: (item.get(order_item) is None, item.get(order_item), item["Id"]))
    if query.desc_sort:
        ordered.reverse()
    start = (query.page_number - 1) * query.page_size
    return Page(ordered[start : start + query.page_size], len(ordered), query.page_number, query.page_size)


def contains(haystack: str, needle: Any) -> bool:
    return not needle or str(needle).lower() in haystack.lower()


def equals(actual: Any, wanted: Any) -> bool:
    return wanted is None or wanted == "" or str(actual) == str(wanted)


def optional_filter_int(filters: Mapping[str, Any], key: str) -> int | None:
    value = filters.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return as_int(value, f"FilterParams.{key}")
