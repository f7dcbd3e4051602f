"""Reference derivatives against closed forms evaluated independently in mpmath."""

import mpmath
import numpy as np
import pytest

from harness.model.registry import CASES
from harness.truth import reference as reference_mod
from harness.truth.reference import ReferenceMismatch, reference


def sech2(x):
    return 1 / mpmath.cosh(x) ** 2


# (case, order, x, closed form): none of these is computed by the code under test.
with mpmath.workdps(50):
    CLOSED_FORMS = [
        ("tanh", 1, 2.0, mpmath.mpf("0.07065082485316446568624765586105932")),  # the figure
        ("tanh", 1, 2.0, sech2(2)),
        ("tanh", 2, 2.0, -2 * mpmath.tanh(2) * sech2(2)),
        ("tanh", 3, 2.0, 2 * sech2(2) * (2 * mpmath.tanh(2) ** 2 - sech2(2))),
        ("sin_square", 1, 1.0, 2 + mpmath.cos(1)),
        ("sin_square", 2, 1.0, 2 - mpmath.sin(1)),
        ("softplus", 1, 0.0, mpmath.mpf(1) / 2),
        ("exp_sin", 1, -5.0, -2 * mpmath.exp(10) + 9 * mpmath.cos(-15)),
        ("exp_sin", 1, 0.3, -2 * mpmath.exp(-2 * mpmath.mpf(0.3)) + 9 * mpmath.cos(3 * mpmath.mpf(0.3))),
        ("cubic", 1, 1.0, 4),
        ("cubic", 1, 2.0, 17),
        ("cubic", 2, 1.0, 10),
        ("cubic", 3, 1.0, 6),
        ("cubic", 4, 1.0, 0),
        ("square", 1, 3.0, 6),
        ("abs", 1, -2.0, -1),
    ]


@pytest.mark.parametrize("case, order, x, expected", CLOSED_FORMS)
@mpmath.workdps(50)
def test_reference_matches_closed_form_to_30_digits(case, order, x, expected):
    ref = reference(CASES.case(case), order, np.array([x]))
    value = mpmath.mpf(ref.text[0])
    tol = mpmath.mpf(10) ** -30 * max(1, abs(expected))
    assert abs(value - expected) <= tol, (ref.text[0], expected)
    # the double-double pair carries ~32 digits
    assert abs((mpmath.mpf(ref.hi[0]) + mpmath.mpf(ref.lo[0])) - expected) <= tol


def test_reference_is_checked_against_sympy():
    ref = reference(CASES.case("tanh"), 1, np.array([2.0]))
    assert ref.kind == "mpmath.diff, checked against sympy"


def test_abs_at_zero_is_undefined_not_a_number():
    ref = reference(CASES.case("abs"), 1, np.array([-1.0, 0.0, 1.0]))
    assert ref.defined.tolist() == [True, False, True]
    assert ref.text[1] == "undefined" and np.isnan(ref.hi[1])
    assert ref.hi[0] == -1 and ref.hi[2] == 1


def test_a_disagreeing_cross_check_is_refused(monkeypatch):
    """The cross-check must be able to fail: feed it a derivative off by 1e-35."""
    reference_mod._cache.clear()
    monkeypatch.setattr(
        reference_mod, "_sympy_entries",
        lambda case, quantity, order: lambda x: [1 / mpmath.cosh(x) ** 2 * (1 + mpmath.mpf("1e-35"))],
    )
    with pytest.raises(ReferenceMismatch, match="tanh derivative order 1 at point 0"):
        reference(CASES.case("tanh"), 1, np.array([2.0]), reuse=False)  # computed, not read from the disk


# --- a hand-written closed form stands in for SymPy at large n, and is checked too ----------------


