"""Keys of the state the providers write that other readers of an exported stack rely on.

Free of pulumi imports, so that the ``status`` command reads a stack without loading the Pulumi SDK.
"""

from __future__ import annotations

OWNER_KEY = "__owner"
"""The input that names the owning stack resource (``project/stack/name``); written by the resource class."""
