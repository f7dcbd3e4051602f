"""``dual``: our own forward mode, truncated Taylor arithmetic on NumPy arrays
(:mod:`harness.methods.taylor`).

Every point is one entry of the Taylor arrays, so one call of the case handles all N
points.  A k-th derivative seeds x + t truncated at order k and reads k!·c[k].  A
gradient or Jacobian adds a direction axis: the points, shape (N, n), become
(N, n, n) with first-order coefficients the identity, so one call gives all n
partials.  Reverse-mode quantities (vjp) and second-order ones in n directions
(hessian, mixed partials) are not computed: its declaration says so.
"""

from __future__ import annotations

import math

import numpy as np

from harness.methods.taylor import Taylor, taylor_xp
from harness.model.method import Cell, Evaluator


def prepare(cell: Cell, xp=taylor_xp) -> Evaluator:
    """``xp`` is the Taylor namespace the case is evaluated with (a test swaps in a broken one)."""
    case, quantity = cell.case, cell.quantity

    def f(seed: Taylor) -> Taylor:
        return case.fn(xp, seed)

    if quantity == "derivative":
        k, factorial = cell.order, math.factorial(cell.order)

        def derivative(x):
            return f(Taylor.variable(x, k)).c[k] * factorial

        return Evaluator(call=derivative, info={"batched": f"order-{k} Taylor arrays over all points"})

    if quantity in ("gradient", "jacobian"):
        n = case.dim

        def all_partials(x):
            seed = np.empty((2, len(x), n, n), x.dtype)  # (coefficient, point, direction, coordinate)
            seed[0] = x[:, None, :]
            seed[1] = np.eye(n, dtype=x.dtype)
            d = f(Taylor(seed)).c[1]  # (N, direction, *out)
            if quantity == "gradient":
                return d
            return np.moveaxis(d, 1, -1).reshape(len(x), case.out_dim, n)  # J[k, i] = ∂f_k/∂x_i

        return Evaluator(call=all_partials, info={"batched": f"dual arrays over all points × {n} directions"})

    v = case.tangent()  # the jvp: one direction

    def jvp(x):
        return f(Taylor.variable(x, 1, v.astype(x.dtype))).c[1]

    return Evaluator(call=jvp, info={"batched": "dual arrays over all points, one direction"})
