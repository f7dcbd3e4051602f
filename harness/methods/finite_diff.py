"""Finite differences on NumPy, with steps from the error analysis.

One-sided differences balance a truncation error O(h·f'') against a rounding
error O(ε·f/h): h ≈ √ε·max(1, |x|).  The central difference's truncation error
is O(h²·f'''), so h ≈ ∛ε·max(1, |x|).  The step actually used is the
representable one, (x + h) − x, so that the division is by the true spacing.

Vector quantities use batched stencils: the n perturbed copies of every point
are one array of shape (N, n, n), so f is called once per stencil offset
whatever n is (n evaluations' worth of arithmetic, one Python call).
"""

import numpy as np

from harness.extend import Cell, Evaluator
from harness.namespaces import namespace

OFFSETS = {"forward": (1, 0), "backward": (0, -1), "central": (1, -1)}


def _ends(x, h, scheme):
    """The stencil's two abscissae x + a·h and x + b·h, (a, b) = OFFSETS[scheme]."""
    a, b = OFFSETS[scheme]
    return (x + h if a else x), (x - h if b else x)


def _quotient(fa, fb, spacing):
    if fa.ndim > spacing.ndim:  # a vector-valued f: the spacing broadcasts over outputs
        spacing = spacing[..., None]
    return (fa - fb) / spacing


def prepare(cell: Cell, scheme: str) -> Evaluator:
    xp = namespace("numpy")
    eps = np.finfo(cell.dtype).eps
    c = np.asarray(np.cbrt(eps) if scheme == "central" else np.sqrt(eps), dtype=cell.dtype)
    case, quantity = cell.case, cell.quantity

    def f(x):
        return case.fn(xp, x)

    def step(x):
        return c * np.maximum(1, np.abs(x))

    if quantity == "derivative":
        def derivative(x):
            xa, xb = _ends(x, step(x), scheme)
            return _quotient(f(xa), f(xb), xa - xb)
    elif quantity in ("gradient", "jacobian", "vjp"):
        u = case.cotangent().astype(cell.dtype)
        on_diagonal = np.eye(case.dim, dtype=bool)

        def derivative(x):
            xa, xb = _ends(x, step(x), scheme)  # every coordinate moved at once: (N, n)
            # row i of each (n, n) block is the point with coordinate i moved: one f call per end
            rows = x[:, None, :]
            fa = f(np.where(on_diagonal, xa[:, None, :], rows))
            fb = f(np.where(on_diagonal, xb[:, None, :], rows))
            d = _quotient(fa, fb, xa - xb)  # (N, n), or (N, n, m) for a vector-valued f
            if quantity == "gradient":
                return d
            if d.ndim == 2:  # vjp of a scalar-valued f: u₀ times the gradient
                return u[0] * d
            jac = np.swapaxes(d, 1, 2)  # (N, m, n)
            return jac if quantity == "jacobian" else np.einsum("k,pkn->pn", u, jac)
    elif quantity == "jvp":
        v = case.tangent().astype(cell.dtype)

        def derivative(x):
            t = step(np.abs(x).max(axis=-1))  # one step along v, scaled to the point's size
            ta, tb = _ends(np.zeros_like(t), t, scheme)
            return _quotient(f(x + ta[:, None] * v), f(x + tb[:, None] * v), ta - tb)
    else:  # the runner only calls with declared quantities
        raise ValueError(quantity)
    return Evaluator(call=derivative, info={"step": f"{float(c):.3g}·max(1, |x|)"})
