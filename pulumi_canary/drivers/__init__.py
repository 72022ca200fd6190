"""Drivers: all I/O lives here, one module per gateway plus one for Kubernetes workloads.

Heavy clients (the Alibaba Cloud SDK, lightkube) are imported inside the functions that need them, so
importing this package stays cheap.
"""
