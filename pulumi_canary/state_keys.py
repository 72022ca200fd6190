"""What the providers write into the state that other readers of an exported stack rely on (`status`,
`preview-report`): keys and type tokens.

Free of pulumi imports, so that the ``status`` command reads a stack without loading the Pulumi SDK.
"""

from __future__ import annotations

OWNER_KEY = "__owner"
"""The input that names the owning stack resource (``project/stack/name``); written by the resource class."""

POLICY_TYPE = "canary:CanaryPolicy"
"""How a CanaryPolicy's type token ends in the state (``resources.CanaryPolicy``'s module and name)."""

SPLIT_TYPE = "canary:TrafficSplit"
"""How a TrafficSplit's type token ends in the state."""
