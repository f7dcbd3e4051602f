"""The optional AD libraries through the harness: autograd, MyGrad, num-dual, TensorFlow, Tangent.

Each library's tests are skipped when it is not installed.  The exact answers are
independent of every method and of the harness's reference: tanh'(2) = sech²(2) from
mpmath, cubic'(1) = 4, and Rosenbrock's gradient in closed form.  Tangent does not
import on current Python stacks: it must stay listed as ``unavailable`` with its import
error.
"""

from __future__ import annotations

import importlib

import mpmath
import numpy as np
import pytest

import harness
from harness.extend import Case, Cell, Method, register_case, register_method
from harness.methods import (
    autograd_method,
    mygrad_method,
    num_dual_method,
    tangent_method,
    tensorflow_method,
)
from harness.model.method import availability
from harness.model.registry import CASES, METHODS
from tests.closed_forms import rosenbrock_gradient

ALL = ("derivative", "gradient", "hessian", "jacobian", "jvp", "vjp", "mixed_partial")
# The declarations proposed for harness/methods/__init__.py; a registration already there wins.
DECLARED = {
    "autograd": Method(
        "autograd", "automatic", autograd_method.prepare, requires=("autograd",), quantities=ALL,
        max_order=4, mode="forward+reverse", backend="autograd",
        batched="sum trick: one reverse pass for all points",
        description="HIPS autograd: elementwise_grad, jacobian, make_jvp / make_vjp"),
    "mygrad": Method(
        "mygrad", "automatic", mygrad_method.prepare, requires=("mygrad",),
        quantities=("derivative", "gradient", "jacobian", "vjp"), mode="reverse", backend="mygrad",
        batched="sum trick: one backward pass for all points",
        description="MyGrad Tensor.backward (first order only)"),
    "num-dual": Method(
        "num-dual", "automatic", num_dual_method.prepare, requires=("num_dual",),
        quantities=("derivative", "gradient", "hessian", "jacobian", "jvp", "mixed_partial"),
        max_order=4, dtypes=("float64",), mode="forward", backend="num_dual",
        batched="Python loop over points",
        description="num-dual (hyper-)dual numbers: first/second/third_derivative, gradient, hessian"),
    "tensorflow": Method(
        "tensorflow", "automatic", tensorflow_method.prepare, requires=("tensorflow",), quantities=ALL,
        max_order=4, mode="forward+reverse", backend="tensorflow",
        batched="tape over all points; batch_jacobian",
        description="tf.GradientTape in tf.function; ForwardAccumulator for jvp"),
    "tangent": Method(
        "tangent", "automatic", tangent_method.prepare, requires=("tangent",), dtypes=("float64",),
        mode="reverse", backend="tangent", batched="Python loop over points",
        description="Google Tangent, source transformation (unmaintained: does not import on Python 3.11)"),
}
WORKING = ["autograd", "mygrad", "num-dual", "tensorflow"]
FLOAT32 = ["autograd", "mygrad", "tensorflow"]  # num-dual has 64-bit duals only

ROSEN5 = Case(
    "rosen5",
    lambda xp, x: xp.sum(100 * (x[..., 1:] - x[..., :-1] ** 2) ** 2 + (1 - x[..., :-1]) ** 2, axis=-1),
    "rosenbrock", dim=5, domain=(-2, 2), grid=10, quantities=("gradient",),
)
# the other scalar-output quantities on the same function
ROSEN5_MORE = Case("test_optional_rosen5_more", ROSEN5.fn, "rosenbrock", dim=5, domain=(-2, 2), grid=10,
                   quantities=("hessian", "jvp", "vjp", "mixed_partial"), mixed=(1, 2))
