"""Cases from the seeds: references against independent closed forms, and what the harness shows."""

import mpmath
import numpy as np
import pytest

import harness
from cases.scalar import logistic_map, nested_polynomial
from harness.extend import Evaluator, Method, register_method
from harness.measure.timing import UNTIMED
from harness.model.registry import CASES, METHODS
from harness.truth.reference import reference


def ref_at(case, x, order=1):
    case = CASES.case(case) if isinstance(case, str) else case
    return mpmath.mpf(reference(case, order, np.array([x])).text[0])


@mpmath.workdps(50)
def test_nested_polynomial_by_the_chain_rule():
    x = mpmath.mpf(1.5)
    p = lambda t: 2 * t**3 - 3 * t**2 + 5  # noqa: E731
    dp = lambda t: 6 * t**2 - 6 * t  # noqa: E731
    expected = dp(p(p(x))) * dp(p(x)) * dp(x)
    assert abs(ref_at(nested_polynomial(3), 1.5) - expected) < mpmath.mpf(10) ** -30 * abs(expected)


@mpmath.workdps(50)
def test_logistic_map_by_the_chain_rule():
    x = mpmath.mpf(0.3)
    expected, l_k = mpmath.mpf(1), x
    for _ in range(4):
        expected *= 4 - 8 * l_k
        l_k = 4 * l_k * (1 - l_k)
    assert abs(ref_at(logistic_map(4), 0.3) - expected) < mpmath.mpf(10) ** -30 * abs(expected)


@mpmath.workdps(50)
def test_chain_rule_exercise():
    t = mpmath.mpf(0.7)
    expected = 2 * mpmath.sin(t) * mpmath.cos(t) - 2 * mpmath.sin(t)  # MML example 5.8
    assert abs(ref_at("chain_rule", 0.7) - expected) < mpmath.mpf(10) ** -30


def test_quadratic_form_gradient_is_the_symmetric_part(monkeypatch):
    """Every correct method agrees on ½(W + Wᵀ)x; the seed's Wx is rejected as wrong."""
    monkeypatch.setattr(METHODS, "_entries", METHODS.all())  # test-wx leaves with this test
    case = CASES.case("quadratic_form")  # n = 3, the first size
    w = np.random.default_rng(2).standard_normal((3, 3))  # the case's W, rebuilt independently
    register_method(Method("test-wx", "symbolic", lambda cell: Evaluator(call=lambda x: x @ w.T),
                           quantities=("gradient",)))
    df = harness.run(cases="quadratic_form", quantities="gradient", dtypes="float64", sizes="quick",
                     methods="sympy,central,jax,torch,dual,test-wx", timing=UNTIMED)
    rows = df.set_index("method")
    assert rows.loc["test-wx", "status"] == "ok" and rows.loc["test-wx", "digits"] < 2
    for m in ("sympy", "jax", "torch", "dual"):
        assert rows.loc[m, "digits"] >= 13, m
    assert rows.loc["central", "digits"] >= 8
    # the reference itself is ½(W + Wᵀ)x
    x = case.points()
    ref = reference(case, 1, x, "gradient")
    np.testing.assert_allclose(ref.hi, x @ ((w + w.T) / 2).T, rtol=1e-13, atol=1e-15)
    assert "symmetric part" in case.note


@pytest.fixture(scope="module")
def kinks():
    df = harness.run(cases="relu,sqrt,max2", methods="forward,backward,central,jax,torch",
                     dtypes="float64", timing=UNTIMED)
    points = df.attrs["points"]
    return df, points[~points.defined]


def test_kinks_are_not_graded(kinks):
    df, at = kinks
    assert set(at.case) == {"relu", "sqrt", "max2"}
    assert at.abs_err.isna().all()
    assert (df[df.status == "ok"].n_undefined == 1).all()


def test_relu_conventions_at_zero(kinks):
    _, at = kinks
    value = dict(zip(at[at.case == "relu"].method, at[at.case == "relu"].value))
    # closed forms of the stencils at the kink of max(x, 0): (h − 0)/h, (0 − 0)/h, (h − 0)/2h
    assert value["forward"] == 1 and value["backward"] == 0 and value["central"] == 0.5
    assert value["jax"] in (0, 0.5, 1) and value["torch"] in (0, 0.5, 1)


def test_sqrt_stencils_that_cross_zero_give_nan_at_the_kink_only(kinks):
    df, at = kinks
    value = dict(zip(at[at.case == "sqrt"].method, at[at.case == "sqrt"].value))
    assert np.isnan(value["backward"]) and np.isnan(value["central"])  # √ of a negative
    assert value["forward"] == pytest.approx(1 / np.sqrt(np.sqrt(np.finfo(float).eps)))  # √h/h
    ok = df[(df.case == "sqrt") & (df.method.isin(["jax", "torch"]))]
    assert (ok.status == "ok").all() and (ok.digits >= 14).all()
