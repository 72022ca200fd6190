"""The SDK boundary: one gateway's official ``alibabacloud-mse20190531`` client and every call through it.

The SDK is imported on first use, never at import time. Every call is retried with backoff when the
failure is transient (see :mod:`.errors`); reads are answered again from memory until a write of the same
family (see :mod:`...memo`). The SDK's timeouts are set explicitly (connect 5 s, read 15 s);
``PULUMI_CANARY_MSE_READ_TIMEOUT_SECONDS`` overrides the read timeout (slow links, tests).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ...model import MseGatewaySpec
from ..credentials import AlibabaCredentials
from ..memo import ReadMemo
from ..retry import with_retries
from .errors import call_target, failed_body, no_answer, refused

if TYPE_CHECKING:
    from alibabacloud_mse20190531.client import Client

CONNECT_TIMEOUT_MS = 5_000
READ_TIMEOUT_MS = 15_000
READ_TIMEOUT_ENV = "PULUMI_CANARY_MSE_READ_TIMEOUT_SECONDS"
READ_PREFIXES = ("Get", "List")
PAGE_SIZE = 100


def read_timeout_ms() -> int:
    raw = os.environ.get(READ_TIMEOUT_ENV, "")
    try:
        seconds = float(raw)
    except ValueError:
        return READ_TIMEOUT_MS
    return int(seconds * 1000) if seconds > 0 else READ_TIMEOUT_MS


def read_family(action: str) -> str:
    """What a write can change and a read can see: ``route`` (routes) or ``service`` (services, their
    versions, service sources)."""
    return "route" if "Route" in action else "service"


def sdk_method_name(action: str) -> str:
    """``GetGatewayRouteDetail`` -> ``get_gateway_route_detail``."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in action).lstrip("_")


class MseApi:
    """Calls to one gateway's API; builds an SDK client on first use, with this operation's credentials
    (see ``AlibabaCredentials.sdk_credential``; never pickled)."""

    def __init__(
        self, gateway: MseGatewaySpec, credentials: AlibabaCredentials, sleep: Callable[[float], None]
    ) -> None:
        self.gateway = gateway
        self._credentials = credentials
        self._sleep = sleep
        self._client: Client | None = None
        self._reads = ReadMemo()

    @property
    def uses_default_chain(self) -> bool:
        """Whether the credentials come from the default chain (no keys were set)."""
        return self._credentials.uses_default_chain

    def base(self) -> dict[str, Any]:
        """The parameter every call of this gateway carries."""
        return {"GatewayUniqueId": self.gateway.gateway_id}

    def client(self) -> Client:
        if self._client is None:
            from alibabacloud_mse20190531.client import Client
            from alibabacloud_tea_openapi.models import Config

            config = Config(
                credential=self._credentials.sdk_credential(),
                region_id=self.gateway.region,
                endpoint=self.gateway.endpoint_host() or f"mse.{self.gateway.region}.aliyuncs.com",
                protocol=self.gateway.endpoint_protocol(),
                connect_timeout=CONNECT_TIMEOUT_MS,
                read_timeout=read_timeout_ms(),
            )
            self._client = Client(config)
        return self._client

    def call(self, action: str, params: Mapping[str, Any], *, fresh: bool = False) -> Any:
        """Call ``action`` with wire-shaped ``params``; returns the response body's ``Data``.

        Reads are answered again from memory (see ``memo``) until this driver writes something of the
        same family: routes, or services and their versions. ``fresh`` asks the gateway anyway."""

        def once() -> Any:
            return with_retries(lambda: self._call_once(action, params), sleep=self._sleep)

        if not action.startswith(READ_PREFIXES):
            family = read_family(action)
            self._reads.forget(keep=lambda key: read_family(str(key[0])) != family)
            return once()
        return self._reads.read((action, json.dumps(params, sort_keys=True)), once, fresh=fresh)

    def pages(self, action: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Every item of a paged listing."""
        items: list[dict[str, Any]] = []
        page = 1
        while True:
            data = self.call(action, {**params, "PageNumber": page, "PageSize": PAGE_SIZE}) or {}
            batch = data.get("Result") or []
            items.extend(batch)
            if not batch or len(items) >= int(data.get("TotalSize") or 0):
                return items
            page += 1

    def _call_once(self, action: str, params: Mapping[str, Any]) -> Any:
        from alibabacloud_mse20190531 import models
        from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
        from darabonba.exceptions import UnretryableException

        request = getattr(models, f"{action}Request")().from_map(dict(params))
        target = call_target(self.gateway.gateway_id, params)
        try:
            response = getattr(self.client(), sdk_method_name(action))(request)
        except AlibabaCloudException as error:
            raise refused(error, action, target) from error
        except UnretryableException as error:
            endpoint = self.gateway.endpoint or f"mse.{self.gateway.region}.aliyuncs.com"
            raise no_answer(error, action, target, endpoint) from error
        body = response.body.to_map()
        failure = failed_body(body, action, target)
        if failure is not None:
            raise failure
        return body.get("Data")
