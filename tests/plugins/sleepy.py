"""A central difference that takes its time: the slow cell in flight when a run is stopped.

``sleepy`` computes what ``central`` computes, then sleeps DIFFBENCH_TEST_SLEEP seconds a call
(default 0.3), so a cell of it lasts a second or two: long enough for a test to stop the run
while the cell's worker is busy with it.
"""

import os
import time

import numpy as np

from harness.extend import Evaluator, Method, register_method
from harness.namespaces import namespace

SLEEP_VARIABLE = "DIFFBENCH_TEST_SLEEP"


def prepare_sleepy(cell):
    xp = namespace("numpy")
    c = np.asarray(np.finfo(cell.dtype).eps ** (1 / 3), dtype=cell.dtype)
    pause = float(os.environ.get(SLEEP_VARIABLE, "0.3"))

    def derivative(x):
        h = c * np.maximum(1, np.abs(x))
        h = (x + h) - x
        d = (cell.case.fn(xp, x + h) - cell.case.fn(xp, x - h)) / (2 * h)
        time.sleep(pause)
        return d

    return Evaluator(call=derivative)


register_method(Method("sleepy", "numerical", prepare_sleepy,
                       description="central difference that sleeps DIFFBENCH_TEST_SLEEP s a call"))
