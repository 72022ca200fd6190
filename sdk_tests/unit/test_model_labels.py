"""Kubernetes and HTTP syntax checks, naming, and small spec helpers."""

from __future__ import annotations

import re

import pytest

from pulumi_canary.model import RouteSnapshot, version_object_name
from pulumi_canary.model.syntax import (
    dns1035_label_problem,
    dns1123_label_problem,
    dns1123_subdomain_problem,
    header_name_problem,
    header_value_problem,
    label_key_problem,
    label_value_problem,
    path_problem,
)

GOOD_LABEL_VALUES = ["", "v1", "V1", "1.2.3", "a_b-c.d", "x" * 63]
BAD_LABEL_VALUES = ["-a", "a-", "_a", "a.", "a b", "a/b", "x" * 64, "v1\n", "ü"]


@pytest.mark.parametrize("value", GOOD_LABEL_VALUES)
def test_good_label_values(value: str) -> None:
    assert label_value_problem(value) is None


@pytest.mark.parametrize("value", BAD_LABEL_VALUES)
def test_bad_label_values(value: str) -> None:
    assert label_value_problem(value) is not None


def test_label_key_prefix_length() -> None:
    prefix = ".".join(["a" * 63] * 4)[:253]
    assert label_key_problem(f"{prefix}/name") is None
    assert label_key_problem(f"{prefix}a/name") is not None


@pytest.mark.parametrize(
    ("value", "ok"),
    [("a", True), ("a-1", True), ("1a", True), ("A", False), ("a" * 64, False), ("-a", False)],
)
def test_dns1123_label(value: str, ok: bool) -> None:
    assert (dns1123_label_problem(value) is None) is ok


@pytest.mark.parametrize(("value", "ok"), [("a", True), ("a-1", True), ("1a", False), ("a.b", False)])
def test_dns1035_label(value: str, ok: bool) -> None:
    assert (dns1035_label_problem(value) is None) is ok


@pytest.mark.parametrize(
    ("value", "ok"), [("a.b-c.d", True), ("a..b", False), ("a" * 254, False), ("A.b", False)]
)
def test_dns1123_subdomain(value: str, ok: bool) -> None:
    assert (dns1123_subdomain_problem(value) is None) is ok


@pytest.mark.parametrize(
    ("name", "ok"),
    [("x-canary", True), ("X_Canary!", True), ("x canary", False), (":authority", False), ("", False)],
)
def test_header_names(name: str, ok: bool) -> None:
    assert (header_name_problem(name) is None) is ok


@pytest.mark.parametrize(
    ("value", "ok"), [("always", True), ("a\tb", True), ("a\r\nb", False), ("", False), ("x" * 4097, False)]
)
def test_header_values(value: str, ok: bool) -> None:
    assert (header_value_problem(value) is None) is ok


@pytest.mark.parametrize(
    ("path", "path_type", "ok"),
    [
        ("/", "prefix", True),
        ("/demo", "exact", True),
        ("demo", "prefix", False),
        ("/a b", "prefix", False),
        ("/" + "a" * 1024, "prefix", False),
        ("^/demo/[0-9]+$", "regex", True),
        ("[", "regex", False),
        (r"/\d+", "regex", True),
        ("/[(?=x)]", "regex", True),  # inside a character class it is literal
    ],
)
def test_paths(path: str, path_type: str, ok: bool) -> None:
    assert (path_problem(path, path_type) is None) is ok


def test_version_object_names() -> None:
    assert version_object_name("demo-service", "v2") == "demo-service-v2"
    folded = version_object_name("demo-service", "V2")
    assert folded.startswith("demo-service-v2-") and folded != version_object_name("demo-service", "v2")
    assert version_object_name("demo", "v1.2") != version_object_name("demo", "v1-2")
    long = version_object_name("s" * 60, "v" * 63)
    assert len(long) <= 63
    for name in (folded, long, version_object_name("demo", "Beta_1.0")):
        assert re.fullmatch(r"[a-z]([-a-z0-9]*[a-z0-9])?", name) and len(name) <= 63


def test_route_snapshot_round_trip() -> None:
    snapshot = RouteSnapshot("rt-1", ("v0",), {"services": [{"Version": "v0", "Percent": 100}]})
    assert RouteSnapshot.from_props(snapshot.to_props()) == snapshot
    with pytest.raises(ValueError, match="damaged"):
        RouteSnapshot.from_props({"route_id": 5})
