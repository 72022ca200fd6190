"""The Kubernetes transport: how to reach the API, and what its answers mean to pulumi-canary.

The kubeconfig is resolved per operation and never stored on a provider instance. Every lightkube call
goes through ``kube_call``, the one place that turns an HTTP status (or a network failure) into an
exception of ``errors``; ``apply_conflict`` turns a refused server-side apply into an ``OwnershipError``.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import ConfigurationError, OwnershipError, PermanentApiError, TransientApiError

if TYPE_CHECKING:
    from lightkube import Client

T = TypeVar("T")

FIELD_MANAGER = "pulumi-canary"
_CONFLICT_MANAGER = re.compile(r'conflicts? with "([^"]+)"')


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
            raise ConfigurationError(
                "no Kubernetes credentials: set KUBECONFIG or the Pulumi config key kubernetes:kubeconfig"
            )
        except (ConfigError, OSError) as error:
            raise ConfigurationError(f"cannot load the kubeconfig from {where}: {error}") from error
        except (KeyError, TypeError, AttributeError) as error:
            raise ConfigurationError(
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
        raise ConfigurationError(f"the kubeconfig from {where} is not valid YAML{line}: {problem}") from None


def api_error_status(error: Any) -> int:
    status = getattr(error, "status", None)
    code = getattr(status, "code", None)
    return int(code) if code is not None else 0


def kube_call(operation: str, target: str, action: Any) -> Any:
    """Run one lightkube call (no retry), turning its errors into ours (transient or permanent)."""
    import httpx2 as httpx
    from lightkube import ApiError

    try:
        return action()
    except ApiError as error:
        status = api_error_status(error)
        message = getattr(error.status, "message", str(error))
        kind = TransientApiError if status in (409, 429) or status >= 500 else PermanentApiError
        raise kind(
            f"Kubernetes API refused: {message}", operation=operation, target=target, status=status
        ) from error
    except (OSError, httpx.TransportError) as error:  # connection refused, DNS, TLS, timeouts
        raise TransientApiError(
            f"cannot reach the Kubernetes API: {error or type(error).__name__}",
            operation=operation,
            target=target,
        ) from error


def missing_is_none(action: Callable[[], T]) -> Callable[[], T | None]:
    """``action``, except that a 404 answers None."""
    from lightkube import ApiError

    def run() -> T | None:
        try:
            return action()
        except ApiError as error:
            if api_error_status(error) == 404:
                return None
            raise

    return run


# ---- server-side apply conflicts -------------------------------------------------------------------


def apply_conflict(
    error: Any, kind: str, namespace: str, name: str, fields: str = "the traffic weights"
) -> OwnershipError | None:
    """The ``OwnershipError`` for a server-side apply refused because another field manager owns a field
    pulumi-canary writes (``fields`` says which, for the message); None for any other error. A 409
    without such causes is a write that raced another, which ``kube_call`` leaves to a retry."""
    causes = conflict_causes(error) if api_error_status(error) == 409 else []
    if not causes:
        return None
    return OwnershipError(conflict_message(kind, namespace, name, causes, fields))


def conflict_message(
    kind: str,
    namespace: str,
    name: str,
    causes: Sequence[tuple[str, str]],
    fields: str = "the traffic weights",
) -> str:
    """A plain sentence for an SSA conflict: which manager owns which field, and what to do."""
    owned = "; ".join(
        f"{field or 'a field'} is owned by field manager {manager!r}" for field, manager in causes
    )
    return (
        f"{kind} {namespace}/{name}: {owned}. pulumi-canary sets these fields ({fields}) and does "
        "not force its way over another owner: stop the other tool from managing them (or remove its claim), "
        "then run `pulumi up` again; `pulumi refresh` shows the values that are live now"
    )


def conflict_causes(error: Any) -> list[tuple[str, str]]:
    """(field, manager) for each FieldManagerConflict cause of a 409 from server-side apply."""
    details = getattr(error.status, "details", None)
    causes = getattr(details, "causes", None) or []
    found = []
    for cause in causes:
        if getattr(cause, "reason", "") != "FieldManagerConflict":
            continue
        manager = _CONFLICT_MANAGER.search(getattr(cause, "message", "") or "")
        found.append((getattr(cause, "field", "") or "", manager.group(1) if manager else "another manager"))
    return found
