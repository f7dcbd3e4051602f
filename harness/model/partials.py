"""A quantity as a list of entries, and each entry's SymPy derivative.

An entry is ``(k, orders)``: output ``k`` (None for a scalar-valued case, "u"
for the cotangent-weighted sum uᵀf of a vjp) and the partial orders
(o₁, …, oₙ), or None for the directional derivative along ``case.tangent()``.
Entries are listed in row-major order of the quantity's value shape (see
:mod:`harness.model.quantities`), so a flat list of entry values reshapes to it.
"""

from __future__ import annotations

import numpy as np

from harness.model.namespaces import as_scalar, namespace


def entries(case, quantity: str, order: int) -> list[tuple]:
    n, m = case.dim, case.out_dim
    outs = [None] if m == 1 else list(range(m))
    unit = [tuple(int(i == j) for j in range(n)) for i in range(n)]

    def both(i, j):
        return tuple(a + b for a, b in zip(unit[i], unit[j]))

    if quantity == "derivative":
        return [(None, (order,))]
    if quantity == "gradient":
        return [(None, e) for e in unit]
    if quantity == "hessian":
        return [(None, both(i, j)) for i in range(n) for j in range(n)]
    if quantity == "jacobian":
        return [(k, e) for k in outs for e in unit]
    if quantity == "jvp":
        return [(k, None) for k in outs]
    if quantity == "vjp":
        return [("u", e) for e in unit]
    if quantity == "mixed_partial":
        return [(None, both(*case.mixed))]
    raise ValueError(f"unknown quantity {quantity!r}")


def select_output(case, y, k):
    """Output ``k`` of a case's value ``y`` (see the module docstring)."""
    if k is None:
        out = y
    elif k == "u":
        u = [int(v) for v in case.cotangent()]  # ±1: exact, and no NumPy scalar to demote mpf
        out = u[0] * y if case.out_dim == 1 else sum(ui * y[..., i] for i, ui in enumerate(u))
    else:
        out = y[..., k]
    return as_scalar(out)


def sympy_derivatives(case, quantity: str, order: int, real: bool = False):
    """(symbols, [SymPy derivative of each entry]) of ``quantity``.

    ``real=True`` declares the symbols real (then |x|′ is sign x); plain
    symbols, as in the seed notebooks, leave an unevaluated ``Derivative``.
    """
    import sympy

    xs = [sympy.Symbol(f"x{i}" if case.dim > 1 else "x", real=real or None) for i in range(case.dim)]
    x = xs[0] if case.dim == 1 else np.array(xs, dtype=object)
    y = case.fn(namespace("sympy"), x)
    derivatives = []
    for k, orders in entries(case, quantity, order):
        expr = select_output(case, y, k)
        if orders is None:
            d = sum(sympy.diff(expr, xi) * sympy.Rational(vi) for xi, vi in zip(xs, case.tangent()))
        else:
            d = sympy.diff(expr, *[a for xi, o in zip(xs, orders) if o for a in (xi, o)])
        derivatives.append(d)
    return xs, derivatives
