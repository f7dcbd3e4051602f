"""The numerical methods of harness.methods.stencils and .library_numerical.

Graded twice: directly against closed forms written here (mpmath and by hand),
and through the harness with the registration lines proposed for
harness/methods/__init__.py.  Bands (float64, at the seeds' points): complex
step ≥ 14 digits; Richardson, scipy.differentiate, numdifftools ≥ 12;
central4 ≥ 11; approx_fprime (a forward difference) 6–9.5.
"""

from __future__ import annotations

import importlib
import sys

import mpmath
import numpy as np
import pytest

import harness
from harness.extend import Case, Cell, Method, register_case, register_method
from harness.methods import library_numerical, stencils
from harness.model.method import availability
from harness.model.namespaces import namespace
from harness.model.registry import CASES, METHODS
from tests.closed_forms import rosenbrock_gradient, rosenbrock_hessian

FIRST = ("derivative", "gradient", "jacobian")
STENCIL = "batched stencil: all points, all coordinates at once"


def proposed_methods() -> list[Method]:
    """The registration lines proposed for harness/methods/__init__.py."""
    return [
        Method("central4", "numerical", stencils.prepare_central4, quantities=FIRST, max_order=2,
               batched=STENCIL, description="4th-order central stencil, h = ε^(1/5)·max(1,|x|)"),
        Method("complex-step", "numerical", stencils.prepare_complex_step, quantities=(*FIRST, "jvp"),
               batched=STENCIL, analytic_only=True,
               description="Im f(x + ih)/h, h = 1e-200 (complex64: 1e-30)"),
        Method("richardson", "numerical", stencils.prepare_richardson, quantities=("derivative", "gradient"),
               max_order=2, batched="vectorised; each point stops on its own error estimate",
               description="Neville table of central differences at h, h/2, h/4, … (Ridders)"),
        Method("np-gradient", "numerical", library_numerical.prepare_np_gradient,
               batched="sampled data: f on the given sorted points",
               description="np.gradient(f(x), x, edge_order=2): spacing = the grid's"),
        Method("scipy-approx-fprime", "numerical", library_numerical.prepare_scipy_approx_fprime,
               ("scipy.optimize",),
               quantities=FIRST, dtypes=("float64",), batched="no: a Python loop over points",
               description="scipy.optimize.approx_fprime, forward difference, step √ε"),
        Method("scipy-differentiate", "numerical", library_numerical.prepare_scipy_differentiate,
               ("scipy.differentiate",),
               quantities=(*FIRST, "hessian"), batched="vectorised by scipy.differentiate",
               description="scipy.differentiate derivative/jacobian/hessian, rtol = ε^(5/8)"),
        Method("numdifftools", "numerical", library_numerical.prepare_numdifftools, ("numdifftools",),
               quantities=(*FIRST, "hessian"), max_order=4, dtypes=("float64",),
               batched="Derivative vectorised; Gradient/Jacobian/Hessian: a loop over points",
               description="numdifftools Derivative/Gradient/Jacobian/Hessian (Richardson)"),
    ]


PROPOSED = {m.name: m for m in proposed_methods()}


def available(name: str) -> bool:
    """Whether the modules the method requires import here (numdifftools is an optional extra)."""
    try:
        for module in PROPOSED[name].requires:
            importlib.import_module(module)
    except ImportError:
        return False
    return True


def methods(names) -> list:
    """Parameters that skip a method whose library is not installed."""
    return [pytest.param(n, marks=pytest.mark.skipif(not available(n), reason=f"{n}: library not installed"))
            for n in names]


ROSEN5 = Case("rosen5",
              lambda xp, x: xp.sum(100*(x[..., 1:] - x[..., :-1]**2)**2 + (1 - x[..., :-1])**2, axis=-1),
              "rosenbrock", dim=5, domain=(-2, 2), grid=10, quantities=("gradient", "hessian"))


