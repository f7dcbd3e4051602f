"""Finite differences on NumPy, with steps from the error analysis.

One-sided differences balance a truncation error O(h·f'') against a rounding
error O(ε·f/h): h ≈ √ε·max(1, |x|).  The central difference's truncation error
is O(h²·f'''), so h ≈ ∛ε·max(1, |x|).  The step actually used is the
representable one, (x + h) − x, so that the division is by the true spacing.
"""

import numpy as np

from harness.extend import Cell, Evaluator
from harness.namespaces import namespace


def prepare(cell: Cell, scheme: str) -> Evaluator:
    xp = namespace("numpy")
    eps = np.finfo(cell.dtype).eps
    c = np.asarray(np.cbrt(eps) if scheme == "central" else np.sqrt(eps), dtype=cell.dtype)

    def f(x):
        return cell.case.fn(xp, x)

    def derivative(x):
        h = c * np.maximum(1, np.abs(x))
        if scheme == "forward":
            xph = x + h
            return (f(xph) - f(x)) / (xph - x)
        if scheme == "backward":
            xmh = x - h
            return (f(x) - f(xmh)) / (x - xmh)
        xph, xmh = x + h, x - h
        return (f(xph) - f(xmh)) / (xph - xmh)

    return Evaluator(call=derivative, info={"step": f"{float(c):.3g}·max(1, |x|)"})
