"""The thin Pulumi adapter: dynamic providers and resource classes. The only layer that imports pulumi."""
