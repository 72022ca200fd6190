"""The copy of an adopted MSE route that travels in its Description, and the ownership marker around it."""

from __future__ import annotations

import random
import string

import pytest

from pulumi_canary.drivers.mse import (
    MAX_DESCRIPTION_LENGTH,
    adopted_description,
    decode_restore_copy,
    owner_marker,
    owner_of,
)
from pulumi_canary.errors import PreconditionError
from pulumi_canary.model import RouteSnapshot

OWNER = "shop/prod/cart"
LEGACY = RouteSnapshot(
    route_id="5001",
    referenced_versions=("v1",),
    data={
        "Name": "legacy",
        "Description": "made by the platform team; ask #platform",
        "DestinationType": "VersionOriented",
        "Services": [
            {"ServiceId": 7, "Name": "cart", "Namespace": "shop", "SourceType": "K8S", "GroupName": "",
             "Version": "v1", "Percent": 100, "ServicePort": 80},
        ],
        "Predicates": {"PathPredicates": {"Path": "/cart", "Type": "PRE", "IgnoreCase": False},
                       "HeaderPredicates": [{"Key": "x-env", "Type": "EQUAL", "Value": "prod"}]},
    },
)


def test_the_copy_round_trips_what_a_restore_writes_back() -> None:
    description = adopted_description(OWNER, LEGACY)
    restored = decode_restore_copy(description, "5001")
    assert restored is not None
    assert restored.referenced_versions == ("v1",)
    assert restored.data == {
        "Description": "made by the platform team; ask #platform",
        "DestinationType": "VersionOriented",
        # the fields UpdateGatewayRoute takes, empty ones dropped
        "Services": [{"ServiceId": 7, "Name": "cart", "Namespace": "shop", "SourceType": "K8S",
                      "Version": "v1", "Percent": 100, "ServicePort": 80}],
        "Predicates": LEGACY.data["Predicates"],
    }
    assert len(description) <= MAX_DESCRIPTION_LENGTH
    assert set(description.rpartition("=1.")[2]) <= set(string.ascii_letters + string.digits + "-_")


def test_a_route_carrying_the_copy_is_still_ours_and_nobody_elses() -> None:
    description = adopted_description(OWNER, LEGACY)
    assert owner_of(description, OWNER) == "self"
    assert owner_of(description, "shop/staging/cart") == "other"
    assert owner_of(owner_marker(OWNER), OWNER) == "self"
    assert owner_of("made by hand", OWNER) == "unowned"


@pytest.mark.parametrize(
    "description",
    [
        None,
        "",
        "made by hand",
        owner_marker(OWNER),
        f"{owner_marker(OWNER)};restore=",
        f"{owner_marker(OWNER)};restore=1.",
        f"{owner_marker(OWNER)};restore=1.not-base64!",
        f"{owner_marker(OWNER)};restore=2.eJwDAAAAAAE",
    ],
)
def test_no_copy_or_a_damaged_one_reads_as_none(description: str | None) -> None:
    assert decode_restore_copy(description, "5001") is None


def test_a_long_original_description_is_left_out_before_the_route_is_refused() -> None:
    generator = random.Random(5)
    prose = "".join(generator.choice(string.ascii_letters + "🐤 ") for _ in range(3000))  # compresses badly
    noisy = RouteSnapshot("5001", ("v1",), {**LEGACY.data, "Description": prose})
    description = adopted_description(OWNER, noisy)
    restored = decode_restore_copy(description, "5001")
    assert restored is not None and restored.data["Description"] == ""
    assert restored.data["Services"][0]["Version"] == "v1"

    many = [{"ServiceId": i, "Version": f"v{i}", "Percent": 1, "ServicePort": 80 + i} for i in range(300)]
    with pytest.raises(PreconditionError, match="too many destinations"):
        adopted_description(OWNER, RouteSnapshot("5001", (), {**LEGACY.data, "Services": many}))
