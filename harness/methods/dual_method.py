"""``dual``: our own forward mode, truncated Taylor arithmetic on NumPy arrays (:mod:`harness.dual`).

Every point is one entry of the Taylor arrays, so one call of the case handles all N
points.  A k-th derivative seeds x + t truncated at order k and reads k!·c[k].  A
gradient or Jacobian adds a direction axis: the points, shape (N, n), become
(N, n, n) with first-order coefficients the identity, so one call gives all n
partials.  Reverse-mode quantities (vjp) and second-order ones in n directions
(hessian, mixed partials) are not computed.
"""

from __future__ import annotations

import math

import numpy as np

from harness.dual import Taylor, taylor_xp
from harness.extend import Cell, Evaluator, Unsupported

NOT_COMPUTED = {
    "hessian": "dual is forward mode of order 1 in n directions: no Hessian (it would need "
               "second-order Taylor arithmetic over direction pairs)",
    "mixed_partial": "dual is forward mode of order 1 in n directions: no mixed second partials",
    "vjp": "dual is forward mode only: a vjp needs reverse mode",
}


def prepare(cell: Cell, xp=taylor_xp) -> Evaluator:
    """``xp`` is the Taylor namespace the case is evaluated with (a test swaps in a broken one)."""
    case, quantity = cell.case, cell.quantity
    if quantity in NOT_COMPUTED:
        raise Unsupported(NOT_COMPUTED[quantity])

    def f(seed: Taylor) -> Taylor:
        return case.fn(xp, seed)

    if quantity == "derivative":
        k, factorial = cell.order, math.factorial(cell.order)

        def derivative(x):
            return f(Taylor.variable(x, k)).c[k] * factorial

        return Evaluator(call=derivative, info={"batched": f"order-{k} Taylor arrays over all points"})

    if quantity in ("gradient", "jacobian"):
        if quantity == "gradient" and case.out_dim != 1:
            raise Unsupported("a gradient is of a scalar-valued case")
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

    if quantity == "jvp":
        v = case.tangent()

        def jvp(x):
            return f(Taylor.variable(x, 1, v.astype(x.dtype))).c[1]

        return Evaluator(call=jvp, info={"batched": "dual arrays over all points, one direction"})

    raise Unsupported(f"dual does not compute a {quantity}")
