"""The built-in methods on the seeds' own points, graded by the harness itself.

Bands (float64): exact methods ≥ 14 digits; central differences 9–12.5;
one-sided 6–9.5 — what the error analysis of each predicts.
"""

import numpy as np
import pytest

import harness

BUILTIN = "sympy,forward,backward,central,jax,torch"
# the seeds' own points: tanh'(2), sin_square'(1), cubic'(1), softplus'(0); exp_sin on its grid
SEED_POINTS = {"tanh": [2.0], "sin_square": [1.0], "cubic": [1.0], "softplus": [0.0]}
BANDS = {"sympy": (14, 17), "jax": (14, 17), "torch": (14, 17),
         "central": (9, 12.5), "forward": (6, 9.5), "backward": (6, 9.5)}


@pytest.fixture(scope="module")
def run(untimed):
    return harness.run(cases="tanh,sin_square,cubic,softplus,exp_sin,abs,square", methods=BUILTIN,
                       dtypes="float64,float32", orders="1", timing=untimed, sizes="quick")


def cell(df, case, method, dtype="float64"):
    rows = df[(df.case == case) & (df.method == method) & (df.dtype == dtype)]
    assert len(rows) == 1
    return rows.iloc[0]


def point_digits(points, case, method, x, dtype="float64"):
    p = points[(points.case == case) & (points.method == method) & (points.dtype == dtype)
               & (points.x == x)]
    assert len(p) == 1, (case, method, x)
    err = p.rel_err.iloc[0]
    return 17.0 if err == 0 else -np.log10(err)


def exact_by_quantisation(method, case, x):
    """True when a one-sided difference is exact because its truncation error is
    below the rounding of f: at x = 0 the step √ε = 2⁻²⁶ is a power of two, and
    softplus(±h) = log 2 ± h/2 + h²/8 rounds to fl(log 2) ± h/2 exactly."""
    if (method, case, x) not in {("forward", "softplus", 0.0), ("backward", "softplus", 0.0)}:
        return False
    h = np.sqrt(np.finfo(np.float64).eps)
    f = lambda t: np.log(1 + np.exp(t))  # noqa: E731
    return f(h) - f(0.0) == h / 2 and f(0.0) - f(-h) == h / 2 and h ** 2 / 8 < np.spacing(np.log(2)) / 2


@pytest.mark.parametrize("method", BANDS)
@pytest.mark.parametrize("case", SEED_POINTS)
def test_float64_band_at_the_seed_points(run, case, method):
    lo, hi = BANDS[method]
    assert cell(run, case, method).status == "ok"
    for x in SEED_POINTS[case]:
        digits = point_digits(run.attrs["points"], case, method, x)
        if exact_by_quantisation(method, case, x):
            assert digits == 17, "the harness must show the exact result, not hide it"
            continue
        assert lo <= digits <= hi, f"{case}'({x}) by {method}: {digits:.2f} digits"


@pytest.mark.parametrize("method", BANDS)
def test_float64_band_on_exp_sin_seed_grid(run, method):
    lo, hi = BANDS[method]
    row = cell(run, "exp_sin", method)
    assert row.n_points == 100
    assert lo <= row.seed_digits <= hi, f"exp_sin by {method}: {row.seed_digits:.2f} digits"


@pytest.mark.parametrize("method", ["sympy", "jax", "torch"])
def test_exact_methods_are_float32_accurate_in_float32(run, method):
    # float32 has 24 bits: about 7.2 digits; the cell must show float32, not float64, results
    digits = point_digits(run.attrs["points"], "sin_square", method, np.float32(1.0), "float32")
    assert 6 <= digits <= 8.5


def test_sympy_fails_on_abs_with_its_message(run):
    row = cell(run, "abs", "sympy")
    assert row.status == "failed"
    assert "Derivative" in row.message


def test_abs_at_zero_is_not_graded_and_conventions_are_recorded(run):
    points = run.attrs["points"]
    at0 = points[(points.case == "abs") & (points.x == 0) & (points.dtype == "float64")]
    assert not at0.defined.any() and at0.abs_err.isna().all()
    value = dict(zip(at0.method, at0.value))
    # closed forms of each stencil at a kink of |x|: (|h| − 0)/h, (0 − |−h|)/h, (|h| − |−h|)/2h
    assert value["forward"] == 1 and value["backward"] == -1 and value["central"] == 0
    assert value["jax"] in (-1, 0, 1) and value["torch"] in (-1, 0, 1)
    for m in ("forward", "central", "jax", "torch"):
        row = cell(run, "abs", m)
        assert row.status == "ok" and row.n_undefined == 1 and "undefined at x=0" in row.message
        assert row.digits == 17  # exact away from the kink


def test_higher_orders(untimed):
    df = harness.run(cases="cubic", methods="sympy,jax,torch,central", dtypes="float64",
                     orders="2,3,4", timing=untimed)
    for row in df.itertuples():
        if row.method == "central":
            assert row.status == "unsupported" and "order 1" in row.message
        else:
            assert row.status == "ok" and row.digits >= 14, (row.method, row.order, row.message)


# issue bands for the wider set (float64): tanh′(2) and the cubic's 1st–4th derivatives at 1
WIDE_BANDS = {
    **dict.fromkeys(["sympy", "sympy-cse", "sympy-expand", "jax", "jax-fwd", "jax-rev", "jax-nojit",
                     "torch", "torch-func", "torch-compile", "dual"], 14),
    "complex-step": 14, "richardson": 12, "scipy-differentiate": 12, "central4": 11,
}
FIRST_ORDER_ONLY = {"complex-step", "scipy-differentiate"}


@pytest.fixture(scope="module")
def wide(untimed):
    methods = ",".join(WIDE_BANDS)
    return harness.run(cases="tanh,cubic", methods=methods, dtypes="float64", timing=untimed, sizes="quick")


@pytest.mark.parametrize("method", WIDE_BANDS)
def test_wide_bands(wide, method):
    points = wide.attrs["points"]
    targets = [("tanh", 1, 2.0)] + [("cubic", k, 1.0) for k in (1, 2, 3, 4)]
    for case, order, x in targets:
        row = wide[(wide.case == case) & (wide.method == method) & (wide.order == order)].iloc[0]
        if row.status == "unsupported":
            # the band applies where the method declares the order
            assert order > 1 and (method in FIRST_ORDER_ONLY or order > 2), (method, order)
            continue
        assert row.status == "ok", (method, case, order, row.message)
        p = points[(points.case == case) & (points.method == method) & (points.order == order)
                   & (points.x == x)]
        err = p.rel_err.iloc[0]
        digits = 17.0 if err == 0 else -np.log10(err)
        assert digits >= WIDE_BANDS[method], f"{method} {case}^({order})({x}): {digits:.2f} digits"


def test_complex_step_is_shown_wrong_on_abs(untimed):
    """Non-analytic code: Im|x + ih|/h = 0 away from the kink, where |x|' = ±1."""
    df = harness.run(cases="abs", methods="complex-step", dtypes="float64", timing=untimed)
    row = df.iloc[0]
    assert row.status == "ok" and row.digits < 1
    p = df.attrs["points"]
    assert (p.loc[p.defined, "value"] == 0).all() and (p.loc[p.defined, "ref"].abs() == 1).all()
