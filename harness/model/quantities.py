"""Derivative quantities: what each one is and the shape of its value at N points.

For a case f: Rⁿ → Rᵐ (``dim`` = n, ``out_dim`` = m; m = 1 is a scalar-valued f)
evaluated at points X of shape (N, n) — or x of shape (N,) for a scalar case —
a method returns:

==============  =====  ========================================  ================
quantity        order  value at each point                       shape
==============  =====  ========================================  ================
derivative      1–4    f⁽ᵏ⁾(x), scalar cases (applied pointwise)  (N,)
gradient        1      ∇f(x)                                      (N, n)
hessian         2      ∇²f(x)                                     (N, n, n)
jacobian        1      J(x), J[k, i] = ∂f_k/∂x_i                  (N, m, n)
jvp             1      J(x)·v, v = ``case.tangent()``               (N,) or (N, m)
vjp             1      uᵀ·J(x), u = ``case.cotangent()``            (N, n)
mixed_partial   2      ∂²f/∂x_i∂x_j, (i, j) = ``case.mixed``       (N,)
hvp             2      ∇²f(x)·v, v = ``case.tangent()``             (N, n)
==============  =====  ========================================  ================

A case with a ``sparsity`` pattern takes its ``jacobian`` as a scipy.sparse (m, n) matrix per
point from methods that build one (one point per call).

``training`` is a workload rather than a value (:data:`WORKLOAD`): gradient descent on a loss
driven by the method's gradient, measured as a whole by :mod:`harness.measure.workloads`.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.store.schema import WORKLOADS


@dataclass(frozen=True)
class Workload:
    """What a workload quantity asks of a method: the quantity that drives it, and its dtypes."""

    driven_by: str
    dtypes: tuple[str, ...]


WORKLOAD = {"training": Workload(driven_by="gradient", dtypes=("float64",))}  # one entry per WORKLOADS
assert tuple(WORKLOAD) == WORKLOADS

QUANTITIES = ("derivative", "gradient", "hessian", "jacobian", "jvp", "vjp", "mixed_partial", "hvp",
              "training")
VECTOR_QUANTITIES = QUANTITIES[1:]
ORDER = {"gradient": 1, "jacobian": 1, "jvp": 1, "vjp": 1, "hessian": 2, "mixed_partial": 2, "hvp": 2,
         "training": 1}


def value_shape(case, quantity: str, n_points: int) -> tuple[int, ...]:
    n, m = case.dim, case.out_dim
    out = () if m == 1 else (m,)
    shapes = {
        "derivative": (),
        "gradient": (n,),
        "hessian": (n, n),
        "jacobian": (m, n),
        "jvp": out,
        "vjp": (n,),
        "mixed_partial": (),
        "hvp": (n,),
    }
    return (n_points, *shapes[quantity])


def tasks(case) -> list[tuple[str, int]]:
    """The (quantity, order) pairs a case is measured on."""
    pairs = []
    for q in case.quantities:
        if q == "derivative":
            pairs += [(q, k) for k in case.orders]
        else:
            pairs.append((q, ORDER[q]))
    return pairs
