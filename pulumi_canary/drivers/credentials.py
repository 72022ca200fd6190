"""Alibaba Cloud credentials, resolved per operation.

The explicit sources come first, in the order pulumi-alicloud users know: the stack config keys
``alicloud:accessKey`` / ``alicloud:secretKey`` / ``alicloud:securityToken``, then the variables
``ALIBABA_CLOUD_ACCESS_KEY_ID`` / ``..._SECRET`` / ``..._SECURITY_TOKEN`` (or their ``ALICLOUD_*``
aliases). When none is set, the official default chain of ``alibabacloud-credentials`` finds them (RRSA
on ACK, the CLI profile, the credentials file, the ECS RAM role...), and the SDK gets it as
``Config(credential=...)``.

Secrets are never stored on a provider instance (which is pickled into the state), never put in outputs,
and never printed: ``repr`` hides them, and the chain lives in this process's memory only.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import ConfigurationError

if TYPE_CHECKING:
    from alibabacloud_credentials.client import Client as CredentialClient

ENV_ACCESS_KEY_ID = ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALICLOUD_ACCESS_KEY")
ENV_ACCESS_KEY_SECRET = ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALICLOUD_SECRET_KEY")
ENV_SECURITY_TOKEN = ("ALIBABA_CLOUD_SECURITY_TOKEN", "ALICLOUD_SECURITY_TOKEN")

# The chain reads every ALIBABA_CLOUD_* variable, and finds its profile files under HOME.
CHAIN_VARIABLE_PREFIX = "ALIBABA_CLOUD_"
CHAIN_HOME_VARIABLES = ("HOME", "HOMEPATH", "HOMEDRIVE")
CHAIN_LOGGER = "credentials"

SOURCES_TRIED = (
    "the Pulumi config keys alicloud:accessKey and alicloud:secretKey (and alicloud:securityToken)",
    "the variables ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET (and "
    "ALIBABA_CLOUD_SECURITY_TOKEN; or ALICLOUD_ACCESS_KEY, ALICLOUD_SECRET_KEY, ALICLOUD_SECURITY_TOKEN)",
    "RRSA (OIDC) on ACK: ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN and "
    "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
    "the Alibaba Cloud CLI profile ~/.aliyun/config.json (`aliyun configure`; ALIBABA_CLOUD_PROFILE "
    "picks the profile)",
    "the credentials file ~/.alibabacloud/credentials.ini or ALIBABA_CLOUD_CREDENTIALS_FILE (section "
    "ALIBABA_CLOUD_PROFILE, by default [default])",
    "the ECS RAM role of this instance, from the metadata service 100.100.100.200 "
    "(ALIBABA_CLOUD_ECS_METADATA names the role)",
    "ALIBABA_CLOUD_CREDENTIALS_URI, a URL that answers credentials",
)
NO_CREDENTIALS = (
    "no Alibaba Cloud credentials found. Tried, in order: "
    + "; ".join(f"({number}) {source}" for number, source in enumerate(SOURCES_TRIED, start=1))
    + ". Set one of them, e.g. `pulumi config set alicloud:accessKey ...` and "
    "`pulumi config set --secret alicloud:secretKey ...`"
)
# The chain's own summary starts so; what follows is one reason per source it tried.
CHAIN_FAILURE_PREFIX = "unable to load credentials from any of the providers in the chain: "


def first_set(config: Mapping[str, str], key: str, env_names: tuple[str, ...]) -> str | None:
    if config.get(key):
        return config[key]
    for name in env_names:
        if os.environ.get(name):
            return os.environ[name]
    return None


@dataclass(frozen=True)
class AlibabaCredentials:
    """An explicit AccessKey pair (and STS token), or, when all three are None, the default chain.

    ``AlibabaCredentials("LTAI...", "secret")`` uses that pair; ``AlibabaCredentials()`` asks the chain.
    """

    access_key_id: str | None = None
    access_key_secret: str | None = field(default=None, repr=False)
    security_token: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if (self.access_key_id is None) != (self.access_key_secret is None):
            raise ValueError("an AccessKey needs both its id and its secret")

    @classmethod
    def resolve(cls, config: Mapping[str, str]) -> AlibabaCredentials:
        """pulumi-alicloud's config keys first, then the standard variables; else the default chain.

        Reads only the config and the environment (no I/O): the chain is asked when the first call
        needs it (see ``sdk_credential``)."""
        key_id = first_set(config, "alicloud:accessKey", ENV_ACCESS_KEY_ID)
        secret = first_set(config, "alicloud:secretKey", ENV_ACCESS_KEY_SECRET)
        if key_id and secret:
            token = first_set(config, "alicloud:securityToken", ENV_SECURITY_TOKEN)
            return cls(access_key_id=key_id, access_key_secret=secret, security_token=token)
        if key_id or secret:
            # Half a pair is a mistake; falling through to the chain would hide it behind other keys.
            missing = "alicloud:secretKey or ALIBABA_CLOUD_ACCESS_KEY_SECRET" if key_id else (
                "alicloud:accessKey or ALIBABA_CLOUD_ACCESS_KEY_ID"
            )
            raise ConfigurationError(f"half an Alibaba Cloud AccessKey is set: set {missing} as well")
        return cls()

    @property
    def uses_default_chain(self) -> bool:
        return self.access_key_id is None

    def sdk_credential(self) -> CredentialClient:
        """What ``alibabacloud_tea_openapi.models.Config(credential=...)`` takes. For the chain, asks it
        once now, so that finding nothing is one ``ConfigurationError`` rather than an SDK traceback in
        the middle of a call."""
        from alibabacloud_credentials.client import Client as CredentialClient
        from alibabacloud_credentials.models import Config as CredentialConfig

        if self.access_key_id is not None:
            kind = "sts" if self.security_token else "access_key"
            return CredentialClient(
                CredentialConfig(
                    type=kind,
                    access_key_id=self.access_key_id,
                    access_key_secret=self.access_key_secret,
                    security_token=self.security_token,
                )
            )
        return checked(default_chain())


def checked(chain: CredentialClient) -> CredentialClient:
    """``chain`` once it has found credentials (it keeps them, and refreshes STS tokens, for the SDK)."""
    from alibabacloud_credentials.exceptions import CredentialException

    quiet_chain_logs_filter()
    try:
        with chain_logs_quiet():
            chain.get_credential()
    except CredentialException as error:
        reported = chain_reasons(error.message)
        raise ConfigurationError(f"{NO_CREDENTIALS}. The chain reported: {reported}") from None
    return chain


def chain_reasons(message: object) -> str:
    """The chain's one reason per source, as a sentence (it prints them as a Python list)."""
    import ast

    text = str(message).removeprefix(CHAIN_FAILURE_PREFIX)
    try:
        reasons = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
    return "; ".join(map(str, reasons)) if isinstance(reasons, list) else text


