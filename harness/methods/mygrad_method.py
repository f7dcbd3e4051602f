"""MyGrad: reverse mode on ``mygrad.Tensor``, a drop-in for NumPy arrays.

``Tensor.backward()`` of a non-scalar output behaves as the backward of its
sum, so one pass gives every point's derivative (points are independent rows);
``backward(u)`` seeds a vjp.  MyGrad clears the graph after each backward pass
and has neither higher-order derivatives nor a forward mode: a Jacobian takes
one forward and backward pass per output, and Hessians, jvp and mixed partials
are not computed.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from harness.model.method import Cell, Evaluator
from harness.model.namespaces import numpy_like


def namespace(mg) -> SimpleNamespace:
    """The case namespace over mygrad: its functions record on the tape."""
    return numpy_like(mg, "mygrad")


def _backward(mg, f, x, seed=None):
    """d(seed · f)/dx at every point: one forward and one backward pass."""
    t = mg.Tensor(x)
    y = f(t)
    if not isinstance(y, mg.Tensor):  # f does not depend on x
        return np.zeros_like(x)
    y.backward(seed)
    return np.zeros_like(x) if t.grad is None else t.grad


def prepare(cell: Cell) -> Evaluator:
    import mygrad as mg

    q, case = cell.quantity, cell.case
    xp = namespace(mg)

    def f(x):
        return case.fn(xp, x)

    if q in ("derivative", "gradient"):
        return Evaluator(call=lambda x: _backward(mg, f, x))
    if q == "vjp":
        u = case.cotangent().astype(cell.dtype)
        u = u if case.out_dim > 1 else u[0]
        return Evaluator(call=lambda x: _backward(mg, f, x, u))

    def jacobian(x):
        rows = [_backward(mg, lambda t, k=k: f(t)[..., k], x) for k in range(case.out_dim)]
        return np.stack(rows, axis=1)  # J[:, k, i] = ∂f_k/∂x_i

    if case.out_dim == 1:
        return Evaluator(call=lambda x: _backward(mg, f, x)[:, None, :])
    return Evaluator(call=jacobian)
