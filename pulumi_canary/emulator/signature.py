"""Verification of the two request signatures the Alibaba Cloud SDK produces for RPC-style APIs.

* V3, ``ACS3-HMAC-SHA256`` (the SDK's default): ``Authorization: ACS3-HMAC-SHA256
  Credential=<AccessKeyId>,SignedHeaders=<a;b;c>,Signature=<hex>``. The canonical request is
  ``METHOD \\n / \\n canonical query \\n canonical headers \\n signed header list \\n sha256(body) hex``;
  the string to sign is ``ACS3-HMAC-SHA256 \\n sha256(canonical request) hex``; the signature is the hex
  HMAC-SHA256 of it under the secret.
* The older RPC signature (``signature_algorithm='v2'``): ``Signature`` = base64 HMAC-SHA1 under
  ``secret + "&"`` of ``METHOD&%2F&percent-encode(sorted, percent-encoded query without Signature)``.

Both also carry a nonce (a replay is refused) and a UTC timestamp (15 minutes of skew at most).
"""

from __future__ import annotations

import base64
import calendar
import hashlib
import hmac
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from pulumi_canary.emulator.exceptions import (
    AccessKeyNotFoundError,
    IncompleteSignatureError,
    MseApiError,
    SignatureDoesNotMatchError,
    SignatureNonceUsedError,
    TimestampExpiredError,
)

__all__ = ["IncomingRequest", "SignatureVerifier", "VerifiedRequest", "v2_signature", "v3_signature"]

V3_ALGORITHM = "ACS3-HMAC-SHA256"
MAX_CLOCK_SKEW_SECONDS = 15 * 60
_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# Headers whose presence in SignedHeaders the real gateway insists on for V3.
_REQUIRED_V3_HEADERS = ("host", "x-acs-action", "x-acs-date", "x-acs-signature-nonce", "x-acs-version")


@dataclass(frozen=True)
class IncomingRequest:
    """What signature checks need of an HTTP request; ``query`` is decoded, header names lowercase."""

    method: str
    query: Sequence[tuple[str, str]]
    headers: Mapping[str, Sequence[str]]
    body: bytes = b""

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None

    def query_value(self, name: str) -> str | None:
        return next((value for key, value in self.query if key == name), None)


@dataclass(frozen=True)
class VerifiedRequest:
    """A request whose signature matched: who sent it and with which scheme ("v3" or "v2")."""

    access_key_id: str
    scheme: str


def _encode(text: str) -> str:
    return quote(text, safe="~", encoding="utf-8")


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def v3_canonical_request(request: IncomingRequest, signed_headers: Sequence[str]) -> str:
    """The canonical request exactly as the SDK builds it (keys are not encoded, values are)."""
    query = "&".join(f"{key}={_encode(value)}" for key, value in sorted(request.query))
    headers = "".join(
        f"{name}:{','.join(sorted(value.strip() for value in request.headers.get(name, ())))}\n"
        for name in signed_headers
    )
    return "\n".join(
        (request.method.upper(), "/", query, headers, ";".join(signed_headers), _sha256_hex(request.body))
    )


