"""The operations of pulumi-canary, between the Pulumi adapter and the drivers: plain Python.

Each takes typed specs and the stack configuration, opens the drivers it needs for that one call, and
returns plain values (or raises a ``CanaryError``). The dynamic providers only translate the engine's
dicts into these calls and back; the ``status`` command uses the same reads.

- ``policy``: create, update, delete and read a CanaryPolicy.
- ``split``: apply, delete and read a TrafficSplit.
- ``checks``: the preview-time checks (validation, then the live pods when the cluster can be reached).
- ``status``: the live state of the policies recorded in an exported stack.
"""
