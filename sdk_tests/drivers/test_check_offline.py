"""``check()`` when the APIs cannot be reached: it says nothing rather than failing a preview. When the
kubeconfig is broken it says so (a configuration problem is never silenced), and never quotes a
credential."""

from __future__ import annotations

import time
import traceback
from pathlib import Path

import pytest

from pulumi_canary.adapter import stack_config
from pulumi_canary.adapter.providers import CanaryPolicyProvider, TrafficSplitProvider
from pulumi_canary.drivers import retry
from pulumi_canary.drivers.kube import KubeAccess
from pulumi_canary.errors import ConfigurationError
from pulumi_canary.state_keys import OWNER_KEY
from sdk_tests.unit.factories import GATEWAY_API, ISTIO, MSE_GATEWAY, policy_props, split_props

TOKEN = "0123456789abcdef-bearer-token-that-must-not-leak"
KUBECONFIG = f"""apiVersion: v1
kind: Config
clusters:
- name: gone
  cluster: {{server: "https://127.0.0.1:9", insecure-skip-tls-verify: true}}
contexts:
- name: gone
  context: {{cluster: gone, user: admin}}
current-context: gone
users:
- name: admin
  user:
    token: {TOKEN}
"""


@pytest.fixture(autouse=True)
def unreachable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Credentials for APIs that are not there (a closed port); no backoff, to keep the test short."""
    path = tmp_path / "kubeconfig"
    path.write_text(KUBECONFIG)
    monkeypatch.setenv("KUBECONFIG", str(path))
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "id")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "secret")
    monkeypatch.setattr(retry, "FIRST_DELAY_SECONDS", 0.0)
    stack_config.remember({})


@pytest.mark.parametrize("gateway", [MSE_GATEWAY, GATEWAY_API, ISTIO], ids=["mse", "gateway_api", "istio"])
def test_check_says_nothing_when_the_apis_cannot_be_reached(gateway: dict[str, object]) -> None:
    started = time.monotonic()
    policy = CanaryPolicyProvider().check({}, {**policy_props(gateway=gateway), OWNER_KEY: "p/s/demo"})
    split = TrafficSplitProvider().check({}, {**split_props(gateway=gateway), OWNER_KEY: "p/s/demo"})
    assert (policy.failures, split.failures) == ([], [])
    assert time.monotonic() - started < 10


def test_a_broken_kubeconfig_is_reported_without_quoting_it() -> None:
    """A configuration problem is not silenced like an unreachable API: preview says what is wrong."""
    broken = KUBECONFIG.replace("    token:", "   token: [", 1)
    stack_config.remember({"kubernetes:kubeconfig": broken})
    with pytest.raises(ConfigurationError) as raised:
        CanaryPolicyProvider().check({}, {**policy_props(), OWNER_KEY: "p/s/demo"})
    shown = "".join(traceback.format_exception(raised.value))
    assert "the kubeconfig from the Pulumi config key kubernetes:kubeconfig is not valid YAML (line" in shown
    assert TOKEN not in shown, "the error (or its chained cause) quotes the kubeconfig"


def test_kubeconfig_content_is_never_mistaken_for_a_path() -> None:
    for content in (KUBECONFIG, "---\n" + KUBECONFIG, "# comment\n" + KUBECONFIG, "users: []\nclusters: []"):
        assert KubeAccess.resolve({"kubernetes:kubeconfig": content}).path is None
    one_line = f"users: [{{name: a, user: {{token: {TOKEN}}}}}]"
    with pytest.raises(ConfigurationError) as raised:
        KubeAccess.resolve({"kubernetes:kubeconfig": one_line}).client()
    assert TOKEN not in "".join(traceback.format_exception(raised.value))
