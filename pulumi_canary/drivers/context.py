"""What every driver of one operation shares: the stack configuration, the owner, and the cluster.

The gateway's driver builder (``open_driver(spec, context)``, named by the gateway registry) and the
executor get the same ``Workloads``, so one operation has one client and one read cache of Services and
pods. Built per call, never stored on a provider.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

from .kube import KubeAccess
from .workloads import Workloads

__all__ = ["DriverContext"]


@dataclass
class DriverContext:
    config: Mapping[str, str]
    owner: str
    kube: KubeAccess

    @classmethod
    def of(cls, config: Mapping[str, str], owner: str) -> DriverContext:
        return cls(config, owner, KubeAccess.resolve(config))

    @cached_property
    def workloads(self) -> Workloads | None:
        """The cluster's workloads, made on first use; None when no cluster access is configured (many
        operations never touch the cluster, and an MSE stack may have none)."""
        if not self.kube.configured:
            return None
        return Workloads(self.kube.client(), self.owner)

    def cluster(self) -> Workloads:
        """The workloads of a gateway that lives in the cluster: without a kubeconfig, the
        ``ConfigurationError`` of ``KubeAccess.client`` names what to set."""
        return self.workloads or Workloads(self.kube.client(), self.owner)
