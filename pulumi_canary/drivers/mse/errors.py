"""The one mapping from a failed MSE call to the exception classes of :mod:`pulumi_canary.errors`.

An MSE call fails in three shapes: the SDK raises ``AlibabaCloudException`` (an HTTP error answer:
:func:`refused`), it raises ``UnretryableException`` (no usable answer at all: :func:`no_answer`), or the
answer is HTTP 200 with ``Success: false`` (:func:`failed_body`). Each becomes a ``TransientApiError``
(retried with backoff) or a ``PermanentApiError``; :func:`is_not_found` says which of those mean the
object is gone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ...errors import ApiError, PermanentApiError, TransientApiError

if TYPE_CHECKING:
    from alibabacloud_tea_openapi.exceptions import AlibabaCloudException

# Error codes that say "try again later" whatever the HTTP status (MSE answers some with 400 or 200).
TRANSIENT_CODE_PREFIXES = (
    "Throttling",
    "ServiceUnavailable",
    "InternalError",
    "SystemBusy",
    "System.Busy",
    "RequestTimeout",
    "Busy",
)
NOT_FOUND_CODES = ("NotFound", "404")


def is_transient(status: int | None, code: str) -> bool:
    """Whether an MSE failure is worth retrying: 5xx, 408/429, or a throttling/busy error code."""
    if status is not None and (status >= 500 or status in (408, 429)):
        return True
    return code.startswith(TRANSIENT_CODE_PREFIXES)


def is_not_found(error: ApiError) -> bool:
    return error.status == 404 or error.code in NOT_FOUND_CODES or error.code.startswith("NotFound")


def known(value: Any) -> str:
    """The SDK formats missing values as the text ``None``."""
    return "" if value in (None, "", "None") else str(value)


def call_target(gateway_id: str, params: Mapping[str, Any]) -> str:
    """The object a call is about, for error messages: the gateway plus the route or service."""
    parts = [f"gateway {gateway_id}"]
    route = params.get("RouteId", params.get("Id"))
    if route is not None:
        parts.append(f"route {route}")
    if params.get("ServiceId") is not None:
        parts.append(f"service {params['ServiceId']}")
    if params.get("Name"):
        parts.append(f"name {params['Name']}")
    return ", ".join(parts)


def api_error(
    action: str,
    target: str,
    message: str,
    *,
    code: str,
    status: int | None,
    request_id: str,
    throttled: bool = False,
    retry_after_ms: Any = None,
) -> ApiError:
    """Our error for a refused MSE call: transient (retried) or permanent, saying what to do next."""
    if throttled or is_transient(status, code):
        asked = isinstance(retry_after_ms, int | float) and retry_after_ms > 0
        wait = retry_after_ms / 1000 if asked else None
        return TransientApiError(
            f"MSE {action} failed: {message}; retried with backoff: run `pulumi up` again later if it "
            "keeps failing",
            operation=action,
            target=target,
            code=code,
            status=status,
            request_id=request_id,
            retry_after_seconds=wait,
        )
    return PermanentApiError(
        f"MSE {action} was refused: {message}; fix the cause (permissions, gateway, parameters) and run "
        "`pulumi up` again, quoting the request id to Alibaba Cloud support if it is unclear",
        operation=action,
        target=target,
        code=code,
        status=status,
        request_id=request_id,
    )


def refused(error: AlibabaCloudException, action: str, target: str) -> ApiError:
    """An error answer: ClientException (4xx), ServerException (5xx), ThrottlingException
    (``x-acs-retry-after``)."""
    from alibabacloud_tea_openapi.exceptions import ThrottlingException

    data = error.data if isinstance(error.data, Mapping) else {}
    return api_error(
        action,
        target,
        str(data.get("Message") or error.message),
        code=str(error.code or ""),
        status=error.status_code,
        request_id=known(error.request_id) or known(data.get("RequestId")),
        throttled=isinstance(error, ThrottlingException),
        retry_after_ms=getattr(error, "retry_after", None),
    )


def no_answer(error: Exception, action: str, target: str, endpoint: str) -> TransientApiError:
    """Connection refused, DNS, TLS, timeouts, or an answer that is not JSON (a proxy's error page)."""
    return TransientApiError(
        f"MSE {action} got no usable answer from {endpoint}: {error}; "
        "retried with backoff: check the network or the endpoint, then run `pulumi up` again",
        operation=action,
        target=target,
    )


def failed_body(body: Mapping[str, Any], action: str, target: str) -> ApiError | None:
    """The second failure shape: HTTP 200 with ``Success: false``, which the SDK does not raise."""
    if body.get("Success") is not False:
        return None
    status = body.get("HttpStatusCode") or body.get("Code")
    return api_error(
        action,
        target,
        str(body.get("Message") or "no message"),
        code=str(body.get("ErrorCode") or body.get("Code") or ""),
        status=int(status) if isinstance(status, int | str) and str(status).isdigit() else None,
        request_id=str(body.get("RequestId") or ""),
    )
