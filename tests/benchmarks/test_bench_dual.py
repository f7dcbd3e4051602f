"""The dual first derivative against a plain NumPy evaluation of the same function.

exp_sin (e^(−2x) + 3 sin 3x) on 10⁶ float64 points.  The target is a dual derivative
within 4× the plain evaluation: the forward mode carries one more array per value
and adds cos next to sin.  Nothing is asserted about time; the benchmark table shows it::

    pytest tests/benchmarks/test_bench_dual.py --benchmark-enable
"""

from __future__ import annotations

import numpy as np
import pytest

from harness.extend import Cell
from harness.methods import dual_method
from harness.namespaces import namespace
from harness.registry import CASES

N_POINTS = 1_000_000


@pytest.fixture(scope="module")
def case():
    return CASES.case("exp_sin")


@pytest.fixture(scope="module")
def points():
    return np.linspace(-5.0, 5.0, N_POINTS)


@pytest.mark.benchmark(group="dual-vs-numpy")
def test_numpy_evaluation(benchmark, case, points):
    xp = namespace("numpy")
    values = benchmark(case.fn, xp, points)
    assert values.shape == (N_POINTS,)


@pytest.mark.benchmark(group="dual-vs-numpy")
def test_dual_first_derivative(benchmark, case, points):
    evaluator = dual_method.prepare(Cell(case, 1, "float64", "cpu"))
    d = benchmark(evaluator.call, points)
    assert d.shape == (N_POINTS,) and d.dtype == np.float64
    np.testing.assert_allclose(d, -2 * np.exp(-2 * points) + 9 * np.cos(3 * points), rtol=1e-13, atol=1e-13)
