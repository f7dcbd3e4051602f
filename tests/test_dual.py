"""Our truncated-Taylor forward mode (``harness.methods.taylor``, method ``dual``) against independent values.

References are closed forms (sech², the cubic's derivatives, Rosenbrock's gradient
by hand, a linear map's Jacobian) and mpmath's own numerical derivatives at 40
digits; then the method runs through the harness, which grades it against its
mpmath/SymPy references, and a deliberately broken variant must be caught.
"""

from __future__ import annotations

import math
from functools import partial
from types import SimpleNamespace

import mpmath
import numpy as np
import pytest

import harness
from harness.extend import Case, Cell, Method, register_case, register_method
from harness.methods import dual_method
from harness.methods.taylor import Taylor, taylor_xp
from harness.model.namespaces import constant, namespace
from harness.model.registry import CASES, METHODS
from tests.closed_forms import rosenbrock_gradient

MP = namespace("mpmath")
ORDERS = (1, 2, 3, 4)


def mp_derivatives(fn, x, order: int) -> np.ndarray:
    """mpmath.diff of ``fn(mpmath namespace, t)`` at each point, at 40 digits: independent of
    harness.methods.taylor."""
    with mpmath.workdps(40):
        return np.array([float(mpmath.diff(lambda t: fn(MP, t), mpmath.mpf(float(v)), order)) for v in x])


def assert_digits(value, ref, rtol=1e-14, floor=1e-2):
    """|value − ref| ≤ rtol·max(|ref|, floor·max|ref|): relative, except next to a zero of ref."""
    value, ref = np.asarray(value, float), np.asarray(ref, float)
    scale = np.maximum(np.abs(ref), floor * np.abs(ref).max())
    worst = np.max(np.abs(value - ref) / scale)
    assert worst <= rtol, f"relative error {worst:.3g} > {rtol:g}"


def dual_derivative(fn, x, order: int) -> np.ndarray:
    return fn(taylor_xp, Taylor.variable(np.asarray(x), order)).derivative(order)


# -- scalar derivatives against closed forms and mpmath ---------------------------------


def test_tanh_prime_at_2_is_sech_squared():
    d = dual_derivative(lambda xp, x: xp.tanh(x), [2.0], 1)
    with mpmath.workdps(40):
        assert_digits(d, [float(mpmath.sech(2) ** 2)], rtol=2e-16)


def test_tanh_prime_keeps_its_digits_in_the_tails():
    # 1 − tanh² would cancel at x = 8 (keeping ~9 digits); sech² from e^(−2|x|) does not
    x = np.array([-8.0, 8.0, 15.0])
    with mpmath.workdps(40):
        ref = [float(mpmath.sech(v) ** 2) for v in x]
    assert_digits(dual_derivative(lambda xp, x: xp.tanh(x), x, 1), ref, rtol=1e-15, floor=0)


@pytest.mark.parametrize("order, at_1, at_2", [(1, 4, 17), (2, 10, 16), (3, 6, 6), (4, 0, 0)])
def test_cubic_derivatives_are_exact(order, at_1, at_2):
    # x³ + 2x² − 3x + 1: 3x² + 4x − 3, 6x + 4, 6, 0; small integers, exact in binary
    d = dual_derivative(CASES.case("cubic").fn, [1.0, 2.0], order)
    assert d.tolist() == [at_1, at_2]


POINTS = {"everywhere": [-1.7, -0.4, 0.3, 0.7, 1.3, 2.1], "positive": [0.3, 0.7, 1.3, 2.1],
          "above -1": [-0.6, -0.2, 0.3, 0.7, 1.3, 2.1]}
ELEMENTARY = {"sin": "everywhere", "cos": "everywhere", "tan": "everywhere", "tanh": "everywhere",
              "exp": "everywhere", "log": "positive", "log1p": "above -1", "sqrt": "positive"}


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("name", ELEMENTARY)
def test_elementary_functions_against_mpmath(name, order):
    x = POINTS[ELEMENTARY[name]]
    fn = lambda xp, t: getattr(xp, name)(t)  # noqa: E731
    assert_digits(dual_derivative(fn, x, order), mp_derivatives(fn, x, order))


