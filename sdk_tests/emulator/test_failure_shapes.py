"""The two failure shapes: HTTP errors make the SDK raise; Success:false comes back as a normal body."""

from __future__ import annotations

import pytest
from alibabacloud_mse20190531 import models as mse
from alibabacloud_mse20190531.client import Client
from alibabacloud_tea_openapi.exceptions import ClientException, ServerException
from alibabacloud_tea_openapi.models import OpenApiRequest, Params
from darabonba.runtime import RuntimeOptions

from pulumi_canary.emulator import EmulatorServer, StaticEndpoints
from sdk_tests.emulator.conftest import Seeded
from sdk_tests.emulator.helpers import CLUSTER, GATEWAY, add_route_request


def test_http_error_shape_raises_client_exception(client: Client) -> None:
    with pytest.raises(ClientException) as raised:
        client.get_gateway(mse.GetGatewayRequest(gateway_unique_id="gw-missing"))

    error = raised.value
    assert (error.status_code, error.code) == (404, "NotFound")
    assert error.data["Message"] == "Not found:gateway gw-missing"
    assert error.request_id == error.data["RequestId"]
    assert set(error.data) >= {"RequestId", "Code", "Message", "HostId", "Recommend"}


def test_cluster_failure_is_a_server_exception(
    client: Client, seeded: Seeded, endpoints: StaticEndpoints, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(namespace: str, service_name: str) -> list[dict[str, str]] | None:
        raise ConnectionError("apiserver unreachable")

    monkeypatch.setattr(endpoints, "ready_pod_labels", broken)

    with pytest.raises(ServerException) as raised:
        client.get_gateway_service_detail(
            mse.GetGatewayServiceDetailRequest(gateway_unique_id=GATEWAY, service_id=seeded.service_id)
        )

    assert (raised.value.status_code, raised.value.code) == (500, "InternalError")
    assert "apiserver unreachable" in raised.value.message


def test_duplicate_route_is_success_false_without_raising(client: Client, seeded: Seeded) -> None:
    client.add_gateway_route(add_route_request(seeded.service_id, {"v1": 100}))

    same_path = client.add_gateway_route(add_route_request(seeded.service_id, {"v1": 100}, name="other-name"))
    same_name = client.add_gateway_route(add_route_request(seeded.service_id, {"v1": 100}, path="/elsewhere"))

    assert same_path.status_code == 200
    assert same_path.body.success is False
    assert same_path.body.code == 400
    assert same_path.body.error_code == "Duplicate.RouteMatch"
    assert "/cart" in same_path.body.message
    assert same_path.body.data is None
    assert (same_name.body.success, same_name.body.error_code) == (False, "Duplicate.RouteName")


def test_duplicate_service_source_is_success_false(client: Client, seeded: Seeded) -> None:
    again = client.add_service_source(
        mse.AddServiceSourceRequest(
            gateway_unique_id=GATEWAY, name=CLUSTER, address=CLUSTER, type="K8S", source="K8S"
        )
    )

    assert (again.status_code, again.body.success, again.body.code) == (200, False, 400)


def test_unknown_action_is_refused_loudly_by_name(client: Client, server: EmulatorServer) -> None:
    params = Params(
        action="DescribeUnicorns",
        version="2019-05-31",
        protocol="HTTP",
        pathname="/",
        method="POST",
        auth_type="AK",
        style="RPC",
        req_body_type="formData",
        body_type="json",
    )

    with pytest.raises(ClientException) as raised:
        client.call_api(params, OpenApiRequest(query={}), RuntimeOptions())

    assert (raised.value.status_code, raised.value.code) == (404, "InvalidAction.NotFound")
    assert "DescribeUnicorns" in raised.value.message
    assert server.requests()[-1].action == "DescribeUnicorns"
