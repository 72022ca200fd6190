"""How to reach a Kubernetes API: resolved per operation, never stored on a provider instance."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import PreconditionError

if TYPE_CHECKING:
    from lightkube import Client

FIELD_MANAGER = "pulumi-canary"


@dataclass(frozen=True)
class KubeAccess:
    """Where the kubeconfig comes from: a file path or the file's content, and an optional context.

    ``repr`` hides the content: it can hold bearer tokens and client keys.
    """

    path: str | None = None
    content: str | None = field(default=None, repr=False)
    context: str | None = None

    @classmethod
    def resolve(cls, config: Mapping[str, str]) -> KubeAccess:
        """pulumi-kubernetes' config keys first (as its users set them), then ``KUBECONFIG``."""
        kubeconfig = config.get("kubernetes:kubeconfig") or ""
        context = config.get("kubernetes:context") or None
        if kubeconfig.strip().startswith(("apiVersion", "{", "clusters", "kind")):
            return cls(content=kubeconfig, context=context)
        if kubeconfig:
            return cls(path=kubeconfig, context=context)
        from_env = os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
        default = Path.home() / ".kube" / "config"
        return cls(path=from_env or (str(default) if default.exists() else None), context=context)

    def client(self) -> Client:
        from lightkube import Client, KubeConfig
        from lightkube.core.exceptions import ConfigError

        try:
            if self.content is not None:
                import yaml

                config = KubeConfig.from_dict(yaml.safe_load(self.content))
            elif self.path is not None:
                config = KubeConfig.from_file(self.path)
            else:
                raise PreconditionError(
                    "no Kubernetes credentials: set KUBECONFIG or the Pulumi config key kubernetes:kubeconfig"
                )
            return Client(config=config.get(context_name=self.context), field_manager=FIELD_MANAGER)
        except (ConfigError, OSError) as error:
            where = self.path or "kubernetes:kubeconfig"
            raise PreconditionError(f"cannot load the kubeconfig from {where}: {error}") from error


def api_error_status(error: Any) -> int:
    status = getattr(error, "status", None)
    code = getattr(status, "code", None)
    return int(code) if code is not None else 0