ARITHMETIC = {
    "quotient": lambda xp, x: (x**3 - 2) / (x**2 + 1),
    "reciprocal": lambda xp, x: 1 / x,
    "negative power": lambda xp, x: x**-3,
    "real power": lambda xp, x: x**2.5,
    "real power of a polynomial": lambda xp, x: (1 + x**2) ** 1.5,
    "cube root": lambda xp, x: x ** (1 / 3),
    "constant base": lambda xp, x: 2**x,
    "x to the x": lambda xp, x: x**x,
    "mixed": lambda xp, x: xp.sqrt(x) / (1 + x**2) - xp.log(x) * xp.exp(-x) / 3 - (x - 1) * -x,
}


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("name", ARITHMETIC)
def test_division_and_powers_against_mpmath(name, order):
    x = POINTS["positive"]
    fn = ARITHMETIC[name]
    # floor 5%: the quotient's third derivative nearly vanishes at 1.3 (0.10, against 7.3 at 0.3)
    assert_digits(dual_derivative(fn, x, order), mp_derivatives(fn, x, order), floor=0.05)


def test_abs_is_sign_times_the_derivative_and_zero_at_the_kink():
    d = dual_derivative(lambda xp, x: xp.abs(x), [-2.0, 0.0, 1.0], 1)
    assert d.tolist() == [-1.0, 0.0, 1.0]


def test_x_squared_at_zero_needs_no_division():
    assert dual_derivative(lambda xp, x: x**2, [0.0], 2).tolist() == [2.0]


@pytest.mark.parametrize("name", [*ELEMENTARY, "abs"])
def test_float32_stays_float32(name):
    x = np.array([0.3, 0.7, 1.3], np.float32)
    fn = lambda xp, t: getattr(xp, name)(3 * t + 0.5) / 2 - t**2  # noqa: E731
    for order in ORDERS:
        d = dual_derivative(fn, x, order)
        assert d.dtype == np.float32
        np.testing.assert_allclose(d, dual_derivative(fn, x.astype(np.float64), order), rtol=2e-5)


# -- the Taylor array itself -----------------------------------------------------------


def test_numpy_on_the_left_defers_to_taylor():
    t = Taylor.variable(np.array([1.0, 2.0]), 1)
    a = np.array([3.0, 5.0])
    for result, value, slope in [
        (np.float64(2.0) * t, [2, 4], [2, 2]),
        (a + t, [4, 7], [1, 1]),
        (a - t, [2, 3], [-1, -1]),
        (a / t, [3, 2.5], [-3, -1.25]),
        (np.float64(2.0) ** t, [2, 4], [2 * math.log(2), 4 * math.log(2)]),
    ]:
        assert isinstance(result, Taylor)
        np.testing.assert_allclose(result.c, [value, slope], rtol=1e-15)


def test_indexing_keeps_the_coefficient_axis():
    t = Taylor(np.arange(24.0).reshape(2, 3, 4))
    assert t[..., 1:].c.tolist() == t.c[:, :, 1:].tolist()
    assert t[..., 2].shape == (3,) and t[0].shape == (4,) and t[1, 3].c.tolist() == [7.0, 19.0]


def test_matmul_with_a_constant_matrix_on_either_side():
    w = np.array([[1.0, -2.0, 0.5], [0.25, 1.5, -1.0]])
    v = Taylor.variable(np.array([1.0, 2.0, 3.0]), 1, np.array([0.0, 1.0, 0.0]))
    left = w @ v  # W v and its derivative W e₁
    assert isinstance(left, Taylor) and left.c.tolist() == [(w @ v.c[0]).tolist(), w[:, 1].tolist()]
    batch = Taylor.variable(np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 4.0]]), 1)
    assert (batch @ w.T).c.tolist() == [(batch.c[0] @ w.T).tolist(), (np.ones((2, 3)) @ w.T).tolist()]
    columns = Taylor(np.stack([batch.c[0].T, np.ones((3, 2))]))  # value shape (3, 2): W @ X
    assert (w @ columns).c.tolist() == [(w @ batch.c[0].T).tolist(), (w @ np.ones((3, 2))).tolist()]


def test_constant_gives_plain_numpy_that_taylor_accepts():
    x = Taylor.variable(np.ones((4, 3), np.float32), 1)
    w = constant(taylor_xp, np.eye(3), x)
    assert type(w) is np.ndarray and w.dtype == np.float32 and (x @ w).dtype == np.float32


