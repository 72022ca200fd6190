"""Errors the emulated MSE API returns, one class per documented error code.

::

    MseApiError                     code, message, http_status, soft
    ├── InvalidParameterError       400 InvalidParameter  "Parameter error:%s"
    ├── IllegalRequestError         400 IllegalRequest    "Invalid request:%s"
    ├── NoPermissionError           403 NoPermission      "You are not authorized to perform this ..."
    ├── NotFoundError               404 NotFound          "Not found:%s"
    ├── InternalError               500 InternalError     "Console error. Try again later:%s"
    ├── BusinessError               soft: HTTP 200, ``Success:false``, integer ``Code``, ``ErrorCode``
    └── gateway (signature) errors, raised before an action runs
        ├── IncompleteSignatureError    400 IncompleteSignature
        ├── SignatureDoesNotMatchError  400 SignatureDoesNotMatch
        ├── SignatureNonceUsedError     400 SignatureNonceUsed
        ├── TimestampExpiredError       400 InvalidTimeStamp.Expired
        ├── InvalidVersionError         400 InvalidVersion
        ├── AccessKeyNotFoundError      404 InvalidAccessKeyId.NotFound
        └── ActionNotFoundError         404 InvalidAction.NotFound

A "hard" error becomes failure shape (1): an HTTP 4xx/5xx response whose JSON body carries the string
code, which makes the Alibaba SDK raise. A "soft" error becomes failure shape (2): HTTP 200 with
``Success:false`` and an integer ``Code``, which the SDK hands back without raising.
"""

from __future__ import annotations


class MseApiError(Exception):
    """An error response of the emulated API: ``code`` (string), ``message``, ``http_status``, ``soft``."""

    def __init__(self, code: str, message: str, http_status: int, *, soft: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status
        self.soft = soft


class _DocumentedError(MseApiError):
    """Base of the codes MSE documents for every action; the message follows the real template."""

    CODE = ""
    HTTP_STATUS = 400
    TEMPLATE = "%s"

    def __init__(self, detail: str) -> None:
        super().__init__(self.CODE, self.TEMPLATE % detail, self.HTTP_STATUS)


class InvalidParameterError(_DocumentedError):
    """A parameter is missing, malformed, or contradicts the current state (HTTP 400)."""

    CODE = "InvalidParameter"
    TEMPLATE = "Parameter error:%s"


class IllegalRequestError(_DocumentedError):
    """The request is well formed but not allowed in the resource's current state (HTTP 400)."""

    CODE = "IllegalRequest"
    TEMPLATE = "Invalid request:%s"


class NoPermissionError(_DocumentedError):
    """The caller may not perform this operation (HTTP 403)."""

    CODE = "NoPermission"
    HTTP_STATUS = 403
    TEMPLATE = "You are not authorized to perform this operation:%s"


class NotFoundError(_DocumentedError):
    """A gateway, service source, service, version or route does not exist (HTTP 404)."""

    CODE = "NotFound"
    HTTP_STATUS = 404
    TEMPLATE = "Not found:%s"


class InternalError(_DocumentedError):
    """The service failed (HTTP 500), e.g. the connected cluster could not be read."""

    CODE = "InternalError"
    HTTP_STATUS = 500
    TEMPLATE = "Console error. Try again later:%s"


class BusinessError(MseApiError):
    """A business rule refused the request: answered with HTTP 200 and ``Success:false``.

    The real API reports conflicts with existing resources this way (for example a route whose match
    conditions duplicate another route's), so callers must check ``Success`` even when nothing raised.
    ``code`` goes to the body's ``ErrorCode``; ``http_status`` becomes the integer ``Code``.
    """

    def __init__(self, error_code: str, detail: str, code: int = 400) -> None:
        super().__init__(error_code, f"Parameter error:{detail}", code, soft=True)


class _GatewayError(MseApiError):
    CODE = ""
    HTTP_STATUS = 400

    def __init__(self, message: str) -> None:
        super().__init__(self.CODE, message, self.HTTP_STATUS)


class IncompleteSignatureError(_GatewayError):
    """The request carries no usable signature (no Authorization header or Signature parameter)."""

    CODE = "IncompleteSignature"


class SignatureDoesNotMatchError(_GatewayError):
    """The signature differs from the one computed with the stored secret."""

    CODE = "SignatureDoesNotMatch"


class SignatureNonceUsedError(_GatewayError):
    """The signature nonce was seen before: a replayed request."""

    CODE = "SignatureNonceUsed"


class TimestampExpiredError(_GatewayError):
    """The request's timestamp is more than 15 minutes away from the server's clock."""

    CODE = "InvalidTimeStamp.Expired"


class InvalidVersionError(_GatewayError):
    """The API version is not 2019-05-31."""

    CODE = "InvalidVersion"


class AccessKeyNotFoundError(_GatewayError):
    """The AccessKeyId is not one the emulator was started with (HTTP 404, like the real gateway)."""

    CODE = "InvalidAccessKeyId.NotFound"
    HTTP_STATUS = 404


class ActionNotFoundError(_GatewayError):
    """The action is not implemented by the emulator (HTTP 404, like the real gateway)."""

    CODE = "InvalidAction.NotFound"
    HTTP_STATUS = 404
