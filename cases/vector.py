"""Vector test functions: gradients, Hessians, Jacobians, jvp / vjp, mixed partials.

Written on the last axis, x of shape (..., n), so one definition serves a
single point (grad, vmap) and a batch of points (finite-difference stencils).
"""

import numpy as np

from harness.extend import Case, register_case, register_sweep
from harness.model.namespaces import constant


def rosenbrock(n: int = 10, grid: int | None = None) -> Case:
    """Σ 100(x_{i+1} − x_i²)² + (1 − x_i)²: the dimension sweep of gradient methods.

    The Hessian (n² entries) is measured up to n = 10; large n use fewer points."""
    hessian = ("hessian",) if n <= 10 else ()
    return Case(
        "rosenbrock",
        lambda xp, x: xp.sum(100 * (x[..., 1:] - x[..., :-1] ** 2) ** 2 + (1 - x[..., :-1]) ** 2, axis=-1),
        "Σ 100(x_{i+1} − x_i²)² + (1 − x_i)²",
        domain=(-2.0, 2.0),
        grid=grid or (20 if n <= 100 else 2),
        seed_points=(tuple([1.0] * n),),  # the minimum: the gradient vanishes there
        dim=n,
        quantities=("gradient", *hessian, "jvp", "vjp"),
        source="the classic optimisation test function",
        note="At the minimum (1, …, 1) the gradient is 0: its error is absolute there. Beyond what "
             "SymPy can afford (n in the thousands) the reference is the closed-form gradient in mpmath.",
        closed_forms=(("gradient", rosenbrock_gradient),),
    )


def rosenbrock_gradient(xp, x):
    """∂/∂x_i = −400 x_i (x_{i+1} − x_i²) − 2(1 − x_i) [i < n−1] + 200 (x_i − x_{i−1}²) [i > 0]."""
    head, tail = x[..., :-1], x[..., 1:]
    inner = -400 * head * (tail - head**2) - 2 * (1 - head)  # terms that involve x_i as x_i
    outer = 200 * (tail - head**2)  # terms that involve x_i as x_{i+1}
    zero = 0 * x[..., :1]
    # NumPy's concatenate: a reference is evaluated on object arrays of mpmath numbers
    return np.concatenate([inner, zero], axis=-1) + np.concatenate([zero, outer], axis=-1)


def linear_map(n: int = 3) -> Case:
    """W x with a fixed random W (seed 000's jacfwd vs jacrev): the Jacobian is W."""
    w = np.random.default_rng(1).standard_normal((n, n))
    return Case(
        "linear_map",
        lambda xp, x: x @ constant(xp, w.T, x),
        "W x",
        domain=(-1.0, 1.0),
        grid=10,
        dim=n,
        out_dim=n,
        quantities=("jacobian", "jvp", "vjp"),
        source="seed 000 (jacfwd and jacrev of x ↦ Wx)",
    )


def quadratic_form(n: int = 3) -> Case:
    """½ xᵀWx with a non-symmetric W: seed 000's "FAILS WHY?"."""
    w = np.random.default_rng(2).standard_normal((n, n))
    return Case(
        "quadratic_form",
        lambda xp, x: xp.sum(x * (x @ constant(xp, w.T, x)), axis=-1) / 2,
        "½ xᵀWx, W not symmetric",
        domain=(-1.0, 1.0),
        grid=10,
        dim=n,
        quantities=("gradient", "hessian"),
        source="seed 000 (assert_allclose(grad(quadratic)(x), W @ x)  # FAILS WHY?)",
        note="The gradient is ½(W + Wᵀ)x, not Wx: xᵀWx only sees W's symmetric part, because "
        "xᵀWx = xᵀWᵀx. Wx is the gradient only for a symmetric W. The Hessian is ½(W + Wᵀ).",
    )


register_case(
    Case(
        "bivariate_poly",
        lambda xp, x: x[..., 0] ** 3 + 2 * x[..., 1] ** 2,
        "x₁³ + 2x₂²",
        domain=(-3.0, 3.0),
        grid=20,
        seed_points=((1.0, 1.0),),
        dim=2,
        quantities=("gradient", "hessian", "mixed_partial"),
        source="seed 004 (partials and mixed partials with SymPy)",
    )
)
register_sweep("rosenbrock", rosenbrock, quick=[{"n": 2}], default=[{"n": n} for n in (2, 10, 100)],
               full=[{"n": n} for n in (2, 10, 100, 1000, 10000)])
register_sweep("linear_map", linear_map, quick=[{"n": 3}], default=[{"n": 3}, {"n": 10}],
               full=[{"n": n} for n in (3, 10, 100)])
register_sweep("quadratic_form", quadratic_form, quick=[{"n": 3}], default=[{"n": 3}, {"n": 10}],
               full=[{"n": n} for n in (3, 10, 100)])
register_case(
    Case(
        "max2",
        lambda xp, x: xp.maximum(x[..., 0], x[..., 1]),
        "max(x₁, x₂)",
        domain=(-2.0, 2.0),
        grid=20,
        seed_points=((1.0, 1.0),),
        kinks=((1.0, 1.0),),
        dim=2,
        quantities=("gradient",),
        source="a kink along x₁ = x₂, where libraries split the gradient differently",
    )
)
