"""pulumi-canary: canary releases as code.

Pulumi dynamic resources that declare a canary policy (a label key, a stable and a canary version) and
a traffic split between the two, on Alibaba Cloud's MSE cloud-native gateway, the Kubernetes Gateway
API and Istio.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("pulumi-canary")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
