"""Where the Kubernetes credentials come from: the kubeconfig sources first, then a pod's service account
(the Pulumi Kubernetes Operator, CI pods). The service account is a real one of the rig's apiserver, with
a token from the TokenRequest API and only the ``view`` role in one namespace: what the shared client
sees is what that token may see. With no source at all, one message names them all."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lightkube import ApiError

from pulumi_canary.drivers import kube
from pulumi_canary.drivers.kube import KubeAccess
from pulumi_canary.errors import ConfigurationError
from rig.cluster import LocalCluster

SERVICE_ACCOUNT = "canary-operator"


@pytest.fixture(autouse=True)
def no_kubeconfig(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No KUBECONFIG, no ~/.kube/config, not in a pod: the service-account directory is empty until a
    test fills it. The shared clients are dropped before and after, so no client leaks either way."""
    monkeypatch.delenv("KUBECONFIG", raising=False)
    for name in kube.SERVICE_HOST_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    mount = tmp_path / "serviceaccount"
    mount.mkdir()
    monkeypatch.setattr(kube, "SERVICE_ACCOUNT_DIR", str(mount))
    kube.service_account_client.cache_clear()
    kube.shared_client.cache_clear()
    yield mount
    kube.service_account_client.cache_clear()
    kube.shared_client.cache_clear()


def issue_token(admin: Any, namespace: str, audiences: list[str] | None = None) -> str:
    """A token from the TokenRequest API, as the kubelet gets one (for the apiserver's own audience)."""
    from lightkube.models.authentication_v1 import TokenRequestSpec
    from lightkube.models.meta_v1 import ObjectMeta
    from lightkube.resources.core_v1 import ServiceAccount

    request = ServiceAccount.Token(
        metadata=ObjectMeta(name=SERVICE_ACCOUNT, namespace=namespace),
        spec=TokenRequestSpec(audiences=audiences or [], expirationSeconds=3600),
    )
    token = admin.create(request, name=SERVICE_ACCOUNT, namespace=namespace).status.token
    assert isinstance(token, str) and token
    return token


def create_service_account(admin: Any, namespace: str) -> None:
    from lightkube.models.meta_v1 import ObjectMeta
    from lightkube.resources.core_v1 import ServiceAccount

    admin.create(ServiceAccount(metadata=ObjectMeta(name=SERVICE_ACCOUNT, namespace=namespace)))


@pytest.fixture
def pod_mount(
    cluster: LocalCluster, kube: Any, namespace: str, no_kubeconfig: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """What the kubelet mounts into a pod of ``namespace`` running as the service account, and the
    variables it sets; the account may only read (ClusterRole ``view``) in ``namespace``."""
    from lightkube.models.meta_v1 import ObjectMeta
    from lightkube.models.rbac_v1 import RoleRef, Subject
    from lightkube.resources.rbac_authorization_v1 import RoleBinding

    create_service_account(kube, namespace)
    kube.create(RoleBinding(
        metadata=ObjectMeta(name="canary-operator-view", namespace=namespace),
        roleRef=RoleRef(apiGroup="rbac.authorization.k8s.io", kind="ClusterRole", name="view"),
        subjects=[Subject(kind="ServiceAccount", name=SERVICE_ACCOUNT, namespace=namespace)],
    ))
    (no_kubeconfig / "token").write_text(issue_token(kube, namespace))
    (no_kubeconfig / "namespace").write_text(namespace)
    assert cluster.workdir is not None
    # The apiserver's self-signed serving certificate is its own CA, as in the rig's kubeconfig.
    shutil.copy(cluster.workdir / "certs" / "apiserver.crt", no_kubeconfig / "ca.crt")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(cluster.apiserver_port))
    return no_kubeconfig


def create_pod(admin: Any, namespace: str) -> str:
    from lightkube.models.core_v1 import Container, PodSpec
    from lightkube.models.meta_v1 import ObjectMeta
    from lightkube.resources.core_v1 import Pod

    name = f"seen-{uuid.uuid4().hex[:8]}"
    spec = PodSpec(containers=[Container(name="app", image="registry.invalid/app:v1")])
    admin.create(Pod(metadata=ObjectMeta(name=name, namespace=namespace), spec=spec))
    return name


def pod_names(client: Any, namespace: str) -> set[str]:
    from lightkube.resources.core_v1 import Pod

    return {pod.metadata.name for pod in client.list(Pod, namespace=namespace)}


def test_without_a_kubeconfig_the_pods_service_account_reads_the_real_apiserver(
    pod_mount: Path, kube: Any, namespace: str
) -> None:
    name = create_pod(kube, namespace)
    access = KubeAccess.resolve({})
    assert access == KubeAccess(service_account=str(pod_mount)) and access.configured
    assert name in pod_names(access.client(), namespace)


def test_the_service_account_client_has_the_service_accounts_rights_only(
    pod_mount: Path, namespace: str
) -> None:
    """The calls carry the mounted token, not some other credential: outside its namespace it may not
    read, as the RBAC binding says."""
    with pytest.raises(ApiError) as refused:
        pod_names(KubeAccess.resolve({}).client(), "kube-system")
    assert refused.value.status.code == 403
    assert f"system:serviceaccount:{namespace}:{SERVICE_ACCOUNT}" in str(refused.value.status.message)


def test_a_rotated_token_is_read_again_by_the_shared_client(
    pod_mount: Path, kube: Any, namespace: str
) -> None:
    """The client is shared by the operations of the process, and the kubelet rotates the token file: when
    the token it holds is refused (401), the shared client reads the file again."""
    # A token the apiserver refuses (another audience) stands for one that expired.
    (pod_mount / "token").write_text(issue_token(kube, namespace, audiences=["https://not-this-apiserver"]))
    client = KubeAccess.resolve({}).client()
    with pytest.raises(ApiError) as refused:
        pod_names(client, namespace)
    assert refused.value.status.code == 401
    (pod_mount / "token").write_text(issue_token(kube, namespace))  # the kubelet's rotation
    name = create_pod(kube, namespace)
    assert KubeAccess.resolve({}).client() is client
    assert name in pod_names(client, namespace)


def test_a_kubeconfig_wins_over_the_service_account(
    pod_mount: Path, kubeconfig: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    assert KubeAccess.resolve({}) == KubeAccess(path=str(kubeconfig))
    assert KubeAccess.resolve({"kubernetes:kubeconfig": str(kubeconfig)}).service_account is None


def test_nothing_anywhere_names_every_source() -> None:
    access = KubeAccess.resolve({})
    assert not access.configured
    with pytest.raises(ConfigurationError) as raised:
        access.client()
    message = str(raised.value)
    for source in ("kubernetes:kubeconfig", "KUBECONFIG", "~/.kube/config", "service account",
                   "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"):
        assert source in message


def test_a_pod_without_a_mounted_token_is_not_in_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    """``automountServiceAccountToken: false``: the variables alone are no credentials."""
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "6443")
    with pytest.raises(ConfigurationError, match="no Kubernetes credentials found"):
        KubeAccess.resolve({}).client()


def test_a_mount_without_its_ca_is_a_configuration_error(no_kubeconfig: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    token = "a-service-account-token-that-must-not-leak"
    (no_kubeconfig / "token").write_text(token)
    (no_kubeconfig / "namespace").write_text("default")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "6443")
    with pytest.raises(ConfigurationError, match="cannot use the in-cluster service account") as raised:
        KubeAccess.resolve({}).client()
    assert token not in str(raised.value)
