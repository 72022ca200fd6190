"""How to reach a Kubernetes API: resolved per operation, never stored on a provider instance."""

from __future__ import annotations

import functools
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
        if is_kubeconfig_content(kubeconfig):
            return cls(content=kubeconfig, context=context)
        if kubeconfig:
            return cls(path=kubeconfig, context=context)
        from_env = os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
        default = Path.home() / ".kube" / "config"
        return cls(path=from_env or (str(default) if default.exists() else None), context=context)

    def client(self) -> Client:
        """A client for this kubeconfig, shared by the operations of this process while the kubeconfig
        stays the same (its content is the key): a new client costs a YAML parse, a TLS context and a
        TLS handshake, more than the calls most operations make."""
        from lightkube.core.exceptions import ConfigError

        where = self.path or "the Pulumi config key kubernetes:kubeconfig"
        try:
            if self.content is not None:
                return shared_client(self.content, None, self.context)
            if self.path is not None:
                path = Path(self.path).expanduser()
                return shared_client(path.read_text(), str(path), self.context)
            raise PreconditionError(
                "no Kubernetes credentials: set KUBECONFIG or the Pulumi config key kubernetes:kubeconfig"
            )
        except (ConfigError, OSError) as error:
            raise PreconditionError(f"cannot load the kubeconfig from {where}: {error}") from error
        except (KeyError, TypeError, AttributeError) as error:
            raise PreconditionError(
                f"the kubeconfig from {where} is not a kubeconfig (it needs clusters, contexts and users): "
                f"{type(error).__name__} {error}"
            ) from None


@functools.lru_cache(maxsize=4)
def shared_client(content: str, path: str | None, context: str | None) -> Client:
    """Held in this process's memory only (never on a provider, which is pickled into the state)."""
    from lightkube import Client, KubeConfig

    where = path or "the Pulumi config key kubernetes:kubeconfig"
    fname = Path(path) if path is not None else None
    config = KubeConfig.from_dict(parse_kubeconfig(content, where), fname=fname)
    return Client(config=config.get(context_name=context), field_manager=FIELD_MANAGER)


def is_kubeconfig_content(value: str) -> bool:
    """The config key holds either a path or the file itself (as pulumi-kubernetes accepts both)."""
    text = value.strip()
    # A path has no line breaks and no "key: value"; treating content as a path would quote it in errors.
    return "\n" in text or ": " in text or text.startswith(("apiVersion", "{", "clusters", "kind", "---"))


def parse_kubeconfig(content: str, where: str = "the Pulumi config key kubernetes:kubeconfig") -> Any:
    """YAML errors name the line, never quote it: the content holds tokens and keys."""
    import yaml

    # libyaml's loader when the wheel has it: the pure-Python one costs milliseconds per operation.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(content, Loader=loader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise PreconditionError(
            f"the kubeconfig from {where} is not valid YAML{line}: {problem}"
        ) from None


def api_error_status(error: Any) -> int:
    status = getattr(error, "status", None)
    code = getattr(status, "code", None)
    return int(code) if code is not None else 0