def test_closed_form_reference_matches_mpmath(monkeypatch):
    from cases.vector import rosenbrock

    case = rosenbrock(6)
    x = case.points()[:4]
    plain = reference(case, 1, x, "gradient")  # within budget: mpmath.diff, checked against SymPy
    monkeypatch.setattr(reference_mod, "MPMATH_BUDGET", 1)  # as if n were in the thousands
    monkeypatch.setattr(reference_mod, "_cache", {})
    closed = reference(case, 1, x, "gradient")
    assert closed.kind.startswith("closed form at 60 digits") and plain.kind.startswith("mpmath.diff")
    # the same to the last bit, but at the minimum (1, …, 1): exactly 0 there, mpmath.diff ~1e-126
    np.testing.assert_allclose(closed.hi, plain.hi, rtol=1e-16, atol=1e-100)
    vjp = reference(case, 1, x, "vjp")  # u·∇f, u = +1
    assert vjp.kind.startswith("closed form")
    np.testing.assert_array_equal(vjp.hi, closed.hi)
    monkeypatch.setattr(reference_mod, "MPMATH_BUDGET", 3000)
    plain_jvp = reference(case, 1, x, "jvp")  # mpmath.diff along v, checked against SymPy
    monkeypatch.setattr(reference_mod, "MPMATH_BUDGET", 1)
    monkeypatch.setattr(reference_mod, "_cache", {})
    jvp = reference(case, 1, x, "jvp")  # ∇f·v
    assert jvp.kind.startswith("closed form") and plain_jvp.kind.startswith("mpmath.diff")
    np.testing.assert_allclose(jvp.hi, plain_jvp.hi, rtol=1e-15, atol=1e-100)


def test_a_wrong_closed_form_is_refused(monkeypatch):
    from dataclasses import replace

    from cases.vector import rosenbrock, rosenbrock_gradient

    wrong = (("gradient", lambda xp, x: rosenbrock_gradient(xp, x) * 1.001),)
    case = replace(rosenbrock(6), closed_forms=wrong)
    monkeypatch.setattr(reference_mod, "MPMATH_BUDGET", 1)
    monkeypatch.setattr(reference_mod, "_cache", {})
    with pytest.raises(ReferenceMismatch):
        reference(case, 1, case.points()[:4], "gradient")


def test_the_points_file_holds_the_signed_function(tmp_path):
    import harness

    df = harness.run(cases="tanh", methods="central", dtypes="float64", orders="1", sizes="quick",
                     timing={"rounds": 0}, out=tmp_path)
    import pandas as pd

    points = pd.read_parquet(df.attrs["path"].replace(".parquet", ".points.parquet")).set_index("x")
    assert points.loc[-5.0, "f"] == pytest.approx(float(mpmath.tanh(-5)), rel=1e-15)  # −0.99991: not |f|
    assert points.loc[5.0, "f"] == pytest.approx(float(mpmath.tanh(5)), rel=1e-15)
    assert (np.sign(points["f"]) == np.sign(points.index)).all()  # tanh is odd: an S, not a V


def test_a_true_value_beyond_the_dtype_is_out_of_range():
    from harness.truth.accuracy import beyond_range

    ref = reference_mod.Reference(np.array([1.0, 2.0]), np.array([3.0, 1e39]), np.zeros(2),
                                  np.array([1.0, -2.0]), np.array([True, True]), ["3", "1e39"], "closed form")
    assert "beyond float32's largest number" in beyond_range(ref, "float32", "derivative")
    assert "the true derivative reaches 1e+39 at 1 of 2 values" in beyond_range(ref, "float32", "derivative")
    assert beyond_range(ref, "float64", "derivative") == ""
    undefined_there = reference_mod.Reference(ref.x, ref.hi, ref.lo, ref.f, np.array([True, False]),
                                              ref.text, "")
    assert beyond_range(undefined_there, "float32", "derivative") == ""  # a kink's value is not graded


def test_nested_polynomial_at_depth_4_is_out_of_range_in_float32():
    import harness

    p = lambda x: 2 * x**3 - 3 * x**2 + 5  # noqa: E731
    with mpmath.workdps(30):  # independently: (p∘p∘p∘p)'(−5) lies beyond float32's 3.4e38
        assert abs(mpmath.diff(lambda x: p(p(p(p(x)))), -5)) > np.finfo(np.float32).max
    df = harness.run(cases="nested_polynomial", methods="central", dtypes="float32,float64", orders="1",
                     timing={"rounds": 0}).set_index(["size", "dtype"])
    assert df.loc[("depth=4", "float32"), "status"] == "out_of_range"
    assert "beyond float32's largest number" in df.loc[("depth=4", "float32"), "message"]
    assert df.loc[("depth=4", "float64"), "status"] == "ok"
    assert df.loc[("depth=3", "float32"), "status"] == "ok"  # a checker that says no where it should