def test_stack_and_sum_of_taylors_and_constants():
    x = Taylor.variable(np.array([[1.0, 2.0], [3.0, 4.0]]), 1)
    s = taylor_xp.stack([x[..., 0], 5.0, x[..., 1] ** 2], axis=-1)
    assert s.shape == (2, 3)
    assert s.c.tolist() == [[[1, 5, 4], [3, 5, 16]], [[1, 0, 4], [1, 0, 8]]]
    assert taylor_xp.sum(s, axis=-1).c.tolist() == [[10, 24], [5, 9]]
    assert taylor_xp.sum(s).c.tolist() == [34, 14]
    assert taylor_xp.sum(s, axis=0).c.tolist() == [[4, 10, 20], [2, 0, 12]]
    first = taylor_xp.stack([x[0], x[1]], axis=0)  # axis 0 of the values, not of the coefficients
    assert first.shape == (2, 2) and first.c.tolist() == x.c.tolist()


# -- vector cases through the method ---------------------------------------------------------

ROSENBROCK = Case(
    "test_dual_rosenbrock",
    lambda xp, x: xp.sum(100 * (x[..., 1:] - x[..., :-1] ** 2) ** 2 + (1 - x[..., :-1]) ** 2, axis=-1),
    "Σ 100(x_{i+1} − x_i²)² + (1 − x_i)²", domain=(-2.0, 2.0), grid=30, dim=5,
    quantities=("gradient", "jvp", "hessian"),
)
W = np.array([[1.0, -2.0, 0.5, 3.0], [0.25, 1.5, -1.0, 2.0], [-0.75, 0.0, 2.5, -1.25]])
LINEAR = Case("test_dual_linear", lambda xp, x: x @ constant(xp, W.T, x), "W x", domain=(-1.0, 1.0),
              grid=20, dim=4, out_dim=3, quantities=("jacobian", "jvp"))
# f(x) = (x₀x₁, sin x₂, x₀/x₃): stack, indexing and a quotient in one vector case
MIXED = Case("test_dual_mixed", lambda xp, x: xp.stack([x[..., 0] * x[..., 1], xp.sin(x[..., 2]),
                                                          x[..., 0] / x[..., 3]], axis=-1),
             "(x₀x₁, sin x₂, x₀/x₃)", domain=(0.5, 2.0), grid=20, dim=4, out_dim=3, quantities=("jacobian",))


def evaluate(case, quantity, x):
    return dual_method.prepare(Cell(case, 1, str(x.dtype), "cpu", quantity)).call(x)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_rosenbrock_gradient_and_jvp(dtype):
    x = ROSENBROCK.points().astype(dtype)
    ref = rosenbrock_gradient(x.astype(np.float64))
    grad, jvp = evaluate(ROSENBROCK, "gradient", x), evaluate(ROSENBROCK, "jvp", x)
    assert grad.shape == (len(x), 5) and jvp.shape == (len(x),)
    assert grad.dtype == jvp.dtype == dtype
    rtol = 1e-13 if dtype == "float64" else 1e-4
    assert_digits(grad, ref, rtol=rtol, floor=1e-3)
    assert_digits(jvp, ref @ ROSENBROCK.tangent(), rtol=rtol, floor=1e-3)


def test_linear_map_jacobian_is_its_matrix():
    x = LINEAR.points()
    jac = evaluate(LINEAR, "jacobian", x)
    assert jac.shape == (len(x), 3, 4) and (jac == W).all()
    np.testing.assert_allclose(evaluate(LINEAR, "jvp", x), np.tile(W @ LINEAR.tangent(), (len(x), 1)),
                               rtol=1e-15)


def test_mixed_vector_case_jacobian():
    x = MIXED.points()
    x0, x1, x2, x3 = x.T
    zero = np.zeros_like(x0)
    ref = np.stack([np.stack([x1, x0, zero, zero], -1), np.stack([zero, zero, np.cos(x2), zero], -1),
                    np.stack([1 / x3, zero, zero, -x0 / x3**2], -1)], axis=1)
    assert_digits(evaluate(MIXED, "jacobian", x), ref, rtol=1e-15, floor=1e-3)


