"""Fixtures shared by every test in the repository (PostgreSQL, broker, schemas)."""

pytest_plugins = ["ring_runtime.testing.fixtures"]
