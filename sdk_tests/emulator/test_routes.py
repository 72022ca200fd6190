"""The route lifecycle as a driver performs it, and the validation the real service applies."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from alibabacloud_mse20190531 import models as mse
from alibabacloud_mse20190531.client import Client
from alibabacloud_tea_openapi.exceptions import ClientException

from pulumi_canary.emulator import EmulatorServer, RouteStatus
from sdk_tests.emulator.conftest import Seeded
from sdk_tests.emulator.helpers import (
    GATEWAY,
    add_route_request,
    make_client,
    update_route_request,
    version_json,
)


def _detail(client: Client, route_id: int) -> mse.GetGatewayRouteDetailResponseBodyData:
    response = client.get_gateway_route_detail(
        mse.GetGatewayRouteDetailRequest(gateway_unique_id=GATEWAY, route_id=route_id)
    )
    assert response.body.success is True
    return response.body.data


def _weights(detail: mse.GetGatewayRouteDetailResponseBodyData) -> dict[str, int]:
    return {service.version: service.percent for service in detail.route_services}


def test_route_lifecycle(client: Client, seeded: Seeded, server: EmulatorServer) -> None:
    route_id = client.add_gateway_route(add_route_request(seeded.service_id, {"v1": 100, "v2": 0})).body.data
    assert isinstance(route_id, int)

    created = _detail(client, route_id)
    assert created.status == RouteStatus.UNPUBLISHED == 0
    assert _weights(created) == {"v1": 100, "v2": 0}
    assert json.loads(created.predicates)["PathPredicates"] == {
        "Path": "/cart",
        "Type": "PRE",
        "IgnoreCase": False,
    }
    assert [entry["Version"] for entry in json.loads(created.services)] == ["v1", "v2"]
    assert created.route_predicates.path_predicates.path == "/cart"
    assert created.domain_id_list == [1]

    client.apply_gateway_route(mse.ApplyGatewayRouteRequest(gateway_unique_id=GATEWAY, route_id=route_id))
    assert _detail(client, route_id).status == RouteStatus.PUBLISHED == 3

    client.update_gateway_route(update_route_request(route_id, seeded.service_id, {"v1": 80, "v2": 20}))
    edited = _detail(client, route_id)
    assert edited.status == RouteStatus.EDITED_NOT_PUBLISHED == 4
    assert _weights(edited) == {"v1": 80, "v2": 20}

    client.apply_gateway_route(mse.ApplyGatewayRouteRequest(gateway_unique_id=GATEWAY, route_id=route_id))
    assert _detail(client, route_id).status == RouteStatus.PUBLISHED

    with pytest.raises(ClientException) as in_use:
        client.delete_gateway_service_version(
            mse.DeleteGatewayServiceVersionRequest(
                gateway_unique_id=GATEWAY, service_id=seeded.service_id, service_version=version_json("v2")
            )
        )
    assert (in_use.value.status_code, in_use.value.code) == (400, "InvalidParameter")
    assert "cart-route" in in_use.value.message

    with pytest.raises(ClientException) as published:
        client.delete_gateway_route(
            mse.DeleteGatewayRouteRequest(gateway_unique_id=GATEWAY, route_id=route_id)
        )
    assert published.value.code == "IllegalRequest"

    client.offline_gateway_route(mse.OfflineGatewayRouteRequest(gateway_unique_id=GATEWAY, route_id=route_id))
    assert _detail(client, route_id).status == RouteStatus.UNPUBLISHED
    deleted = client.delete_gateway_route(
        mse.DeleteGatewayRouteRequest(gateway_unique_id=GATEWAY, route_id=route_id)
    )
    assert (deleted.body.data.id, deleted.body.data.name) == (route_id, "cart-route")

    with pytest.raises(ClientException) as gone:
        _detail(client, route_id)
    assert (gone.value.status_code, gone.value.code) == (404, "NotFound")
    client.delete_gateway_service_version(
        mse.DeleteGatewayServiceVersionRequest(
            gateway_unique_id=GATEWAY, service_id=seeded.service_id, service_version=version_json("v2")
        )
    )
    assert [entry.action for entry in server.requests()][:3] == [
        "AddGatewayRoute",
        "GetGatewayRouteDetail",
        "ApplyGatewayRoute",
    ]


@pytest.mark.parametrize(
    ("weights", "fragment"),
    [
        ({"v1": 60, "v2": 30}, "sum to 100"),
        ({"v1": 50.5, "v2": 49.5}, "must be an integer"),
        ({"v1": 120, "v2": -20}, "0..100"),
        ({"v1": 100, "v3": 0}, "has no version 'v3'"),
    ],
)
def test_invalid_weights_are_refused(
    client: Client, seeded: Seeded, weights: dict[str, float], fragment: str
) -> None:
    with pytest.raises(ClientException) as raised:
        client.add_gateway_route(add_route_request(seeded.service_id, weights))

    assert (raised.value.status_code, raised.value.code) == (400, "InvalidParameter")
    assert fragment in raised.value.message


def test_empty_path_is_refused(client: Client, seeded: Seeded) -> None:
    with pytest.raises(ClientException) as raised:
        client.add_gateway_route(add_route_request(seeded.service_id, {"v1": 100}, path=""))

    assert raised.value.code == "InvalidParameter"
    assert "Path" in raised.value.message


def test_unknown_service_is_not_found(client: Client, seeded: Seeded) -> None:
    with pytest.raises(ClientException) as raised:
        client.add_gateway_route(add_route_request(seeded.service_id + 99, {"v1": 100}))

    assert (raised.value.status_code, raised.value.code) == (404, "NotFound")


def test_routes_are_listed_page_by_page(client: Client, seeded: Seeded) -> None:
    created = [
        client.add_gateway_route(
            add_route_request(seeded.service_id, {"v1": 100}, name=f"route-{index}", path=f"/p{index}")
        ).body.data
        for index in range(5)
    ]

    pages = [
        client.list_gateway_route(
            mse.ListGatewayRouteRequest(
                page_number=number,
                page_size=2,
                filter_params=mse.ListGatewayRouteRequestFilterParams(gateway_unique_id=GATEWAY),
            )
        ).body.data
        for number in (1, 2, 3, 4)
    ]

    assert [page.total_size for page in pages] == [5, 5, 5, 5]
    assert [[route.id for route in page.result] for page in pages] == [
        created[0:2],
        created[2:4],
        created[4:],
        [],
    ]
    assert pages[0].result[0].route_services[0].version == "v1"
    by_name = client.list_gateway_route(
        mse.ListGatewayRouteRequest(
            filter_params=mse.ListGatewayRouteRequestFilterParams(gateway_unique_id=GATEWAY, name="route-3")
        )
    ).body.data
    assert [route.id for route in by_name.result] == [created[3]]


def test_page_size_above_the_limit_is_refused(client: Client, seeded: Seeded) -> None:
    with pytest.raises(ClientException) as raised:
        client.list_gateway_route(mse.ListGatewayRouteRequest(page_size=101))

    assert raised.value.code == "InvalidParameter"


def test_single_destination_route(client: Client, seeded: Seeded) -> None:
    request = add_route_request(seeded.service_id, {}, name="single", path="/single")
    request.destination_type = "Single"
    request.services = [mse.AddGatewayRouteRequestServices(service_id=seeded.service_id)]

    detail = _detail(client, client.add_gateway_route(request).body.data)

    assert detail.destination_type == "Single"
    assert [
        (entry.service_id, entry.name, entry.namespace, entry.service_port) for entry in detail.route_services
    ] == [(seeded.service_id, "cart", "shop", 8080)]


def test_same_path_with_different_headers_is_not_a_duplicate(client: Client, seeded: Seeded) -> None:
    client.add_gateway_route(add_route_request(seeded.service_id, {"v1": 100}))
    canary = add_route_request(seeded.service_id, {"v2": 100}, name="cart-canary")
    canary.predicates.header_predicates = [
        mse.AddGatewayRouteRequestPredicatesHeaderPredicates(key="x-canary", type="EQUAL", value="always")
    ]

    response = client.add_gateway_route(canary)

    assert response.body.success is True
    assert _detail(client, response.body.data).route_predicates.header_predicates[0].key == "x-canary"


def test_concurrent_writes_get_distinct_ids(server: EmulatorServer, seeded: Seeded) -> None:
    def add_routes(worker: int) -> list[int]:
        own_client = make_client(server.endpoint)
        return [
            own_client.add_gateway_route(
                add_route_request(
                    seeded.service_id, {"v1": 100}, name=f"w{worker}-r{n}", path=f"/w{worker}/{n}"
                )
            ).body.data
            for n in range(5)
        ]

    with ThreadPoolExecutor(max_workers=4) as pool:
        ids = [route_id for batch in pool.map(add_routes, range(4)) for route_id in batch]

    assert len(set(ids)) == 20
    assert len(server.state()["Routes"]) == 20
