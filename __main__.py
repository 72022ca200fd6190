"""The demo program (`make demo` runs it through the real Pulumi engine against the local rig)."""

import pulumi

import pulumi_canary

pulumi.export("pulumi_canary_version", pulumi_canary.__version__)
