"""The dual first derivative against a plain NumPy evaluation of the same function.

On 10⁶ float64 points: exp_sin (e^(−2x) + 3 sin 3x), and nested_polynomial at depth 3
(p∘p∘p, p(x) = 2x³ − 3x² + 5: integer powers of Taylor arrays, the expression-swell
case).  The target is a dual derivative within 4× the plain evaluation: the forward
mode carries one more array per value (and adds cos next to sin).  Nothing is asserted
about time; the benchmark table shows it::

    pytest tests/benchmarks/test_bench_dual.py --benchmark-enable
"""

from __future__ import annotations

import numpy as np
import pytest

from cases.scalar import nested_polynomial
from harness.extend import Cell
from harness.methods import dual_method
from harness.model.namespaces import namespace
from harness.model.registry import CASES

N_POINTS = 1_000_000


def exp_sin_derivative(x):
    return -2 * np.exp(-2 * x) + 9 * np.cos(3 * x)


def nested_polynomial_derivative(x, depth=3):
    """The chain rule: the product of p′(x_k) = 6x_k² − 6x_k along the iterates."""
    d = np.ones_like(x)
    for _ in range(depth):
        d *= 6 * x**2 - 6 * x
        x = 2 * x**3 - 3 * x**2 + 5
    return d


# case, its closed-form derivative, and the tolerance: near a zero of p′ the two
# evaluation orders of the nested polynomial's derivative differ by ~1e-11 relative.
CASES_UNDER_TEST = {
    "exp_sin": (lambda: CASES.case("exp_sin"), exp_sin_derivative, 1e-13),
    "nested_polynomial": (lambda: nested_polynomial(3), nested_polynomial_derivative, 1e-10),
}


@pytest.fixture(scope="module", params=CASES_UNDER_TEST)
def case_and_derivative(request):
    make, derivative, rtol = CASES_UNDER_TEST[request.param]
    return make(), derivative, rtol


@pytest.fixture(scope="module")
def points():
    return np.linspace(-5.0, 5.0, N_POINTS)


def test_numpy_evaluation(benchmark, case_and_derivative, points):
    case, _, _ = case_and_derivative
    xp = namespace("numpy")
    benchmark.group = f"dual-vs-numpy-{case.name}"
    values = benchmark(case.fn, xp, points)
    assert values.shape == (N_POINTS,)


def test_dual_first_derivative(benchmark, case_and_derivative, points):
    case, derivative, rtol = case_and_derivative
    evaluator = dual_method.prepare(Cell(case, 1, "float64", "cpu"))
    benchmark.group = f"dual-vs-numpy-{case.name}"
    d = benchmark(evaluator.call, points)
    assert d.shape == (N_POINTS,) and d.dtype == np.float64
    np.testing.assert_allclose(d, derivative(points), rtol=rtol, atol=1e-13)
