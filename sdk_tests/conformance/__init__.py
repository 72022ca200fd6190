"""The gateway-conformance suite: one canary release story, run through the real engine on every gateway
of ``pulumi_canary.model.GATEWAYS``, each observed through its harness (``harness.HARNESSES``)."""
