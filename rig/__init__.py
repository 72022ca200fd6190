"""The local rig: tools built from Go modules, a real Kubernetes cluster, hermetic Pulumi workspaces.

Development-only (not shipped with the package). ``rig.tools`` uses only the standard library so that
it can run before the virtualenv exists.
"""
