"""A central difference whose speed a test controls: the regression a comparison must catch.

``throttled`` computes exactly what ``central`` computes (same step, same digits) but
repeats the stencil DIFFBENCH_TEST_SLOWDOWN times per call (default 1), so two runs
that differ only in that variable differ only in this method's speed.
"""

import os

import numpy as np

from harness.extend import Evaluator, Method, register_method
from harness.namespaces import namespace

SLOWDOWN_VARIABLE = "DIFFBENCH_TEST_SLOWDOWN"


def prepare_throttled(cell):
    xp = namespace("numpy")
    c = np.asarray(np.finfo(cell.dtype).eps ** (1 / 3), dtype=cell.dtype)
    repeats = int(os.environ.get(SLOWDOWN_VARIABLE, "1"))  # read per run, in the run's process

    def f(x):
        return cell.case.fn(xp, x)

    def derivative(x):
        for _ in range(repeats):  # the same work again: slower by about `repeats` times
            h = c * np.maximum(1, np.abs(x))
            h = (x + h) - x
            d = (f(x + h) - f(x - h)) / (2 * h)
        return d

    return Evaluator(call=derivative)


register_method(Method("throttled", "numerical", prepare_throttled,
                       description="central difference, repeated DIFFBENCH_TEST_SLOWDOWN times per call"))