def default_chain() -> CredentialClient:
    return chain_for_environment(chain_environment())


def chain_environment() -> tuple[tuple[str, str], ...]:
    """Every variable the chain reads: a changed environment (a test, a CLI) gets a new chain."""
    return tuple(
        sorted(
            (name, value)
            for name, value in os.environ.items()
            if name.startswith(CHAIN_VARIABLE_PREFIX) or name in CHAIN_HOME_VARIABLES
        )
    )


@functools.lru_cache(maxsize=1)
def chain_for_environment(environment: tuple[tuple[str, str], ...]) -> CredentialClient:
    """One chain per process and environment, in memory only: it keeps what it fetched (an STS token
    from RRSA or the ECS role) until it expires, where a chain per operation would ask STS or the metadata
    service every time, and start one more refresh thread (one per ECS RAM role provider) every time."""
    import importlib

    from alibabacloud_credentials.client import Client as CredentialClient
    from alibabacloud_credentials.utils import auth_constant, auth_util

    del environment  # the cache key; the chain reads os.environ itself
    # The package reads its variables (and HOME) once, when first imported: read them again now.
    importlib.reload(auth_util)
    importlib.reload(auth_constant)
    return CredentialClient()


_probing = threading.local()


class _QuietWhileProbing(logging.Filter):
    """Each source of the chain that fails logs a warning and a traceback to stderr (the package adds its
    own handler); while this thread looks for credentials, ``checked`` says it all in one message."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(_probing, "active", False)


@functools.cache
def quiet_chain_logs_filter() -> None:
    """Installed once; it silences nothing outside ``chain_logs_quiet`` (later refreshes still warn)."""
    logging.getLogger(CHAIN_LOGGER).addFilter(_QuietWhileProbing())


@contextmanager
def chain_logs_quiet() -> Iterator[None]:
    _probing.active = True
    try:
        yield
    finally:
        _probing.active = False
