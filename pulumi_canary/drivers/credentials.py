"""Alibaba Cloud credentials, read per operation from the stack config or the environment.

They are never stored on a provider instance (which is pickled into the state), never put in outputs,
and never printed: ``repr`` hides the secret.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..errors import ConfigurationError

ENV_ACCESS_KEY_ID = ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALICLOUD_ACCESS_KEY")
ENV_ACCESS_KEY_SECRET = ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALICLOUD_SECRET_KEY")
ENV_SECURITY_TOKEN = ("ALIBABA_CLOUD_SECURITY_TOKEN", "ALICLOUD_SECURITY_TOKEN")


def first_set(config: Mapping[str, str], key: str, env_names: tuple[str, ...]) -> str | None:
    if config.get(key):
        return config[key]
    for name in env_names:
        if os.environ.get(name):
            return os.environ[name]
    return None


@dataclass(frozen=True)
class AlibabaCredentials:
    """An AccessKey pair (and STS token): pulumi-alicloud's config keys first, then the standard variables."""

    access_key_id: str
    access_key_secret: str = field(repr=False)
    security_token: str | None = field(default=None, repr=False)

    @classmethod
    def resolve(cls, config: Mapping[str, str]) -> AlibabaCredentials:
        key_id = first_set(config, "alicloud:accessKey", ENV_ACCESS_KEY_ID)
        secret = first_set(config, "alicloud:secretKey", ENV_ACCESS_KEY_SECRET)
        if not key_id or not secret:
            raise ConfigurationError(
                "no Alibaba Cloud credentials: set ALIBABA_CLOUD_ACCESS_KEY_ID and "
                "ALIBABA_CLOUD_ACCESS_KEY_SECRET, or `pulumi config set alicloud:accessKey ...` and "
                "`pulumi config set --secret alicloud:secretKey ...`"
            )
        token = first_set(config, "alicloud:securityToken", ENV_SECURITY_TOKEN)
        return cls(access_key_id=key_id, access_key_secret=secret, security_token=token)
