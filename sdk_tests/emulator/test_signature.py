"""Both signature schemes of the official SDK are accepted; wrong or replayed signatures are refused."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from alibabacloud_mse20190531 import models as mse
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_tea_openapi.utils import Utils

from pulumi_canary.emulator import EmulatorServer
from pulumi_canary.emulator.exceptions import (
    SignatureDoesNotMatchError,
    SignatureNonceUsedError,
    TimestampExpiredError,
)
from pulumi_canary.emulator.signature import IncomingRequest, SignatureVerifier
from sdk_tests.emulator.conftest import Seeded
from sdk_tests.emulator.helpers import (
    ACCESS_KEY_ID,
    ACCESS_KEY_SECRET,
    GATEWAY,
    add_route_request,
    make_client,
)

TRICKY_TEXT = "canary a+b c*d~e/f&g=h %20 ü中"


@pytest.mark.parametrize("algorithm", [None, "v2"], ids=["v3-default", "v2-rpc"])
def test_sdk_signatures_are_accepted(server: EmulatorServer, algorithm: str | None) -> None:
    client = make_client(server.endpoint, signature_algorithm=algorithm)

    response = client.get_gateway(mse.GetGatewayRequest(gateway_unique_id=GATEWAY))

    assert response.status_code == 200
    assert response.body.success is True
    assert response.body.data.gateway_unique_id == GATEWAY
    assert response.body.data.name == "test gateway"
    assert [record.signature for record in server.requests()] == ["v3" if algorithm is None else "v2"]


@pytest.mark.parametrize("algorithm", [None, "v2"], ids=["v3-default", "v2-rpc"])
def test_percent_encoding_edge_cases_sign_identically(
    server: EmulatorServer, seeded: Seeded, algorithm: str | None
) -> None:
    client = make_client(server.endpoint, signature_algorithm=algorithm)
    request = add_route_request(seeded.service_id, {"v1": 100, "v2": 0})
    request.description = TRICKY_TEXT

    route_id = client.add_gateway_route(request).body.data

    detail = client.get_gateway_route_detail(
        mse.GetGatewayRouteDetailRequest(gateway_unique_id=GATEWAY, route_id=route_id)
    )
    assert detail.body.data.description == TRICKY_TEXT


@pytest.mark.parametrize("algorithm", [None, "v2"], ids=["v3-default", "v2-rpc"])
def test_wrong_secret_is_rejected_with_signature_does_not_match(
    server: EmulatorServer, algorithm: str | None
) -> None:
    client = make_client(server.endpoint, secret="not-the-secret", signature_algorithm=algorithm)

    with pytest.raises(ClientException) as raised:
        client.get_gateway(mse.GetGatewayRequest(gateway_unique_id=GATEWAY))

    assert raised.value.status_code == 400
    assert raised.value.code == "SignatureDoesNotMatch"
    assert raised.value.data["Code"] == "SignatureDoesNotMatch"
    assert [(record.status, record.success) for record in server.requests()] == [(400, False)]


def test_unknown_access_key_is_not_found(server: EmulatorServer) -> None:
    client = make_client(server.endpoint, access_key_id="someone-else")

    with pytest.raises(ClientException) as raised:
        client.get_gateway(mse.GetGatewayRequest(gateway_unique_id=GATEWAY))

    assert raised.value.status_code == 404
    assert raised.value.code == "InvalidAccessKeyId.NotFound"


# ------------------------------------------------------------ the verifier alone, fed by the SDK's own signer


def _v3_signed(query: dict[str, str], *, date: str | None = None, nonce: str = "nonce-1") -> IncomingRequest:
    headers = {
        "host": "127.0.0.1:1",
        "x-acs-version": "2019-05-31",
        "x-acs-action": "GetGateway",
        "user-agent": "tests",
        "x-acs-date": date or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "x-acs-signature-nonce": nonce,
        "accept": "application/json",
    }
    payload = Utils.hash(b"", "ACS3-HMAC-SHA256").hex()
    headers["x-acs-content-sha256"] = payload
    sdk_request = SimpleNamespace(pathname="/", method="POST", query=dict(query), headers=dict(headers))
    headers["Authorization"] = Utils.get_authorization(
        sdk_request, "ACS3-HMAC-SHA256", payload, ACCESS_KEY_ID, ACCESS_KEY_SECRET
    )
    return IncomingRequest(
        method="POST",
        query=list(query.items()),
        headers={name.lower(): [value] for name, value in headers.items()},
    )


def test_verifier_accepts_the_sdk_v3_signature_and_refuses_a_replay() -> None:
    verifier = SignatureVerifier({ACCESS_KEY_ID: ACCESS_KEY_SECRET})
    request = _v3_signed({"GatewayUniqueId": GATEWAY, "Name": "a b"})

    assert verifier.verify(request).access_key_id == ACCESS_KEY_ID
    with pytest.raises(SignatureNonceUsedError):
        verifier.verify(request)


def test_verifier_refuses_a_tampered_query() -> None:
    verifier = SignatureVerifier({ACCESS_KEY_ID: ACCESS_KEY_SECRET})
    signed = _v3_signed({"GatewayUniqueId": GATEWAY})
    tampered = IncomingRequest(signed.method, [("GatewayUniqueId", "gw-other")], signed.headers)

    with pytest.raises(SignatureDoesNotMatchError):
        verifier.verify(tampered)


def test_verifier_refuses_a_stale_timestamp() -> None:
    verifier = SignatureVerifier({ACCESS_KEY_ID: ACCESS_KEY_SECRET})
    stale = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))

    with pytest.raises(TimestampExpiredError):
        verifier.verify(_v3_signed({"GatewayUniqueId": GATEWAY}, date=stale))


def test_verifier_accepts_the_sdk_v2_signature() -> None:
    verifier = SignatureVerifier({ACCESS_KEY_ID: ACCESS_KEY_SECRET})
    query = {
        "Action": "GetGateway",
        "Format": "json",
        "Version": "2019-05-31",
        "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "SignatureNonce": "nonce-v2",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "AccessKeyId": ACCESS_KEY_ID,
        "GatewayUniqueId": "gw with space*",
    }
    query["Signature"] = Utils.get_rpcsignature(dict(query), "POST", ACCESS_KEY_SECRET)

    verified = verifier.verify(IncomingRequest("POST", list(query.items()), {}))

    assert (verified.access_key_id, verified.scheme) == (ACCESS_KEY_ID, "v2")
