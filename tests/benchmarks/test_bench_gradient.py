"""The batched central gradient against scipy.optimize.approx_fprime, n = 100 and 1000.

Rosenbrock at one random point of (−2, 2)ⁿ.  ``central`` (harness.methods.finite_diff)
moves all n coordinates at once: two calls of f on an (1, n, n) array, 2n evaluations'
worth of arithmetic.  approx_fprime is a forward difference in a Python loop: n + 1
calls of f on (n,) vectors.  Targets: central ≥ 10× faster at n = 100, and no more
costly per evaluation of f at n = 1000 (where its n² array is 8 MB).  ``central`` is
also timed on 100 points at n = 100 (two (100, 100, 100) arrays, 8 MB each): the
batched path as the runner uses it, all points at once.  Nothing is asserted about
time; each benchmark's ``extra_info`` holds its accuracy against the closed-form
gradient and its count of f evaluations::

    pytest tests/benchmarks/test_bench_gradient.py --benchmark-enable
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from cases.vector import rosenbrock
from harness.extend import Cell
from harness.methods import finite_diff, library_numerical
from tests.closed_forms import rosenbrock_gradient

DIMENSIONS = (100, 1000)
MANY_POINTS = 100


def gradient_cell(n: int, points: int = 1) -> Cell:
    case = replace(rosenbrock(n, grid=points), name=f"rosenbrock{n}", seed_points=())  # random points
    return Cell(case, 1, "float64", "cpu", "gradient")


def record_accuracy(benchmark, grad: np.ndarray, x: np.ndarray, evaluations: int) -> None:
    exact = rosenbrock_gradient(x)
    rel = np.max(np.abs(grad - exact)) / np.max(np.abs(exact))
    benchmark.extra_info.update(max_rel_err=float(rel), digits=float(-np.log10(rel)),
                                f_evaluations=evaluations, n=x.shape[1], points=x.shape[0])


@pytest.mark.parametrize(("n", "points"), [(n, 1) for n in DIMENSIONS] + [(100, MANY_POINTS)])
def test_batched_central_gradient(benchmark, n, points):
    cell = gradient_cell(n, points)
    x = cell.case.points()
    assert x.shape == (points, n)
    evaluator = finite_diff.prepare(cell, scheme="central")
    benchmark.group = f"gradient-{n}" if points == 1 else f"gradient-{n}-{points}-points"
    grad = benchmark(evaluator.call, x)
    assert grad.shape == (points, n)
    record_accuracy(benchmark, grad, x, evaluations=2 * n * points)
    assert benchmark.extra_info["digits"] > 8  # a central difference: about ⅔ of float64's digits


@pytest.mark.parametrize("n", DIMENSIONS)
def test_scipy_approx_fprime_gradient(benchmark, n):
    cell = gradient_cell(n)
    x = cell.case.points()
    evaluator = library_numerical.prepare_scipy_approx_fprime(cell)
    benchmark.group = f"gradient-{n}"
    grad = benchmark(evaluator.call, x)
    assert grad.shape == (1, n)
    record_accuracy(benchmark, grad, x, evaluations=n + 1)
    assert benchmark.extra_info["digits"] > 4  # a forward difference: about half of float64's digits
