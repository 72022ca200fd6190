"""Gateways, service sources, imported services, versions, and endpoint counting from the cluster."""

from __future__ import annotations

import pytest
from alibabacloud_mse20190531 import models as mse
from alibabacloud_mse20190531.client import Client
from alibabacloud_tea_openapi.exceptions import ClientException

from pulumi_canary.emulator import EmulatorServer, StaticEndpoints
from sdk_tests.emulator.conftest import Seeded
from sdk_tests.emulator.helpers import CLUSTER, GATEWAY, version_json


def _detail(client: Client, service_id: int) -> mse.GetGatewayServiceDetailResponseBodyData:
    return client.get_gateway_service_detail(
        mse.GetGatewayServiceDetailRequest(gateway_unique_id=GATEWAY, service_id=service_id)
    ).body.data


def _endpoint_counts(detail: mse.GetGatewayServiceDetailResponseBodyData) -> dict[str, int]:
    return {item.service_version.name: item.endpoint_num for item in detail.version_details}


def _labels(detail: mse.GetGatewayServiceDetailResponseBodyData) -> dict[str, list[str]]:
    return {item.key: item.values for item in detail.label_details}


def test_gateways_are_listed_and_read(client: Client, server: EmulatorServer) -> None:
    server.seed_gateway("gw-second", name="second")

    listed = client.list_gateway(mse.ListGatewayRequest(page_number=1, page_size=10)).body.data
    filtered = client.list_gateway(
        mse.ListGatewayRequest(filter_params=mse.ListGatewayRequestFilterParams(name="second"))
    ).body.data

    assert listed.total_size == 2
    assert [gateway.gateway_unique_id for gateway in listed.result] == [GATEWAY, "gw-second"]
    assert [gateway.gateway_unique_id for gateway in filtered.result] == ["gw-second"]
    assert (
        client.get_gateway(mse.GetGatewayRequest(gateway_unique_id="gw-second")).body.data.region
        == "cn-hangzhou"
    )


def test_service_source_is_listed(client: Client, seeded: Seeded) -> None:
    sources = client.list_service_source(mse.ListServiceSourceRequest(gateway_unique_id=GATEWAY)).body.data

    assert [(source.id, source.type, source.address, source.name) for source in sources] == [
        (seeded.source_id, "K8S", CLUSTER, CLUSTER)
    ]


def test_import_takes_ports_from_the_cluster_and_returns_no_ids(client: Client, seeded: Seeded) -> None:
    service = client.list_gateway_service(
        mse.ListGatewayServiceRequest(
            filter_params=mse.ListGatewayServiceRequestFilterParams(gateway_unique_id=GATEWAY)
        )
    ).body.data.result[0]

    assert (service.name, service.namespace, service.source_type, service.source_id) == (
        "cart",
        "shop",
        "K8S",
        seeded.source_id,
    )
    assert service.ports == [8080, 8443]
    assert [version.name for version in service.versions] == ["v1", "v2"]


def test_import_of_a_service_missing_from_the_cluster_is_refused(client: Client, seeded: Seeded) -> None:
    with pytest.raises(ClientException) as raised:
        client.import_services(
            mse.ImportServicesRequest(
                gateway_unique_id=GATEWAY,
                source_type="K8S",
                source_id=seeded.source_id,
                service_list=[mse.ImportServicesRequestServiceList(name="ghost", namespace="shop")],
            )
        )

    assert raised.value.code == "InvalidParameter"
    assert "shop/ghost" in raised.value.message


def test_only_k8s_services_are_importable(client: Client, seeded: Seeded) -> None:
    with pytest.raises(ClientException) as raised:
        client.import_services(
            mse.ImportServicesRequest(
                gateway_unique_id=GATEWAY,
                source_type="NACOS",
                source_id=seeded.source_id,
                service_list=[mse.ImportServicesRequestServiceList(name="cart", namespace="shop")],
            )
        )

    assert (raised.value.status_code, raised.value.code) == (400, "InvalidParameter")


