"""A central difference that can be prepared only once per process: a cell timed in any number of
rounds must be prepared once."""

import numpy as np

from harness.extend import Evaluator, Method, register_method

prepared = []


def prepare_once(cell):
    if prepared:
        raise RuntimeError("prepared once already")
    prepared.append(cell)
    h = np.finfo(cell.dtype).eps ** (1 / 3)

    def derivative(x):
        return (cell.case.fn(np, x + h) - cell.case.fn(np, x - h)) / (2 * h)

    return Evaluator(call=derivative)


register_method(Method("prepares-once", "numerical", prepare_once,
                       description="central difference that fails when prepared a second time"))