def v3_signature(secret: str, canonical_request: str) -> tuple[str, str]:
    """(string to sign, hex signature) for a canonical request."""
    string_to_sign = f"{V3_ALGORITHM}\n{_sha256_hex(canonical_request.encode('utf-8'))}"
    digest = hmac.new(secret.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    return string_to_sign, digest


def v2_signature(secret: str, method: str, query: Sequence[tuple[str, str]]) -> tuple[str, str]:
    """(string to sign, base64 signature) of the RPC (HMAC-SHA1) scheme; ``query`` excludes Signature."""
    canonical = "&".join(f"{_encode(key)}={_encode(value)}" for key, value in sorted(query))
    string_to_sign = f"{method.upper()}&%2F&{_encode(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode("utf-8"), hashlib.sha1).digest()
    return string_to_sign, base64.b64encode(digest).decode("ascii")


class SignatureVerifier:
    """Checks V3 and RPC signatures against the credentials the emulator was started with.

    Thread-safe; remembers recent nonces to refuse replays.
    """

    def __init__(
        self,
        credentials: Mapping[str, str],
        *,
        clock: Callable[[], float] = time.time,
        remembered_nonces: int = 100_000,
    ) -> None:
        self._credentials = dict(credentials)
        self._clock = clock
        self._nonces: OrderedDict[str, None] = OrderedDict()
        self._remembered_nonces = remembered_nonces
        self._lock = threading.Lock()

    def verify(self, request: IncomingRequest) -> VerifiedRequest:
        """Return who signed ``request`` or raise the error the real gateway answers with."""
        authorization = request.header("authorization")
        if authorization is not None and authorization.startswith("ACS3-"):
            return self._verify_v3(request, authorization)
        if request.query_value("Signature") is not None:
            return self._verify_v2(request)
        raise IncompleteSignatureError(
            "The request signature does not conform to Aliyun standards: no Authorization header and no "
            "Signature parameter."
        )

    def _verify_v3(self, request: IncomingRequest, authorization: str) -> VerifiedRequest:
        algorithm, credential, signed_headers, signature = _parse_v3_authorization(authorization)
        if algorithm != V3_ALGORITHM:
            raise IncompleteSignatureError(
                f"Signature algorithm {algorithm} is not supported; use {V3_ALGORITHM}."
            )
        secret = self._secret(credential)
        missing = [name for name in _REQUIRED_V3_HEADERS if name not in signed_headers]
        if missing:
            raise IncompleteSignatureError(f"SignedHeaders must include {', '.join(missing)}.")
        self._check_timestamp(request.header("x-acs-date"), "x-acs-date")
        nonce = request.header("x-acs-signature-nonce") or ""
        canonical = v3_canonical_request(request, sorted(signed_headers))
        string_to_sign, expected = v3_signature(secret, canonical)
        if not hmac.compare_digest(expected, signature):
            raise SignatureDoesNotMatchError(
                "Specified signature does not match our calculation. The server string to sign is: "
                f"{string_to_sign!r}; the canonical request is: {canonical!r}"
            )
        self._remember_nonce(nonce)
        return VerifiedRequest(credential, "v3")

    def _verify_v2(self, request: IncomingRequest) -> VerifiedRequest:
        access_key_id = request.query_value("AccessKeyId")
        if not access_key_id:
            raise IncompleteSignatureError("The AccessKeyId parameter is missing.")
        secret = self._secret(access_key_id)
        method = request.query_value("SignatureMethod")
        if method != "HMAC-SHA1":
            raise IncompleteSignatureError(f"SignatureMethod {method!r} is not supported; use HMAC-SHA1.")
        self._check_timestamp(request.query_value("Timestamp"), "Timestamp")
        signed = [(key, value) for key, value in request.query if key != "Signature"]
        string_to_sign, expected = v2_signature(secret, request.method, signed)
        if not hmac.compare_digest(expected, request.query_value("Signature") or ""):
            raise SignatureDoesNotMatchError(
                "Specified signature is not matched with our calculation. "
                f"server string to sign is:{string_to_sign}"
            )
        self._remember_nonce(request.query_value("SignatureNonce") or "")
        return VerifiedRequest(access_key_id, "v2")

    def _secret(self, access_key_id: str) -> str:
        secret = self._credentials.get(access_key_id)
        if secret is None:
            raise AccessKeyNotFoundError("Specified access key is not found.")
        return secret

    def _check_timestamp(self, value: str | None, what: str) -> None:
        if not value:
            raise MseApiError(
                "MissingParameter", f"The input parameter {what} that is mandatory is not supplied.", 400
            )
        try:
            sent = calendar.timegm(time.strptime(value, _TIMESTAMP_FORMAT))
        except ValueError as error:
            raise MseApiError(
                "InvalidTimeStamp.Format",
                f"Specified time stamp {value!r} is not in {_TIMESTAMP_FORMAT}.",
                400,
            ) from error
        if abs(self._clock() - sent) > MAX_CLOCK_SKEW_SECONDS:
            raise TimestampExpiredError(f"Specified time stamp {value} is more than 15 minutes away.")

    def _remember_nonce(self, nonce: str) -> None:
        if not nonce:
            raise IncompleteSignatureError("The signature nonce is missing.")
        with self._lock:
            if nonce in self._nonces:
                raise SignatureNonceUsedError("Specified signature nonce was used already.")
            self._nonces[nonce] = None
            while len(self._nonces) > self._remembered_nonces:
                self._nonces.popitem(last=False)


def _parse_v3_authorization(authorization: str) -> tuple[str, str, list[str], str]:
    algorithm, _, rest = authorization.partition(" ")
    fields = dict(part.strip().partition("=")[::2] for part in rest.split(",") if "=" in part)
    credential = fields.get("Credential", "")
    signature = fields.get("Signature", "")
    signed_headers = [
        name.strip().lower() for name in fields.get("SignedHeaders", "").split(";") if name.strip()
    ]
    if not credential or not signature or not signed_headers:
        raise IncompleteSignatureError(
            "The Authorization header needs Credential, SignedHeaders and Signature."
        )
    return algorithm, credential, signed_headers, signature
