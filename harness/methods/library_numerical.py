"""Numerical derivatives from libraries: numpy.gradient, SciPy and numdifftools.

Each library is imported inside ``prepare``, so ``import harness`` needs only
NumPy.  Every method here uses the library as its documentation shows it
used; where that means a Python loop over the points (the library takes one
point per call) the method's ``batched`` declaration and ``info`` say so.

* ``np-gradient`` differentiates *sampled data*: f at the points it is given,
  with second-order differences whose spacing is the grid's (seed 001's
  ``np.gradient(f(x), x)``).  Its error is that of the grid spacing, not of a
  chosen step: low accuracy is the honest result, not a defect of the harness.
* ``scipy-approx-fprime``: ``scipy.optimize.approx_fprime``, a forward
  difference with SciPy's default absolute step √ε(float64).
* ``scipy-differentiate``: ``scipy.differentiate`` (SciPy ≥ 1.15), adaptive
  order-8 central differences, vectorised over points by the library itself.
* ``numdifftools``: Richardson-extrapolated differences (``Derivative``
  vectorised over points; ``Gradient``/``Jacobian``/``Hessian`` per point).
"""

from __future__ import annotations

import numpy as np

from harness.methods.stencils import case_function
from harness.model.method import Cell, Evaluator

# scipy.differentiate stops when successive estimates agree to rtol.  Its default, √ε, stops
# early (tanh'(2) to 11 digits); ε^(5/8) (1.6e-10 in float64) gets 14 there and is no worse on
# the tails, where smaller steps only add rounding.  It stays above the 100·ε that hessian needs.
SCIPY_RTOL_POWER = 5 / 8


# --- numpy.gradient -----------------------------------------------------------------------------------


def prepare_np_gradient(cell: Cell) -> Evaluator:
    f = case_function(cell)

    def derivative(x):
        # sampled data: the spacing is the grid's, so the points must be distinct and sorted
        if x.ndim != 1 or x.size < 3 or not np.all(np.diff(x) > 0):
            raise ValueError("np.gradient needs at least 3 sorted, distinct points")
        return np.gradient(f(x), x, edge_order=2)

    info = {"spacing": "the points' own (non-uniform) spacing", "edge_order": 2,
            "kind": "differentiates samples of f, not f: no step is chosen"}
    return Evaluator(call=derivative, info=info)


# --- scipy.optimize.approx_fprime ---------------------------------------------------------------------


def prepare_scipy_approx_fprime(cell: Cell) -> Evaluator:
    from scipy.optimize import approx_fprime

    f = case_function(cell)
    info = {"batched": "no: a Python loop over points, one approx_fprime call each",
            "step": "SciPy's default absolute step √ε = 1.49e-8, forward difference"}
    if cell.quantity == "derivative":
        def scalar(v):
            return f(v[0])  # one coordinate in, a scalar out: approx_fprime returns shape (1,)

        def derivative(x):
            return np.array([approx_fprime(x[k:k + 1], scalar)[0] for k in range(len(x))])

        return Evaluator(call=derivative, info=info)

    def partials(x):  # a gradient or Jacobian
        # approx_fprime returns the gradient (n,) or, for vector-valued f, the Jacobian (m, n)
        return np.stack([approx_fprime(point, f) for point in x])

    return Evaluator(call=partials, info=info)


# --- scipy.differentiate ------------------------------------------------------------------------------


def coordinate_first(f, out_dim: int):
    """f over (..., n) → (...) or (..., m) as SciPy wants it: (n, ...) → (...) or (m, ...)."""
    def g(x):
        y = f(np.moveaxis(x, 0, -1))
        return y if out_dim == 1 else np.moveaxis(y, -1, 0)

    return g


def prepare_scipy_differentiate(cell: Cell) -> Evaluator:
    from scipy import differentiate

    f = case_function(cell)
    rtol = float(np.finfo(cell.dtype).eps ** SCIPY_RTOL_POWER)
    tolerances = {"rtol": rtol}
    info = {"tolerances": f"rtol = ε^(5/8) = {rtol:.2g} (SciPy's default √ε stops earlier)",
            "batched": "vectorised by scipy.differentiate: f is called on arrays of abscissae"}
    out_dim = cell.case.out_dim
    if cell.quantity == "derivative":
        return Evaluator(call=lambda x: differentiate.derivative(f, x, tolerances=tolerances).df,
                         info=info)
    if cell.quantity in ("gradient", "jacobian"):
        # a scalar-valued f as a 1-output one, so that df is always (m, n, N)
        g = coordinate_first(f, out_dim)
        g_outputs = g if out_dim > 1 else (lambda x: g(x)[np.newaxis])

        def partials(x):
            df = differentiate.jacobian(g_outputs, x.T, tolerances=tolerances).df  # (m, n, N)
            df = np.moveaxis(df, -1, 0)  # (N, m, n)
            return df[:, 0, :] if out_dim == 1 else df

        return Evaluator(call=partials, info=info)
    g = coordinate_first(f, 1)  # the Hessian (of a scalar-valued case)

    def hessian(x):
        return np.moveaxis(differentiate.hessian(g, x.T, tolerances=tolerances).ddf, -1, 0)

    return Evaluator(call=hessian, info=info)


# --- numdifftools -------------------------------------------------------------------------------------


def prepare_numdifftools(cell: Cell) -> Evaluator:
    import numdifftools as nd

    f = case_function(cell)
    info = {"batched": "Derivative: vectorised over points; Gradient/Jacobian/Hessian: a Python loop",
            "steps": "numdifftools' defaults: central differences, Richardson extrapolation"}
    if cell.quantity == "derivative":
        derivative = nd.Derivative(f, n=cell.order)
        return Evaluator(call=lambda x: np.asarray(derivative(x)), info=info)
    per_point = {"gradient": nd.Gradient, "jacobian": nd.Jacobian, "hessian": nd.Hessian}
    operator = per_point[cell.quantity](f)
    shape = (cell.case.out_dim, cell.case.dim) if cell.quantity == "jacobian" else None

    def partials(x):
        values = [np.asarray(operator(point)) for point in x]
        return np.stack([v.reshape(shape) for v in values] if shape else values)

    return Evaluator(call=partials, info=info)
