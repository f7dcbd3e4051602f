"""The registry of test functions: importing this package registers the built-in cases."""

from cases import scalar, vector  # noqa: F401
