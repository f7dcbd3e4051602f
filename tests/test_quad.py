"""The quad-precision reference (harness.truth.quad, harness.truth.directional) against closed forms and
mpmath, and grading by projections that catches a wrong derivative."""

import mpmath
import numpy as np
import pytest

from harness.model.case import Case
from harness.model.namespaces import logsumexp
from harness.truth import accuracy as acc
from harness.truth import directional, quad
from harness.truth.reference import scalable

pytest.importorskip("numpy_quaddtype")


def test_jet_of_tanh_matches_closed_forms_to_30_digits():
    x = np.array([-1.5, 0.25, 2.0])
    case = Case("t", lambda xp, v: xp.tanh(v), "tanh")
    c0, c1, c2 = quad.taylor(case, x, np.ones((1, 3)), second=True)
    with mpmath.workdps(50):
        for i, v in enumerate(x):
            t = mpmath.tanh(mpmath.mpf(v))
            assert abs(mpmath.mpf(str(c1[0, i])) - (1 - t * t)) < mpmath.mpf(10) ** -30
            assert abs(mpmath.mpf(str(c2[0, i])) - (-t * (1 - t * t))) < mpmath.mpf(10) ** -30  # ½f″


def _quadratic_case(n=6):
    """f(x) = ½ xᵀAx + logsumexp(x) + Σ where(x > 0, x³, eˣ), with a hand-written gradient."""
    a = np.random.default_rng(3).standard_normal((n, n))
    a = a + a.T

    def fn(xp, x):
        from harness.model.namespaces import constant

        return (xp.sum(x * (x @ constant(xp, a, like=x)), axis=-1) / 2 + logsumexp(xp, x)
                + xp.sum(xp.where(x > 0, x * x * x, xp.exp(x)), axis=-1))

    def gradient(x):
        soft = np.exp(x - x.max()) / np.exp(x - x.max()).sum()
        return a @ x + soft + np.where(x > 0, 3 * x * x, np.exp(x))

    return Case("q", fn, "q", dim=n, quantities=("gradient",)), gradient


def test_directional_reference_matches_a_closed_form_gradient():
    case, gradient = _quadratic_case()
    x = np.random.default_rng(4).uniform(-1, 1, (1, case.dim))
    ref = scalable(case, x, "gradient")
    values = gradient(x[0])[None]
    hi, lo = acc.graded(values, ref)
    assert acc.accuracy(hi, ref, np.array([True]), lo).digits > 14


def test_grading_by_projection_catches_a_wrong_entry():
    """A checker that cannot fail is worthless: one entry off by 1e-6 (sampled or not) shows."""
    case, gradient = _quadratic_case()
    x = np.random.default_rng(4).uniform(-1, 1, (1, case.dim))
    ref = scalable(case, x, "gradient")
    for entry in range(case.dim):
        wrong = gradient(x[0])[None].copy()
        wrong[0, entry] += 1e-6 * np.abs(wrong).max()
        hi, lo = acc.graded(wrong, ref)
        assert acc.accuracy(hi, ref, np.array([True]), lo).digits < 8, entry


def test_hvp_reference_matches_a_diagonal_hessian():
    n = 5
    case = Case("h", lambda xp, x: xp.sum(xp.exp(x), axis=-1) + xp.sum(x * x * x, axis=-1), "h", dim=n,
                quantities=("gradient", "hvp"))
    x = np.random.default_rng(6).uniform(-1, 1, (1, n))
    hessian = np.diag(np.exp(x[0]) + 6 * x[0])
    ref = scalable(case, x, "hvp")
    hi, lo = acc.graded((hessian @ case.tangent())[None], ref)
    assert acc.accuracy(hi, ref, np.array([True]), lo).digits > 14
    hi, lo = acc.graded((hessian @ case.tangent() * 1.001)[None], ref)
    assert acc.accuracy(hi, ref, np.array([True]), lo).digits < 4