@pytest.fixture(scope="module", autouse=True)
def registered():
    """The proposed methods and rosen5, registered for this module only: other modules'
    default matrices stay as they are."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(METHODS, "_entries", METHODS.all())
        mp.setattr(CASES, "_entries", CASES.all())
        registered = {m.name: register_method(m) for m in proposed_methods()}
        register_case(ROSEN5)
        yield registered


def digits(value, exact) -> float:
    rel = abs(mpmath.mpf(float(value)) - exact) / abs(exact)
    return 17.0 if rel == 0 else float(-mpmath.log10(rel))


# --- closed forms, method by method ------------------------------------------------------------------

with mpmath.workdps(40):
    FIRST_DERIVATIVES = [  # (case, x, f'(x)) from closed forms
        ("tanh", 2.0, mpmath.sech(2) ** 2),
        ("cubic", 1.0, mpmath.mpf(4)),  # 3x² + 4x − 3
        ("cubic", 2.0, mpmath.mpf(17)),
        ("sin_square", 1.0, 2 + mpmath.cos(1)),
    ]
    SECOND_DERIVATIVES = [
        ("tanh", 2.0, -2 * mpmath.tanh(2) * mpmath.sech(2) ** 2),
        ("cubic", 1.0, mpmath.mpf(10)),  # 6x + 4
        ("sin_square", 1.0, 2 - mpmath.sin(1)),
    ]
FIRST_BANDS = {"complex-step": (14, 17), "richardson": (12, 17), "scipy-differentiate": (12, 17),
               "numdifftools": (12, 17), "central4": (11, 17),
               # a forward difference, exact by luck at cubic'(2): its truncation 8h² is 1 ulp of f(2)
               "scipy-approx-fprime": (6, 17)}
SECOND_BANDS = {"central4": (9.5, 13), "richardson": (11.5, 17), "numdifftools": (10.5, 17)}


@pytest.mark.parametrize("method", methods(FIRST_BANDS))
@pytest.mark.parametrize("case, x, exact", FIRST_DERIVATIVES)
def test_first_derivative_against_closed_form(registered, method, case, x, exact):
    evaluator = registered[method].prepare(Cell(CASES.case(case), 1, "float64", "cpu"))
    d = digits(evaluator.call(np.array([x]))[0], exact)
    lo, hi = FIRST_BANDS[method]
    assert lo <= d <= hi, f"{case}'({x}) by {method}: {d:.2f} digits"


@pytest.mark.parametrize("method", methods(SECOND_BANDS))
@pytest.mark.parametrize("case, x, exact", SECOND_DERIVATIVES)
def test_second_derivative_against_closed_form(registered, method, case, x, exact):
    evaluator = registered[method].prepare(Cell(CASES.case(case), 2, "float64", "cpu"))
    d = digits(evaluator.call(np.array([x]))[0], exact)
    lo, hi = SECOND_BANDS[method]
    assert lo <= d <= hi, f"{case}''({x}) by {method}: {d:.2f} digits"


def test_numdifftools_higher_orders_of_the_cubic(registered):
    pytest.importorskip("numdifftools")
    cubic = CASES.case("cubic")
    for order, exact in ((3, 6.0), (4, 0.0)):
        evaluator = registered["numdifftools"].prepare(Cell(cubic, order, "float64", "cpu"))
        value = evaluator.call(np.array([1.0]))[0]
        assert abs(value - exact) < 1e-6, (order, value)


# --- through the harness -----------------------------------------------------------------------------

HARNESS_BANDS = {"complex-step": 14, "richardson": 12, "scipy-differentiate": 12, "central4": 11,
                 "numdifftools": 12}
SEED_X = {"tanh": [2.0], "cubic": [1.0, 2.0]}


@pytest.fixture(scope="module")
def seed_run(registered, untimed):
    return harness.run(cases="tanh,cubic", methods=",".join(registered), dtypes="float64", orders="1",
                       timing=untimed, sizes="quick")


def point_digits(points, case, method, x) -> float:
    p = points[(points.case == case) & (points.method == method) & (points.x == x)]
    assert len(p) == 1, (case, method, x)
    err = p.rel_err.iloc[0]
    return 17.0 if err == 0 else float(-np.log10(err))


@pytest.mark.parametrize("method", methods(HARNESS_BANDS))
@pytest.mark.parametrize("case", SEED_X)
def test_float64_band_through_the_harness(seed_run, case, method):
    row = seed_run[(seed_run.case == case) & (seed_run.method == method)].iloc[0]
    assert row.status == "ok", row.message
    assert row.seed_digits >= HARNESS_BANDS[method], f"{case} by {method}: {row.seed_digits:.2f}"
    for x in SEED_X[case]:
        d = point_digits(seed_run.attrs["points"], case, method, x)
        assert d >= HARNESS_BANDS[method], f"{case}'({x}) by {method}: {d:.2f} digits"


def test_np_gradient_is_honestly_inaccurate_on_the_grid(seed_run):
    # second-order differences at the grid's spacing (10/99 on tanh): 1–4 digits, not 10+
    row = seed_run[(seed_run.case == "tanh") & (seed_run.method == "np-gradient")].iloc[0]
    assert row.status == "ok" and 1 <= row.digits <= 4, row.digits


def test_approx_fprime_loops_and_declares_it(seed_run):
    row = seed_run[(seed_run.case == "tanh") & (seed_run.method == "scipy-approx-fprime")].iloc[0]
    assert row.status == "ok" and 6 <= row.seed_digits <= 9.5
    assert "loop" in row.detail


def test_complex_step_is_wrong_on_abs_and_the_harness_shows_it(registered, untimed):
    df = harness.run(cases="abs", methods="complex-step", dtypes="float64", timing=untimed)
    row = df.iloc[0]
    assert row.status == "ok" and row.n_undefined == 1  # the kink at 0
    assert row.digits < 1, "Im|x + ih|/h is 0, not ±1: the error must show"
    points = df.attrs["points"]
    assert (points[points.x != 0.0].value == 0.0).all()


def test_float32_cells(registered, untimed):
    df = harness.run(cases="tanh", methods="complex-step,scipy-approx-fprime,numdifftools", dtypes="float32",
                     orders="1", timing=untimed, sizes="quick")
    declared_float64 = {n: "unsupported" if available(n) else "unavailable"
                        for n in ("scipy-approx-fprime", "numdifftools")}
    assert dict(zip(df.method, df.status)) == {"complex-step": "ok", **declared_float64}
    row = df[df.method == "complex-step"].iloc[0]
    assert "complex64" in row.detail and row.seed_digits >= 6  # float32 has ~7.2 digits


def test_numdifftools_is_unavailable_without_the_package(registered, monkeypatch, untimed):
    monkeypatch.setitem(sys.modules, "numdifftools", None)  # import numdifftools now raises ImportError
    df = harness.run(cases="tanh", methods="numdifftools", dtypes="float64",
                     orders="1", timing=untimed, sizes="quick")
    assert df.iloc[0].status == "unavailable" and "cannot import numdifftools" in df.iloc[0].message
    assert availability(METHODS.get("numdifftools")).startswith("unavailable: cannot import numdifftools")


# --- vector cases ------------------------------------------------------------------------------------


def vector_digits(values, exact) -> float:
    """The worst point's max error relative to that point's largest entry."""
    flat = lambda a: np.asarray(a).reshape(len(exact), -1)  # noqa: E731
    rel = np.abs(flat(values) - flat(exact)).max(axis=1) / np.abs(flat(exact)).max(axis=1)
    return float(-np.log10(rel.max()))


GRADIENT_BANDS = {"central4": 11, "complex-step": 14, "richardson": 12, "scipy-approx-fprime": 6,
                  "scipy-differentiate": 12, "numdifftools": 12}
HESSIAN_BANDS = {"scipy-differentiate": 8, "numdifftools": 12}


@pytest.mark.parametrize("method", methods(GRADIENT_BANDS))
def test_rosenbrock_gradient_against_closed_form(registered, method):
    x = ROSEN5.points()
    grad = registered[method].prepare(Cell(ROSEN5, 1, "float64", "cpu", "gradient")).call(x)
    assert grad.shape == x.shape
    d = vector_digits(grad, rosenbrock_gradient(x))
    assert d >= GRADIENT_BANDS[method], f"{method}: {d:.2f} digits"


@pytest.mark.parametrize("method", methods(HESSIAN_BANDS))
def test_rosenbrock_hessian_against_closed_form(registered, method):
    x = ROSEN5.points()
    hess = registered[method].prepare(Cell(ROSEN5, 2, "float64", "cpu", "hessian")).call(x)
    assert hess.shape == (len(x), 5, 5)
    d = vector_digits(hess, rosenbrock_hessian(x))
    assert d >= HESSIAN_BANDS[method], f"{method}: {d:.2f} digits"


def test_rosen5_through_the_harness(registered, untimed):
    df = harness.run(cases="rosen5", methods=",".join(registered), dtypes="float64", timing=untimed)
    ok = df[df.status == "ok"]
    assert set(zip(ok.method, ok.quantity)) == {
        *((m, "gradient") for m in GRADIENT_BANDS if available(m)),
        *((m, "hessian") for m in HESSIAN_BANDS if available(m))}
    assert set(df.status) <= {"ok", "unsupported", "unavailable"}
    assert set(df[df.status == "unavailable"].method) == {m for m in registered if not available(m)}
    for _, row in ok[ok.quantity == "gradient"].iterrows():
        assert row.digits >= GRADIENT_BANDS[row.method] - 1.5, (row.method, row.digits)  # floored rel. error


def test_jacobian_and_jvp_of_a_linear_map(registered):
    case = CASES.case("linear_map")  # f(x) = W x: the Jacobian is W at every point
    x = case.points()
    w = case.fn(namespace("numpy"), np.eye(case.dim)).T
    for method in ("central4", "complex-step", "scipy-approx-fprime", "scipy-differentiate", "numdifftools"):
        if not available(method):
            continue
        jac = registered[method].prepare(Cell(case, 1, "float64", "cpu", "jacobian")).call(x)
        assert jac.shape == (len(x), case.out_dim, case.dim)
        np.testing.assert_allclose(jac, np.broadcast_to(w, jac.shape), rtol=0, atol=1e-6, err_msg=method)
    jvp = registered["complex-step"].prepare(Cell(case, 1, "float64", "cpu", "jvp")).call(x)
    np.testing.assert_allclose(jvp, np.broadcast_to(w @ case.tangent(), jvp.shape), rtol=1e-14, atol=1e-15)


# --- Richardson's error estimate ---------------------------------------------------------------------

ESTIMATE_CASES = [  # (case, order, closed-form derivative in mpmath)
    ("tanh", 1, lambda t: mpmath.sech(t) ** 2),
    ("tanh", 2, lambda t: -2 * mpmath.tanh(t) * mpmath.sech(t) ** 2),
    ("cubic", 1, lambda t: 3 * t**2 + 4 * t - 3),
    ("cubic", 2, lambda t: 6 * t + 4),
    ("sin_square", 1, lambda t: mpmath.cos(t) + 2 * t),
    ("sin_square", 2, lambda t: 2 - mpmath.sin(t)),
    ("exp_sin", 1, lambda t: -2 * mpmath.exp(-2 * t) + 9 * mpmath.cos(3 * t)),
]


@pytest.mark.parametrize("case, order, exact", ESTIMATE_CASES)
def test_richardson_error_estimate_bounds_the_true_error(case, order, exact):
    c = CASES.case(case)
    xp = namespace("numpy")
    x = c.points()
    value, estimate = stencils.richardson_derivative(lambda t: c.fn(xp, t), x, order)
    with mpmath.workdps(40):
        ref = [exact(mpmath.mpf(float(t))) for t in x]
        true_err = np.array([float(abs(mpmath.mpf(float(v)) - r)) for v, r in zip(value, ref)])
    scale = max(abs(float(r)) for r in ref)
    assert np.mean(estimate >= true_err) >= 0.9, "the estimate must bound the error at most points"
    # and not by being vacuous: within the accuracy Richardson reaches
    assert np.all(np.isfinite(estimate)) and np.median(estimate) <= (1e-10 if order == 1 else 1e-7) * scale


def test_richardson_gradient_error_estimate(registered):
    x = ROSEN5.points()
    xp = namespace("numpy")
    value, estimate = stencils.richardson_gradient(lambda p: ROSEN5.fn(xp, p), x)
    true_err = np.abs(value - rosenbrock_gradient(x))
    assert np.mean(estimate >= true_err) >= 0.9
    assert np.median(estimate) <= 1e-9 * np.abs(rosenbrock_gradient(x)).max()


# --- np.gradient -------------------------------------------------------------------------------------


def test_np_gradient_is_seed_001s_computation_and_second_order(registered):
    case = CASES.case("exp_sin")
    evaluator = registered["np-gradient"].prepare(Cell(case, 1, "float64", "cpu"))
    exact = lambda t: -2 * np.exp(-2 * t) + 9 * np.cos(3 * t)  # noqa: E731
    errors = []
    for n in (200, 400):
        x = np.linspace(-5, 5, n)
        d = evaluator.call(x)
        np.testing.assert_array_equal(d, np.gradient(np.exp(-2 * x) + 3 * np.sin(3 * x), x, edge_order=2))
        errors.append(np.abs(d - exact(x)).max())
    assert 3 < errors[0] / errors[1] < 5, "halving the spacing quarters a second-order error"
    with pytest.raises(ValueError, match="sorted"):
        evaluator.call(np.array([0.0, 2.0, 1.0]))


@pytest.mark.parametrize("scheme", ["forward", "central"])
def test_stencil_in_blocks_of_coordinates_is_the_same(monkeypatch, scheme):
    # at n in the thousands the (N, n, n) stencil is taken a block of coordinates at a time
    from harness.methods import finite_diff

    x = ROSEN5.points()
    cell = Cell(ROSEN5, 1, "float64", "cpu", "gradient")
    whole = finite_diff.prepare(cell, scheme).call(x)
    monkeypatch.setattr(finite_diff, "STENCIL_ELEMENTS", 2 * len(x) * 5)  # blocks of 2 coordinates
    blocked = finite_diff.prepare(cell, scheme).call(x)
    np.testing.assert_array_equal(blocked, whole)
    assert vector_digits(blocked, rosenbrock_gradient(x)) >= (9 if scheme == "central" else 6)
