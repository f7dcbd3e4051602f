"""The registry of test functions: importing this package registers the built-in cases."""

from cases import losses, scalar, vector  # noqa: F401

losses.register()
