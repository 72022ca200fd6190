"""The benchmark harness (``make bench``): pulumi-canary against the engine's own floor, in one run."""
