"""Finite differences on NumPy, with steps from the error analysis.

One-sided differences balance a truncation error O(h·f'') against a rounding
error O(ε·f/h): h ≈ √ε·max(1, |x|).  The central difference's truncation error
is O(h²·f'''), so h ≈ ∛ε·max(1, |x|).  The step actually used is the
representable one, (x + h) − x, so that the division is by the true spacing.

Vector quantities use batched stencils: the n perturbed copies of every point
are one array of shape (N, n, n), so f is called once per stencil offset
whatever n is (n evaluations' worth of arithmetic, one Python call); beyond
``STENCIL_ELEMENTS`` the stencil is taken in blocks of coordinates.
"""

import numpy as np

from harness.model.method import Cell, Evaluator
from harness.model.namespaces import namespace

OFFSETS = {"forward": (1, 0), "backward": (0, -1), "central": (1, -1)}
# elements of one stencil block (128 MiB of float64): a single block up to n ≈ 900 at 20 points
STENCIL_ELEMENTS = 2**24


def ends(x, h, scheme):
    """The stencil's two abscissae x + a·h and x + b·h, (a, b) = OFFSETS[scheme]."""
    a, b = OFFSETS[scheme]
    return (x + h if a else x), (x - h if b else x)


def quotient(fa, fb, spacing):
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

    if quantity == "jacobian" and case.sparsity is not None:
        from harness.methods.coloured import prepare_differences

        return prepare_differences(cell, scheme, OFFSETS[scheme], ends, step)
    if quantity == "derivative":
        def derivative(x):
            xa, xb = ends(x, step(x), scheme)
            return quotient(f(xa), f(xb), xa - xb)
    elif quantity in ("gradient", "jacobian", "vjp"):
        u = case.cotangent().astype(cell.dtype)
        n = case.dim

        def moved(x, xa, xb, coords):
            """f at both ends for the coordinates ``coords``: row i of each block is the
            point with coordinate coords[i] moved — one f call per end for all of them."""
            on_diagonal = coords[:, None] == np.arange(n)
            rows = x[:, None, :]
            return (f(np.where(on_diagonal, xa[:, None, :], rows)),
                    f(np.where(on_diagonal, xb[:, None, :], rows)))

        def derivative(x):
            xa, xb = ends(x, step(x), scheme)  # every coordinate moved at once: (N, n)
            # the (N, n, n) stencil in blocks of coordinates, so that n = 10⁴ stays within memory
            # (a workload's evaluation holds its largest intermediate per shifted point)
            block = max(1, STENCIL_ELEMENTS // max(1, len(x) * max(n, case.footprint or 0)))
            parts = [moved(x, xa, xb, np.arange(i, min(i + block, n))) for i in range(0, n, block)]
            fa, fb = (parts[0] if len(parts) == 1 else
                      [np.concatenate(side, axis=1) for side in zip(*parts)])
            d = quotient(fa, fb, xa - xb)  # (N, n), or (N, n, m) for a vector-valued f
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
            ta, tb = ends(np.zeros_like(t), t, scheme)
            return quotient(f(x + ta[:, None] * v), f(x + tb[:, None] * v), ta - tb)
    else:  # the runner only calls with declared quantities
        raise ValueError(quantity)
    return Evaluator(call=derivative, info={"step": f"{float(c):.3g}·max(1, |x|)"})