def test_quad_matmul_loops_batches_numpy_quaddtype_gets_wrong():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 2, 4, 5)), rng.standard_normal((5, 2))
    got = quad.qmatmul(quad.to_quad(a), quad.to_quad(b)).astype(np.float64)
    np.testing.assert_allclose(got, a @ b, rtol=1e-14)
    v = rng.standard_normal(5)
    got = quad.qmatmul(quad.to_quad(v), quad.to_quad(a[0, 0].T)).astype(float)
    np.testing.assert_allclose(got, v @ a[0, 0].T, rtol=1e-14)


def test_sampled_entries_and_directions_are_fixed():
    case, _ = _quadratic_case()
    np.testing.assert_array_equal(directional.weights(case), directional.weights(case))
    rows = directional.DIRECTIONS + min(directional.SAMPLE, case.dim)
    assert directional.weights(case).shape == (rows, case.dim)


def test_directions_at_a_million_parameters_are_rows_not_an_identity():
    case = Case("big", lambda xp, x: xp.sum(x, axis=-1), "Σx", dim=10**6, quantities=("gradient",))
    w = directional.weights(case)  # an n × n identity would be 8 TB
    assert w.shape == (directional.DIRECTIONS + directional.SAMPLE, 10**6)
    units = w[directional.DIRECTIONS:]
    assert (units.sum(axis=1) == 1).all()
    assert (units[np.arange(len(units)), directional.sample(case)] == 1).all()


def test_mixed_jets_give_wHv_of_a_coupled_function_exactly():
    """w_dᵀH·v through matmul, products, exp/tanh (the chain rule), stack, reshape, where and
    min, against SymPy's exact Hessian of the same function written out by hand."""
    sympy = pytest.importorskip("sympy")
    a = np.array([[1.0, -2.0, 0.5, 0.0], [0.25, 1.0, -1.0, 2.0], [0.0, 0.5, 1.5, -0.75]])

    def f(xp, x):
        y = xp.tanh(xp.matmul(x, xp.asarray(a.T)))  # (..., 3)
        pair = xp.reshape(xp.stack([x[..., 0] * x[..., 1], x[..., 2]], axis=-1), (-1, 2))
        low = xp.min(xp.stack([x[..., 0] * x[..., 0], x[..., 1] + 1], axis=-1), axis=-1)
        kink = xp.where(x[..., 3] > 0, x[..., 3] * x[..., 2], -x[..., 3])
        return (xp.sum(y * y, axis=-1) + xp.sum(pair[..., 0] * pair[..., 1])
                + xp.exp(x[..., 1] - x[..., 3]) + low + kink)

    case = Case("coupled", f, "f", dim=4, quantities=("gradient", "hvp"))
    point = np.array([0.3, -0.7, 0.9, 0.4])  # x0² < x1 + 1 and x3 > 0: the branches taken
    s = sympy.symbols("x0:4")
    y = [sympy.tanh(sum(sympy.Rational(a[i, j]) * s[j] for j in range(4))) for i in range(3)]
    expr = sum(t * t for t in y) + s[0] * s[1] * s[2] + sympy.exp(s[1] - s[3]) + s[0] ** 2 + s[3] * s[2]
    at = dict(zip(s, [sympy.Rational(float(c)) for c in point]))
    hessian = np.array(sympy.hessian(expr, s).evalf(40, subs=at).tolist(), dtype=object)
    v = case.tangent()
    w = np.random.default_rng(3).standard_normal((5, 4))
    f0, mixed = quad.mixed_taylor(case, point, v, w)
    exact = [sum(sympy.Rational(float(w[d, i])) * hessian[i, j] * sympy.Rational(float(v[j]))
                 for i in range(4) for j in range(4)) for d in range(5)]
    for got, want in zip(mixed, exact):
        assert abs(float(got) - float(want)) <= 1e-30 + 1e-15 * abs(float(want))
        hi, lo = quad.split(np.asarray(got)[None])
        assert abs(sympy.Rational(float(hi[0])) + sympy.Rational(float(lo[0])) - want) < 1e-28 * abs(want)
    assert float(f0) == pytest.approx(float(expr.evalf(40, subs=at)), rel=1e-15)