def test_services_are_listed_page_by_page(client: Client, seeded: Seeded, endpoints: StaticEndpoints) -> None:
    for name in ("alpha", "beta", "gamma"):
        endpoints.set_service("shop", name, ports=[80])
    client.import_services(
        mse.ImportServicesRequest(
            gateway_unique_id=GATEWAY,
            source_type="K8S",
            source_id=seeded.source_id,
            service_list=[
                mse.ImportServicesRequestServiceList(name=name, namespace="shop")
                for name in ("alpha", "beta", "gamma")
            ],
        )
    )

    def page(number: int) -> mse.ListGatewayServiceResponseBodyData:
        return client.list_gateway_service(
            mse.ListGatewayServiceRequest(
                page_number=number,
                page_size=3,
                order_item="Name",
                filter_params=mse.ListGatewayServiceRequestFilterParams(
                    gateway_unique_id=GATEWAY, namespace="shop"
                ),
            )
        ).body.data

    first, second = page(1), page(2)
    assert (first.total_size, first.page_number, first.page_size) == (4, 1, 3)
    assert [service.name for service in first.result] == ["alpha", "beta", "cart"]
    assert [service.name for service in second.result] == ["gamma"]


def test_endpoints_are_counted_per_version(client: Client, seeded: Seeded) -> None:
    detail = _detail(client, seeded.service_id)

    assert _endpoint_counts(detail) == {"v1": 2, "v2": 0}
    assert {item.service_version.name: item.endpoint_num_percent for item in detail.version_details} == {
        "v1": "100%",
        "v2": "0%",
    }
    assert detail.version_details[1].service_version.labels[0].to_map() == {"Key": "version", "Value": "v2"}
    assert _labels(detail) == {"app": ["cart"], "version": ["v1"]}


def test_endpoint_counts_follow_the_ready_pods(
    client: Client, seeded: Seeded, endpoints: StaticEndpoints
) -> None:
    endpoints.set_service(
        "shop",
        "cart",
        ports=[8080],
        ready_pods=[
            {"app": "cart", "version": "v1"},
            {"app": "cart", "version": "v2"},
            {"app": "cart", "version": "v2", "track": "canary"},
        ],
    )

    detail = _detail(client, seeded.service_id)

    assert _endpoint_counts(detail) == {"v1": 1, "v2": 2}
    assert _labels(detail) == {"app": ["cart"], "track": ["canary"], "version": ["v1", "v2"]}


def test_service_gone_from_the_cluster_has_no_endpoints(
    client: Client, seeded: Seeded, endpoints: StaticEndpoints
) -> None:
    endpoints.remove_service("shop", "cart")

    detail = _detail(client, seeded.service_id)

    assert _endpoint_counts(detail) == {"v1": 0, "v2": 0}
    assert detail.label_details == []


def test_versions_are_updated_and_deleted(client: Client, seeded: Seeded) -> None:
    client.update_gateway_service_version(
        mse.UpdateGatewayServiceVersionRequest(
            gateway_unique_id=GATEWAY,
            service_id=seeded.service_id,
            service_version=version_json("v2", version="v1"),
        )
    )
    assert _endpoint_counts(_detail(client, seeded.service_id)) == {"v1": 2, "v2": 2}

    client.delete_gateway_service_version(
        mse.DeleteGatewayServiceVersionRequest(
            gateway_unique_id=GATEWAY, service_id=seeded.service_id, service_version=version_json("v1")
        )
    )
    assert _endpoint_counts(_detail(client, seeded.service_id)) == {"v2": 2}

    with pytest.raises(ClientException) as missing:
        client.delete_gateway_service_version(
            mse.DeleteGatewayServiceVersionRequest(
                gateway_unique_id=GATEWAY, service_id=seeded.service_id, service_version=version_json("v1")
            )
        )
    assert (missing.value.status_code, missing.value.code) == (404, "NotFound")


def test_duplicate_version_is_success_false(client: Client, seeded: Seeded) -> None:
    again = client.add_gateway_service_version(
        mse.AddGatewayServiceVersionRequest(
            gateway_unique_id=GATEWAY,
            service_id=seeded.service_id,
            service_version=version_json("v1", version="v1"),
        )
    )

    assert (again.status_code, again.body.success, again.body.code) == (200, False, 400)


@pytest.mark.parametrize(
    "service_version",
    [
        '{"name": "v3", "labels": []}',
        '{"name": "v3", "labels": [{"key": "version", "value": ""}]}',
        '{"Name": "v3", "Labels": [{"Key": "version", "Value": "v3"}]}',
        '{"name": "v3", "labels": [{"key": "bad key!", "value": "v3"}]}',
        "not json",
    ],
)
def test_malformed_versions_are_refused(client: Client, seeded: Seeded, service_version: str) -> None:
    with pytest.raises(ClientException) as raised:
        client.add_gateway_service_version(
            mse.AddGatewayServiceVersionRequest(
                gateway_unique_id=GATEWAY, service_id=seeded.service_id, service_version=service_version
            )
        )

    assert (raised.value.status_code, raised.value.code) == (400, "InvalidParameter")
