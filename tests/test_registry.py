"""Registries: selection by names and globs, and the public extension API."""

import numpy as np
import pytest

import harness
from harness.extend import Case, Evaluator, Method, register_case, register_method
from harness.model.namespaces import namespace
from harness.model.registry import CASES, METHODS, UsageError, load_plugin


def test_glob_selection_keeps_registry_order():
    assert [c.name for c in CASES.select("s*")] == ["square", "sin_square", "softplus", "sqrt",
                                                          "softmax_xent"]
    assert [m.name for m in METHODS.select("central,*ward")] == ["forward", "backward", "central"]


def test_unknown_name_suggests():
    with pytest.raises(UsageError, match="did you mean softplus"):
        CASES.select("sofplus")


def test_family_is_checked():
    with pytest.raises(ValueError, match="family"):
        Method("x", "magic", lambda cell: None)


def test_register_from_code(untimed, monkeypatch):
    monkeypatch.setattr(CASES, "_entries", CASES.all())  # restored afterwards: others see the built-ins
    monkeypatch.setattr(METHODS, "_entries", METHODS.all())
    register_case(Case("test_quartic", lambda xp, x: x**4, "x⁴", domain=(-1, 1), grid=11,
                       orders=(1, 2)))

    def prepare(cell):  # an exact derivative for x⁴, written by hand
        k = cell.order
        coef = {1: 4.0, 2: 12.0}[k]
        return Evaluator(call=lambda x: coef * x ** (4 - k))

    register_method(Method("test-exact-quartic", "symbolic", prepare, max_order=2))
    df = harness.run(cases="test_quartic", methods="test-exact-quartic", dtypes="float64", timing=untimed)
    assert list(df.status) == ["ok", "ok"] and (df.digits >= 15).all()


def test_plugin_errors_are_usage_errors(tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('bad plugin')\n")
    with pytest.raises(UsageError, match="broken.py failed to load: RuntimeError: bad plugin"):
        load_plugin(broken)


def test_a_case_is_one_definition_for_every_backend():
    """The same fn(xp, x) gives the same values in NumPy, JAX, PyTorch, mpmath and SymPy."""
    import jax
    import mpmath
    import sympy
    import torch

    jax.config.update("jax_enable_x64", True)  # as the jax methods do: float64 stays float64

    x = np.array([-1.5, 0.25, 2.0])
    for name in ("square", "sin_square", "tanh", "softplus", "exp_sin", "cubic", "abs"):
        case = CASES.case(name)
        expected = [float(case.fn(namespace("mpmath"), mpmath.mpf(v))) for v in x]
        s = sympy.Symbol("s")
        expr = case.fn(namespace("sympy"), s)
        got = {
            "numpy": case.fn(namespace("numpy"), x),
            "jax": np.asarray(case.fn(namespace("jax"), x)),
            "torch": case.fn(namespace("torch"), torch.tensor(x)).numpy(),
            "sympy": [float(expr.subs(s, v)) for v in x],
        }
        for backend, values in got.items():
            np.testing.assert_allclose(values, expected, rtol=1e-14, err_msg=f"{case.name} {backend}")
