"""num-dual: generalised (hyper-)dual numbers, forward mode, one point per call.

The library's Python API takes a function of Python numbers (or a list of
them) and one point: ``first_derivative`` / ``second_derivative`` /
``third_derivative`` for orders 1–3, a ``Dual3Dual64`` (third-order duals whose
fields are duals) for order 4, ``gradient`` / ``jacobian`` / ``hessian`` in n
directions at once (its vector dual types), and ``second_partial_derivative``
for a mixed partial.  A jvp seeds one ``Dual64`` direction.  There is no
reverse mode (no vjp), only 64-bit duals (no float32), and no array support:
the points go through a Python loop, which the timing includes.

A case runs on NumPy object arrays of dual numbers (indexing, ``sum``,
``stack`` and ``@`` are NumPy's; the elementary functions are the duals' own
methods).  ``|x|`` at 0 takes the slope +1 (x ≥ 0 keeps x).
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np

from harness.model.method import Cell, Evaluator
from harness.model.namespaces import ELEMENTARY, as_scalar, object_namespace


def _on_number(name: str):
    on_float = abs if name == "abs" else getattr(math, name)

    def on_number(x):
        if isinstance(x, (int, float)):  # a sub-expression that does not depend on x
            return on_float(x)
        if name == "abs":  # dual numbers have no abs; they compare by their real part
            return x if x >= 0 else -x
        return getattr(x, name)()

    return on_number


def _larger_one(a, b):
    """The larger operand (duals compare by their real part), a at a tie: its convention at
    the kink.  `+ 0·other` keeps a dual a dual when the constant operand wins."""
    return a + 0 * b if a >= b else b + 0 * a


def _smaller_one(a, b):
    return a + 0 * b if a <= b else b + 0 * a


def namespace() -> SimpleNamespace:
    """The case namespace over dual numbers and NumPy object arrays of them."""
    return object_namespace("num_dual", {name: _on_number(name) for name in ELEMENTARY}, _larger_one,
                            _smaller_one, lambda c, a, b: a if c else b)


def _fourth_derivative(nd, g, x: float) -> float:
    """d⁴g/dx⁴: a third-order dual whose fields are first-order duals in the same direction."""
    d = nd.Dual64
    seed = nd.Dual3Dual64(d(x, 1.0), d(1.0, 0.0), d(0.0, 0.0), d(0.0, 0.0))
    return g(seed).third_derivative.first_derivative


def _per_point(nd, f, cell: Cell):
    """The quantity at one point (a Python float, or a list of floats for a vector case)."""
    q, case = cell.quantity, cell.case

    def on_vector(v):  # a list of duals from the library → the case's array layout
        return f(np.array(v, dtype=object))

    if q == "derivative":
        if cell.order == 4:
            return lambda x: _fourth_derivative(nd, f, x)
        by_order = {1: nd.first_derivative, 2: nd.second_derivative, 3: nd.third_derivative}
        return lambda x: by_order[cell.order](f, x)[cell.order]
    if q == "gradient":
        return lambda x: nd.gradient(on_vector, x)[1]
    if q == "hessian":
        return lambda x: nd.hessian(on_vector, x)[2]
    if q == "jacobian":
        def outputs(v):
            y = on_vector(v)
            return list(y) if case.out_dim > 1 else [y]
        return lambda x: nd.jacobian(outputs, x)[1]
    if q == "jvp":
        tangent = case.tangent().tolist()

        def jvp(x):
            y = on_vector([nd.Dual64(xi, vi) for xi, vi in zip(x, tangent)])
            return [yk.first_derivative for yk in y] if case.out_dim > 1 else y.first_derivative
        return jvp
    if q == "mixed_partial":
        i, j = case.mixed

        def with_pair(x, a, b):  # the point with a at coordinate i and b at j
            v = np.array(x, dtype=object)
            v[i], v[j] = a, b
            return f(v)

        if i == j:
            return lambda x: nd.second_derivative(lambda a: with_pair(x, a, a), x[i])[2]
        return lambda x: nd.second_partial_derivative(lambda a, b: with_pair(x, a, b), x[i], x[j])[3]
    raise ValueError(f"num-dual: {q} is outside its declaration")


def prepare(cell: Cell) -> Evaluator:
    import num_dual as nd

    xp = namespace()
    case = cell.case

    def f(x):
        return as_scalar(case.fn(xp, x))  # ode's y[..., n − 1] is a 0-d array: num-dual wants its dual

    at_point = _per_point(nd, f, cell)

    def loop(x):
        return np.array([at_point(p) for p in x.tolist()], dtype=np.float64)

    return Evaluator(call=loop, info={"batched": "Python loop over points"})