@pytest.mark.parametrize("quantity", ["hessian", "vjp", "mixed_partial"])
def test_its_declaration_refuses_what_forward_order_one_cannot_do(quantity, untimed, monkeypatch):
    monkeypatch.setattr(CASES, "_entries", CASES.all())  # restored afterwards
    case = register_case(Case("test_dual_refused", ROSENBROCK.fn, "", dim=5, quantities=(quantity,)))
    cell = Cell(case, 2, "float64", "cpu", quantity)
    assert METHODS.get("dual").unsupported_reason(cell) == f"dual does not compute a {quantity}"
    row = harness.run(cases=case.name, methods="dual", dtypes="float64", timing=untimed).iloc[0]
    assert (row.status, row.message) == ("unsupported", f"dual does not compute a {quantity}")


# -- through the harness ---------------------------------------------------------------------

def _wrong_sign_sin(a):
    s = taylor_xp.sin(a)
    return Taylor(np.concatenate([s.c[:1], -s.c[1:]]))  # sin right, every derivative negated


BROKEN_XP = SimpleNamespace(**{**vars(taylor_xp), "sin": _wrong_sign_sin})
BROKEN = Method("test-dual-broken-sin", "automatic", partial(dual_method.prepare, xp=BROKEN_XP), max_order=4)


@pytest.fixture(scope="module")
def graded(untimed):
    """The built-in dual beside a broken copy, on copies of the registries restored afterwards
    (other modules see exactly the built-ins)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(CASES, "_entries", CASES.all())
        patch.setattr(METHODS, "_entries", METHODS.all())
        register_method(BROKEN)
        for case in (ROSENBROCK, LINEAR, MIXED):
            register_case(case)
        scalar = harness.run(cases="tanh,cubic,sin_square", methods="dual,test-dual-broken-sin",
                             dtypes="float64", orders="1,2,3,4", timing=untimed, sizes="quick")
        vector = harness.run(cases=[c.name for c in (ROSENBROCK, LINEAR, MIXED)], methods="dual",
                             dtypes="float64,float32", timing=untimed)
    return scalar, vector


def rows(df, **where):
    mask = np.ones(len(df), bool)
    for column, value in where.items():
        mask &= df[column] == value
    return df[mask]


def test_harness_grades_dual_exact_on_scalar_cases(graded):
    scalar, _ = graded
    dual = rows(scalar, method="dual")
    assert len(dual) == 3 + 4 + 2 and (dual.status == "ok").all(), dual[["case", "order", "message"]]
    for _, row in dual.iterrows():
        # tanh''' keeps 13.4: the rounding of tanh(x) itself, next to a zero (next test)
        least = 13.3 if (row.case, row.order) == ("tanh", 3) else 14
        assert row.digits >= least, f"{row.case} order {row.order}: {row.digits:.2f} digits"


def test_tanh_third_derivative_loses_only_what_rounding_tanh_loses(graded):
    """tanh''' = 2 sech²x (3 tanh²x − 1) vanishes at artanh(1/√3) ≈ 0.6585; at the grid point
    0.6566 the exact formula applied to the correctly rounded tanh(x) already errs by 4·10⁻¹⁴."""
    scalar, _ = graded
    points = rows(scalar.attrs["points"], method="dual", case="tanh", order=3)
    worst = points.loc[points.rel_err.idxmax()]
    x = float(worst.x)
    with mpmath.workdps(40):
        t = mpmath.mpf(float(np.tanh(x)))
        from_rounded = 2 * mpmath.sech(x) ** 2 * (3 * t**2 - 1)
        ref = mpmath.diff(mpmath.tanh, x, 3)
        inherent = float(abs(from_rounded - ref) / abs(ref))
    assert abs(abs(x) - 0.6566) < 1e-3 and inherent > 1e-14  # 14 digits there would need better than tanh(x)
    assert worst.rel_err <= 2 * inherent


def test_harness_catches_a_wrong_sign_in_sin(graded):
    scalar, _ = graded
    broken = rows(scalar, method="test-dual-broken-sin", case="sin_square")
    assert (broken.status == "ok").all() and (broken.digits < 3).all(), broken[["order", "digits"]]
    assert (rows(scalar, method="test-dual-broken-sin", case="cubic").digits >= 14).all()  # no sin in it


def test_harness_grades_vector_quantities(graded):
    _, vector = graded
    measured = rows(vector, quantity="hessian")
    assert (measured.status == "unsupported").all() and len(measured) == 2
    ok = vector[vector.quantity != "hessian"]
    assert (ok.status == "ok").all(), ok[["case", "quantity", "message"]]
    assert (rows(ok, dtype="float64").digits >= 14).all()
    assert (rows(ok, dtype="float32").digits >= 5).all()
