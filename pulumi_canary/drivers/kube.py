"""The Kubernetes transport: how to reach the API, and what its answers mean to pulumi-canary.

The kubeconfig is resolved per operation and never stored on a provider instance. Every lightkube call
goes through ``kube_call``, the one place that turns an HTTP status (or a network failure) into an
exception of ``errors``; ``apply_conflict`` turns a refused server-side apply into an ``OwnershipError``.
"""

from __future__ import annotations

import functools
import os
import re
import threading
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


_priming = threading.Lock()

# The kubelet mounts a pod's service account here (lightkube's default too); tests point it elsewhere.
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
SERVICE_HOST_VARIABLES = ("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT")
NO_KUBE_CREDENTIALS = (
    "no Kubernetes credentials found. Tried, in order: (1) the Pulumi config key kubernetes:kubeconfig "
    "(a path or the file's content); (2) KUBECONFIG; (3) ~/.kube/config; (4) the in-cluster service "
    f"account ({SERVICE_ACCOUNT_DIR}/token, with KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT, "
    "as in a pod). Set one of them, e.g. `export KUBECONFIG=...` or "
    "`pulumi config set --secret kubernetes:kubeconfig ...`"
)


@dataclass(frozen=True)
class KubeAccess:
    """Where the Kubernetes credentials come from: a kubeconfig file (``path``) or its content, with an
    optional context; or, with no kubeconfig, the in-cluster service account (``service_account``, the
    directory the kubelet mounts: token, ca.crt, namespace).

    ``repr`` hides the content: it can hold bearer tokens and client keys.
    """

    path: str | None = None
    content: str | None = field(default=None, repr=False)
    context: str | None = None
    service_account: str | None = None

    @classmethod
    def resolve(cls, config: Mapping[str, str]) -> KubeAccess:
        """pulumi-kubernetes' config keys first (as its users set them), then ``KUBECONFIG``, then
        ``~/.kube/config``; with none of them, the pod's service account (the Pulumi Kubernetes Operator,
        CI pods), as client-go does."""
        kubeconfig = config.get("kubernetes:kubeconfig") or ""
        context = config.get("kubernetes:context") or None
        if is_kubeconfig_content(kubeconfig):
            return cls(content=kubeconfig, context=context)
        if kubeconfig:
            return cls(path=kubeconfig, context=context)
        from_env = os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
        default = Path.home() / ".kube" / "config"
        path = from_env or (str(default) if default.exists() else None)
        if path is None and in_cluster():
            return cls(service_account=SERVICE_ACCOUNT_DIR)
        return cls(path=path, context=context)

    @property
    def configured(self) -> bool:
        """Whether any source was found (else ``client`` raises the ``ConfigurationError``)."""
        return bool(self.path or self.content or self.service_account)

    def client(self) -> Client:
        """A client for this kubeconfig, shared by the operations of this process while the kubeconfig
        stays the same (its content is the key): a new client costs a YAML parse, a TLS context and a
        TLS handshake, more than the calls most operations make."""
        from lightkube.core.exceptions import ConfigError

        prime_decoders()
        if self.service_account is not None:
            return self._service_account_client()
        where = self.path or "the Pulumi config key kubernetes:kubeconfig"
        try:
            if self.content is not None:
                return shared_client(self.content, None, self.context)
            if self.path is not None:
                path = Path(self.path).expanduser()
                return shared_client(path.read_text(), str(path), self.context)
            raise ConfigurationError(NO_KUBE_CREDENTIALS)
        except (ConfigError, OSError) as error:
            raise ConfigurationError(f"cannot load the kubeconfig from {where}: {error}") from error
        except (KeyError, TypeError, AttributeError) as error:
            raise ConfigurationError(
                f"the kubeconfig from {where} is not a kubeconfig (it needs clusters, contexts and users): "
                f"{type(error).__name__} {error}"
            ) from None

    def _service_account_client(self) -> Client:
        from lightkube.core.exceptions import ConfigError

        assert self.service_account is not None
        service = tuple(os.environ.get(name, "") for name in SERVICE_HOST_VARIABLES)
        try:
            return service_account_client(self.service_account, *service)
        except (ConfigError, OSError, KeyError) as error:
            raise ConfigurationError(
                f"cannot use the in-cluster service account of {self.service_account} "
                f"(KUBERNETES_SERVICE_HOST={service[0]!r}, KUBERNETES_SERVICE_PORT={service[1]!r}): "
                f"{type(error).__name__} {error}"
            ) from None


def in_cluster() -> bool:
    """In a pod with a service account token mounted (``automountServiceAccountToken`` not false)."""
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and (Path(SERVICE_ACCOUNT_DIR) / "token").is_file()


def prime_decoders() -> None:
    """Build lightkube's decoders for every kind the drivers read, once per process, before any
    operation uses them. lightkube makes a list type per kind on first use, and msgspec fills in a
    type's decoding info on first use too: with two threads doing that at once, the provider died of a
    segmentation fault (the first ``pulumi destroy`` of 50 Gateway API pairs). Custom resources decode
    as plain dicts and need nothing built."""
    with _priming:
        _build_decoders()


@functools.cache
def _build_decoders() -> None:
    import msgspec
    from lightkube.core.decoders import decode_list, decode_status
    from lightkube.resources.apps_v1 import Deployment
    from lightkube.resources.core_v1 import Pod, Service

    for kind in (Pod, Service, Deployment):
        msgspec.json.Decoder(kind)  # builds the decoding info of the kind and of every type inside it
        decode_list(b'{"items": []}', kind)
    decode_status(b"{}")


@functools.lru_cache(maxsize=4)
def shared_client(content: str, path: str | None, context: str | None) -> Client:
    """Held in this process's memory only (never on a provider, which is pickled into the state)."""
    from lightkube import Client, KubeConfig

    where = path or "the Pulumi config key kubernetes:kubeconfig"
    fname = Path(path) if path is not None else None
    config = KubeConfig.from_dict(parse_kubeconfig(content, where), fname=fname)
    return Client(config=config.get(context_name=context), field_manager=FIELD_MANAGER)


@functools.lru_cache(maxsize=2)
def service_account_client(directory: str, host: str, port: str) -> Client:
    """Shared like ``shared_client`` (``host`` and ``port`` only key the cache: lightkube reads the
    variables itself). A rotated token still works: lightkube reads the token file again on a 401."""
    from lightkube import Client, KubeConfig

    del host, port
    config = KubeConfig.from_service_account(service_account=directory)
    return Client(config=config, field_manager=FIELD_MANAGER)


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


def json_pointer(key: str) -> str:
    """``key`` as one step of a JSON pointer (RFC 6901): annotation keys hold '/'."""
    return key.replace("~", "~0").replace("/", "~1")


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
