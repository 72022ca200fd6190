"""Fixtures: a running emulator on loopback, SDK clients for it, and a gateway with an imported service."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from alibabacloud_mse20190531 import models as mse
from alibabacloud_mse20190531.client import Client

from pulumi_canary.emulator import EmulatorServer, StaticEndpoints
from sdk_tests.emulator.helpers import (
    ACCESS_KEY_ID,
    ACCESS_KEY_SECRET,
    CLUSTER,
    GATEWAY,
    make_client,
    version_json,
)

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy")


@pytest.fixture(autouse=True)
def _no_proxy_for_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    # The Alibaba SDK honours HTTP(S)_PROXY but not NO_PROXY: a proxy would swallow loopback calls.
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def endpoints() -> StaticEndpoints:
    cluster = StaticEndpoints()
    cluster.set_service(
        "shop",
        "cart",
        ports=[8080, 8443],
        ready_pods=[{"app": "cart", "version": "v1"}, {"app": "cart", "version": "v1"}],
    )
    return cluster


@pytest.fixture
def server(endpoints: StaticEndpoints) -> Iterator[EmulatorServer]:
    with EmulatorServer(credentials={ACCESS_KEY_ID: ACCESS_KEY_SECRET}, endpoints=endpoints) as running:
        running.seed_gateway(GATEWAY, name="test gateway")
        yield running


@pytest.fixture
def client(server: EmulatorServer) -> Client:
    return make_client(server.endpoint)


@dataclass(frozen=True)
class Seeded:
    source_id: int
    service_id: int


@pytest.fixture
def seeded(server: EmulatorServer, client: Client) -> Seeded:
    """A K8S source for the cluster, the shop/cart service imported, versions v1 and v2 added."""
    source_id = client.add_service_source(
        mse.AddServiceSourceRequest(
            gateway_unique_id=GATEWAY, name=CLUSTER, address=CLUSTER, type="K8S", source="K8S"
        )
    ).body.data
    client.import_services(
        mse.ImportServicesRequest(
            gateway_unique_id=GATEWAY,
            source_type="K8S",
            source_id=source_id,
            service_list=[mse.ImportServicesRequestServiceList(name="cart", namespace="shop")],
        )
    )
    listed = client.list_gateway_service(
        mse.ListGatewayServiceRequest(
            filter_params=mse.ListGatewayServiceRequestFilterParams(gateway_unique_id=GATEWAY, name="cart")
        )
    )
    service_id = listed.body.data.result[0].id
    for name in ("v1", "v2"):
        client.add_gateway_service_version(
            mse.AddGatewayServiceVersionRequest(
                gateway_unique_id=GATEWAY,
                service_id=service_id,
                service_version=version_json(name, version=name),
            )
        )
    server.clear_requests()
    return Seeded(source_id=source_id, service_id=service_id)
