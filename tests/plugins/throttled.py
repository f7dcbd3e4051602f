"""A central difference whose speed a test controls: the regression a comparison must catch.

``throttled`` computes exactly what ``central`` computes (same step, same digits), then waits,
busy, until DIFFBENCH_TEST_SLOWDOWN times its own time has passed (default 1: no wait), so two
runs that differ only in that variable differ only in this method's speed, by that factor.
A busy wait rather than a sleep: a sleep's granularity is longer than a call of a few µs.
"""

import os
import time

import numpy as np

from harness.extend import Evaluator, Method, register_method
from harness.namespaces import namespace

SLOWDOWN_VARIABLE = "DIFFBENCH_TEST_SLOWDOWN"


def prepare_throttled(cell):
    xp = namespace("numpy")
    c = np.asarray(np.finfo(cell.dtype).eps ** (1 / 3), dtype=cell.dtype)
    slowdown = float(os.environ.get(SLOWDOWN_VARIABLE, "1"))  # read per run, in the run's process

    def f(x):
        return cell.case.fn(xp, x)

    def derivative(x):
        started = time.perf_counter()
        h = c * np.maximum(1, np.abs(x))
        h = (x + h) - x
        d = (f(x + h) - f(x - h)) / (2 * h)
        until = started + slowdown * (time.perf_counter() - started)
        while time.perf_counter() < until:  # `slowdown` times its own time in all
            pass
        return d

    return Evaluator(call=derivative)


register_method(Method("throttled", "numerical", prepare_throttled,
                       description="central difference, DIFFBENCH_TEST_SLOWDOWN times slower (a busy wait)"))
