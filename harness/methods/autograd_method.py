"""HIPS autograd: reverse mode over NumPy (and its forward mode for jvp).

Points are independent rows, so the reverse pass of the summed output gives
every point's derivative at once (``elementwise_grad``); nesting it gives
orders 2–4.  Vector quantities batch the same way: a Jacobian is
``autograd.jacobian`` of the output summed over points (one reverse pass per
output, never per point), a Hessian the same of the summed gradient
(reverse-over-reverse, one pass per coordinate); vjp is ``make_vjp``
and jvp ``make_jvp`` (autograd's forward mode), each one pass for all points.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from harness.model.method import Cell, Evaluator
from harness.model.namespaces import numpy_like


def namespace(anp) -> SimpleNamespace:
    """The case namespace over autograd.numpy: its functions record on the tape."""
    return numpy_like(anp, "autograd.numpy")


def _program(anp, f, cell: Cell, v, u):
    """The quantity at all points (shape (N, ...)) as a function of the points."""
    from autograd import elementwise_grad, jacobian, make_jvp, make_vjp

    q, m = cell.quantity, cell.case.out_dim
    if q == "derivative":
        g = f
        for _ in range(cell.order):
            g = elementwise_grad(g)
        return g
    if q == "gradient":
        return elementwise_grad(f)
    if q == "jacobian":
        def jac(x):  # (m, N, n) → (N, m, n)
            summed = jacobian(lambda y: anp.sum(anp.reshape(f(y), (len(x), m)), axis=0))
            return np.moveaxis(summed(x), 0, 1)
        return jac
    if q == "hessian":
        def hess(x):  # (n, N, n) → (N, n, n)
            return np.moveaxis(jacobian(lambda y: anp.sum(elementwise_grad(f)(y), axis=0))(x), 0, 1)
        return hess
    if q == "jvp":
        return lambda x: make_jvp(f)(x)(np.broadcast_to(v, x.shape))[1]
    if q == "vjp":
        def vjp(x):
            back, y = make_vjp(f)(x)
            return back(np.broadcast_to(u, y.shape))
        return vjp
    if q == "mixed_partial":
        i, j = cell.case.mixed
        return lambda x: elementwise_grad(lambda y: elementwise_grad(f)(y)[..., i])(x)[..., j]
    raise ValueError(q)


def prepare(cell: Cell) -> Evaluator:
    import autograd.numpy as anp

    xp = namespace(anp)
    case = cell.case
    v = case.tangent().astype(cell.dtype)
    u = case.cotangent().astype(cell.dtype)

    def f(x):
        return case.fn(xp, x)

    return Evaluator(call=_program(anp, f, cell, v, u))
