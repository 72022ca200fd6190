"""Fast unit tests of the pure domain layer (no I/O)."""
