"""Scalar test functions from the seed notebooks, each written once for every backend.

Seed numbering follows ``shared/seeds``: 000 (SymPy/JAX/torch intro),
001 (Coursera lab: SymPy vs np.gradient vs JAX), 002 (differentiation
chrestomathy: tanh, cubic, dual numbers), 003 (JAX autodiff tutorial),
004 (finite differences, softplus).
"""

from dataclasses import replace

import numpy as np

from harness.extend import Case, register_case, register_sweep

SEED_GRID = tuple(np.linspace(-5, 5, 100))  # seed 001's x_array_2

register_case(
    Case(
        "square",
        lambda xp, x: x**2,
        "x²",
        seed_points=(1.0, 2.0, 3.0),
        orders=(1, 2),
        source="seed 001 (f(x) = x², f'(3) = 6)",
    )
)
register_case(
    Case(
        "sin_square",
        lambda xp, x: xp.sin(x) + x**2,
        "sin x + x²",
        domain=(-2.0, 2.0),
        seed_points=(1.0,),
        orders=(1, 2),
        source="seed 000 (f'(1) = 2 + cos 1, grad(grad(f)))",
    )
)
register_case(
    Case(
        "tanh",
        lambda xp, x: xp.tanh(x),
        "tanh x",
        seed_points=(2.0,),
        orders=(1, 2, 3),
        source="seeds 002, 003 (tanh'(2), tanh''(2), tanh'''(2))",
        note="tanh' = 1 − tanh² cancels in the tails: every exact method loses digits there.",
    )
)
register_case(
    Case(
        "softplus",
        lambda xp, x: xp.log(1 + xp.exp(x)),
        "log(1 + eˣ)",
        grid=20,
        seed_points=(0.0,),
        source="seed 004 (softplus, whose derivative is the sigmoid)",
    )
)
register_case(
    Case(
        "exp_sin",
        lambda xp, x: xp.exp(-2 * x) + 3 * xp.sin(3 * x),
        "e^(−2x) + 3 sin 3x",
        seed_points=SEED_GRID,
        source="seed 001 (f_composed on np.linspace(-5, 5, 100))",
    )
)
register_case(
    Case(
        "cubic",
        lambda xp, x: x**3 + 2 * x**2 - 3 * x + 1,
        "x³ + 2x² − 3x + 1",
        seed_points=(1.0, 2.0),
        orders=(1, 2, 3, 4),
        source="seeds 002, 003 (f'(1) = 4, f'(2) = 17, up to the 4th derivative)",
    )
)
register_case(
    Case(
        "abs",
        lambda xp, x: xp.abs(x),
        "|x|",
        seed_points=(-2.0, 0.0, 1.0),
        kinks=(0.0,),
        source="seed 001 (diff(abs(x)) leaves an unevaluated Derivative)",
        note="Not differentiable at 0: no error figure there; each method's value at 0 is its convention.",
    )
)


def nested_polynomial(depth: int = 3, points: int = 100) -> Case:
    """p∘p∘…∘p, p(x) = 2x³ − 3x² + 5: seed 001's expression-swell example."""

    def fn(xp, x):
        for _ in range(depth):
            x = 2 * x**3 - 3 * x**2 + 5
        return x

    return Case(
        "nested_polynomial",
        fn,
        f"p∘…∘p ({depth}×), p(x) = 2x³ − 3x² + 5",
        grid=points,  # no seed points: exactly np.linspace(-5, 5, points)
        source="seed 001 (f_polynomial: 3 nested calls, derivatives up to 1e24)",
        # SymPy's derivative of a deep nest swells for minutes (the full profile goes to depth 6):
        # its cells get a minute, the run's --timeout aside
        timeout_s=60.0,
        note="The derivative reaches 1e24 on [−5, 5]: only the relative error means anything.",
    )


def logistic_map(n: int = 4) -> Case:
    """lₙ₊₁ = 4lₙ(1 − lₙ) from l₀ = x: the classic expression-swell example of AD papers."""

    def fn(xp, x):
        for _ in range(n):
            x = 4 * x * (1 - x)
        return x

    return Case("logistic_map", fn, f"l_{n}, l_(k+1) = 4 l_k (1 − l_k), l_0 = x", domain=(0.0, 1.0),
                source="the AD literature's expression-swell example (Baydin et al. 2018)")


# depth 4 overflows float32 and depth 6 float64 (the values grow like 2^(3^depth)): that is a result
register_sweep("nested_polynomial", nested_polynomial, quick=[{"depth": 1}, {"depth": 2}],
               default=[{"depth": d} for d in (1, 2, 3, 4)],
               full=[{"depth": d} for d in range(1, 7)])
register_sweep("logistic_map", logistic_map, quick=[{"n": 1}, {"n": 2}],
               default=[{"n": n} for n in (1, 2, 4)], full=[{"n": n} for n in range(1, 9)])
register_case(
    Case(
        "chain_rule",
        lambda xp, t: xp.sin(t) ** 2 + 2 * xp.cos(t),  # f(x₁, x₂) = x₁² + 2x₂, x₁ = sin t, x₂ = cos t
        "x₁² + 2x₂, x₁ = sin t, x₂ = cos t",
        domain=(-3.0, 3.0),
        orders=(1, 2),
        source="seed 004's exercise (Mathematics for Machine Learning, example 5.8)",
        note="df/dt = 2 sin t cos t − 2 sin t.",
    )
)
register_case(
    Case(
        "relu",
        lambda xp, x: xp.maximum(x, 0),
        "max(x, 0)",
        seed_points=(0.0,),
        kinks=(0.0,),
        source="the activation every network uses; its kink at 0 is a convention per library",
    )
)
register_case(
    Case(
        "sqrt",
        lambda xp, x: xp.sqrt(x),
        "√x",
        domain=(0.0, 4.0),
        seed_points=(0.0,),
        kinks=(0.0,),
        source="a derivative that is infinite at the edge of the domain",
        note="√x′ = 1/(2√x) is infinite at 0: no error there; stencils reaching x < 0 give NaN.",
    )
)


def sweep_points(name: str, default=()):
    """Re-register a scalar case as a sweep over its number of points (full profile: up to 10⁷);
    ``default``: numbers of points the default profile adds to the case's own grid."""
    from harness.model.registry import CASES

    case = CASES.get(name)

    def sized(grid=None, points=None):
        # grid: the case's grid and its seed points; points: exactly np.linspace(*domain, points), a
        # seed's own array (XLA on the CPU is 3-9x slower on 10⁶ + 3 points than on 10⁶)
        return replace(case, grid=grid) if points is None else replace(case, grid=points, seed_points=())

    return register_sweep(name, sized, quick=[{"grid": case.grid}],
                          default=[{"grid": g} for g in (case.grid, *default)],
                          full=[{"grid": g} for g in (case.grid, 10**4, 10**6, 10**7)])


sweep_points("square")  # seed 001 times x² and f_composed on 10⁶ points (harness.model.presets)
for _name in ("tanh", "exp_sin"):  # where elementwise methods part ways: 10⁴ and 10⁶ points
    sweep_points(_name, default=(10**4, 10**6))
