"""The registry of test functions: importing this package registers the built-in cases."""

from cases import bundle, gradbench, losses, scalar, vector  # noqa: F401

losses.register()
gradbench.register()