# a vector-valued case without constants: indexing, stack, tanh, log1p
TWIST = Case(
    "test_optional_twist",
    lambda xp, x: xp.stack([x[..., 0] * xp.cos(x[..., 1]) + xp.exp(x[..., 2]),
                            xp.tanh(x[..., 0] * x[..., 2]) + xp.log1p(x[..., 1] ** 2)], axis=-1),
    "(x₀ cos x₁ + e^x₂, tanh(x₀x₂) + log(1 + x₁²))", dim=3, out_dim=2, domain=(-1, 1), grid=10,
    quantities=("jacobian", "jvp", "vjp"),
)
# The import errors observed for tangent 0.1.9 on Python 3.11 (see harness/methods/tangent_method.py).
TANGENT_IMPORT_ERRORS = (
    "No module named 'tangent'",  # not installed
    "module 'gast' has no attribute 'Num'",  # pip install tangent: current gast
    "module 'tensorflow' has no attribute 'to_float'",  # with gast==0.2.2: TensorFlow 2
    "No module named 'astor'",  # pip install --no-deps tangent
)


@pytest.fixture(scope="module", autouse=True)
def registered():
    """Register the methods and cases on a copy of the registries, restored afterwards,
    so that other tests see exactly the built-ins."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(CASES, "_entries", CASES.all())
        patch.setattr(METHODS, "_entries", METHODS.all())
        for name, method in DECLARED.items():
            if name not in METHODS.all():
                register_method(method)
        for case in (ROSEN5, ROSEN5_MORE, TWIST):
            register_case(case)
        yield


def needs(name: str):
    """Skip unless the method's library imports (any import error: installed but broken counts too)."""
    status = availability(METHODS.get(name))
    if status != "available":
        pytest.skip(f"{name}: {status}")


def digits(value: float, truth) -> float:
    err = abs(mpmath.mpf(value) - truth) / abs(truth)
    return 17.0 if err == 0 else float(-mpmath.log10(err))


def at(points, case: str, x: float) -> float:
    p = points[(points.case == case) & (points.x == x)]
    assert len(p) == 1, (case, x)
    return float(p.value.iloc[0])


@pytest.mark.parametrize("name", WORKING)
def test_seed_derivatives_to_14_digits(name, fast):
    needs(name)
    df = harness.run(cases="tanh,cubic", methods=name, dtypes="float64",
                     orders="1", timing=fast, sizes="quick")
    assert (df.status == "ok").all(), df[["case", "message"]]
    points = df.attrs["points"]
    with mpmath.workdps(40):
        assert digits(at(points, "tanh", 2.0), mpmath.sech(2) ** 2) >= 14
        assert digits(at(points, "cubic", 1.0), mpmath.mpf(4)) >= 14


@pytest.mark.parametrize("name", WORKING)
def test_rosenbrock_gradient(name, untimed):
    needs(name)
    df = harness.run(cases="rosen5", methods=name, dtypes="float64", timing=untimed)
    row = df.iloc[0]
    assert row.status == "ok" and row.digits >= 13, (row.message, row.digits)
    # the same values against the closed form, straight from the method
    method, x = METHODS.get(name), ROSEN5.points()
    evaluator = method.prepare(Cell(ROSEN5, 1, "float64", "cpu", "gradient"))
    grad = evaluator.to_numpy(evaluator.call(evaluator.to_device(x)))
    ref = rosenbrock_gradient(x)
    assert grad.shape == (len(x), 5)
    np.testing.assert_allclose(grad, ref, rtol=1e-13, atol=1e-13 * np.abs(ref).max())


@pytest.mark.parametrize("name", WORKING)
def test_declared_vector_quantities(name, untimed):
    """Every other declared quantity is exact to rounding; what is not declared is refused."""
    needs(name)
    method = METHODS.get(name)
    df = harness.run(cases="test_optional_rosen5_more,test_optional_twist", methods=name,
                     dtypes="float64", timing=untimed)
    for row in df.itertuples():
        if row.quantity in method.quantities:
            assert row.status == "ok" and row.digits >= 12, (row.case, row.quantity, row.message)
        else:
            assert row.status == "unsupported", (row.case, row.quantity, row.message)


@pytest.mark.parametrize("name", WORKING)
def test_higher_orders(name, untimed):
    needs(name)
    df = harness.run(cases="cubic,tanh", methods=name, dtypes="float64",
                     orders="2,3,4", timing=untimed, sizes="quick")
    for row in df.itertuples():
        if row.order > METHODS.get(name).max_order:
            assert row.status == "unsupported", (row.order, row.message)
        else:
            # tanh''' keeps 11.9 in the tails: tanh' = 1 − tanh² cancels there for every method
            least = 11.5 if row.case == "tanh" else 14
            assert row.status == "ok" and row.digits >= least, (row.case, row.order, row.digits)


@pytest.mark.parametrize("name", FLOAT32)
def test_float32_is_computed_in_float32(name, untimed):
    # float32 has 24 bits: about 7.2 digits; a silent float64 upcast would show ~15
    needs(name)
    df = harness.run(cases="sin_square", methods=name, dtypes="float32", orders="1", timing=untimed)
    points = df.attrs["points"]
    p = points[points.x == np.float32(1.0)]
    assert df.iloc[0].status == "ok" and len(p) == 1
    assert 6 <= -np.log10(p.rel_err.iloc[0]) <= 8.5


def test_num_dual_refuses_float32(untimed):
    needs("num-dual")
    df = harness.run(cases="tanh", methods="num-dual", dtypes="float32",
                     orders="1", timing=untimed, sizes="quick")
    assert df.iloc[0].status == "unsupported" and "float32" in df.iloc[0].message


@pytest.mark.parametrize("name", WORKING)
def test_linear_map_with_a_constant_matrix(name, fast):
    needs(name)
    df = harness.run(cases="linear_map", methods=name, dtypes="float64", sizes="quick", timing=fast)
    for row in df.itertuples():
        if row.status != "unsupported":
            assert row.status == "ok" and row.digits >= 14, (row.quantity, row.message)


def test_tangent_is_listed_unavailable_with_its_import_error(fast):
    try:
        importlib.import_module("tangent")
    except Exception as exc:  # any import failure makes it unavailable, as in the runner
        expected = f"cannot import tangent: {exc}"
    else:
        pytest.skip("tangent imports here: its cells are measured, not reported unavailable")
    assert any(reason in expected for reason in TANGENT_IMPORT_ERRORS), expected
    # the message is the import error, then why tangent cannot be made to import here
    status = availability(METHODS.get("tangent"))
    assert status.startswith(f"unavailable: {expected} (") and "'gast' has no attribute 'Num'" in status
    df = harness.run(cases="tanh", methods="tangent", dtypes="float64",
                     orders="1", timing=fast, sizes="quick")
    assert df.iloc[0].status == "unavailable"
    assert df.iloc[0].message == status.removeprefix("unavailable: ")


def test_tensorflow_pow_gradient_is_nan_at_zero(fast, monkeypatch):
    """TensorFlow's d/dx pow(x, 0) = 0·pow(x, −1) is 0·∞ at x = 0: 2x²'s third derivative is NaN
    there (see harness/methods/tensorflow_method.py); the harness reports it as a failure."""
    needs("tensorflow")
    cubic = CASES.case("cubic")
    monkeypatch.setattr(CASES, "_entries", CASES.all())  # the case leaves with this test
    register_case(Case("test_optional_cubic_at_0", cubic.fn, cubic.formula, grid=11, orders=(2, 3)))
    df = harness.run(cases="test_optional_cubic_at_0", methods="tensorflow", dtypes="float64",
                     timing=fast)
    by_order = {row.order: row for row in df.itertuples()}
    assert by_order[2].status == "ok" and by_order[2].digits == 17
    assert by_order[3].status == "failed"
    assert by_order[3].message == "BadResult: 1 of 11 points are NaN or infinite"
