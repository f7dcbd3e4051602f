"""The field's workloads (cases.gradbench, cases.bundle): the objective against an independent
mpmath evaluation of the spec's formula, gradients graded at ≥ 12 digits, the references' cross-check,
the sparse Jacobian of bundle adjustment and kmeans' hvp."""

import math

import mpmath
import numpy as np
import pytest

import cases  # noqa: F401
from harness.measure.pipeline import measure_cell
from harness.model.method import Cell
from harness.model.namespaces import namespace
from harness.model.registry import CASES, METHODS

pytest.importorskip("numpy_quaddtype")


def gmm_by_hand(inputs) -> mpmath.mpf:
    """gradbench's corrected GMM log posterior, term by term in mpmath at 40 digits."""
    d, k, n, m, gamma = inputs["d"], inputs["k"], inputs["n"], inputs["m"], inputs["gamma"]
    mp = mpmath.mpf
    with mpmath.workdps(40):
        def lse(values):
            top = max(values)
            return top + mpmath.log(sum(mpmath.exp(v - top) for v in values))

        qmat = []
        for j in range(k):
            q = mpmath.zeros(d, d)
            for i in range(d):
                q[i, i] = mpmath.exp(mp(inputs["q"][j][i]))
            entry = 0
            for col in range(d):
                for row in range(col + 1, d):
                    q[row, col] = mp(inputs["l"][j][entry])
                    entry += 1
            qmat.append(q)
        alpha = [mp(a) for a in inputs["alpha"]]
        total = -n * (mp(d) / 2 * mpmath.log(2 * mpmath.pi) + lse(alpha))
        for i in range(n):
            terms = []
            for j in range(k):
                z = mpmath.matrix([mp(inputs["x"][i][c]) - mp(inputs["mu"][j][c]) for c in range(d)])
                y = qmat[j] * z
                terms.append(alpha[j] + sum(mp(v) for v in inputs["q"][j]) - sum(v * v for v in y) / 2)
            total += lse(terms)
        nu = d + m + 1
        log_gamma = mp(d * (d - 1)) / 4 * mpmath.log(mpmath.pi) + sum(
            mpmath.loggamma(mp(nu) / 2 + mp(1 - j) / 2) for j in range(1, d + 1))
        for j in range(k):
            frobenius = sum(qmat[j][r, c] ** 2 for r in range(d) for c in range(d))
            total += -mp(gamma) ** 2 / 2 * frobenius + m * sum(mp(v) for v in inputs["q"][j])
        total += k * (d * nu * mpmath.log(mp(gamma) / mpmath.sqrt(2)) - log_gamma)
        return total


def test_gmm_objective_equals_the_spec_formula_in_mpmath():
    from cases.gradbench import f32, gmm_case, gmm_generate

    inputs = {key: f32(v) if isinstance(v, np.ndarray) else v for key, v in gmm_generate(2, 5, 10).items()}
    inputs["m"], inputs["gamma"] = 2, 1.5  # the prior's every term in play
    case = gmm_case(inputs)
    value = float(case.fn(namespace("numpy"), case.points())[0])
    expected = gmm_by_hand(inputs)
    assert abs(value - float(expected)) <= 1e-14 * abs(float(expected))


@pytest.mark.parametrize("method", ["jax", "torch", "autograd"])
def test_gmm_gradients_reach_12_digits_against_mpmath(method, untimed):
    pytest.importorskip(method)
    case = CASES.get("gmm").at({"d": 2, "k": 5, "n": 10})
    cell = Cell(case, 1, "float64", "cpu", "gradient")
    row = measure_cell(METHODS.get(method), cell, "t", timing=untimed).row
    assert row.status == "ok", row.message
    assert row.digits >= 12
    assert "mpmath.diff" in row.reference and "quad-precision" in row.reference  # cross-checked to 25 digits


def test_references_agree_on_gmm_and_the_smallest_lstm():
    from harness.truth.reference import reference

    for name, size in (("gmm", {"d": 2, "k": 5, "n": 10}), ("lstm", {"l": 1, "c": 4})):
        case = CASES.get(name).at(size)
        ref = reference(case, 1, case.points(), "gradient")
        assert "cross-checked against quad-precision forward mode to 25 digits" in ref.kind


def test_the_cross_check_fails_on_a_wrong_reference():
    from harness.truth import reference as r

    case = CASES.get("gmm").at({"d": 2, "k": 5, "n": 10})
    ref = r.reference(case, 1, case.points(), "gradient")
    shifted = ref.lo + 1e-20 * np.abs(ref.hi).max()  # off in the 20th digit: beyond float64, not quad
    wrong = r.Reference(ref.x, ref.hi, shifted, ref.f, ref.defined, ref.text, ref.kind)
    with pytest.raises(r.ReferenceMismatch):
        r._cross_check(case, "gradient", wrong)


def test_central_differences_on_a_larger_gmm_are_graded_by_the_scalable_reference(untimed):
    import dataclasses

    case = CASES.get("gmm").at({"d": 10, "k": 25, "n": 1000})  # 1,650 parameters
    # past the default run's time limit for a stencil (5.8·10⁹ operations), lifted here
    central = dataclasses.replace(METHODS.get("central"), max_stencil=None, max_stencil_work=None)
    row = measure_cell(central, Cell(case, 1, "float64", "cpu", "gradient"), "t", timing=untimed).row
    assert row.status == "ok", row.message
    assert row.reference.startswith("quad-precision forward mode")
    assert 6 < row.digits < 10  # a finite difference: far from exact, far from noise


def test_ba_sparse_jacobian_from_jax_and_central_differences(untimed):
    pytest.importorskip("jax")
    case = CASES.get("ba").at({"problem": 1, "scale": 1000})
    digits = {}
    for name in ("jax", "central", "torch"):
        row = measure_cell(METHODS.get(name), Cell(case, 1, "float64", "cpu", "jacobian"), "t",
                           timing=untimed).row
        digits[name] = (row.status, row.digits)
    assert digits["jax"][0] == "ok" and digits["jax"][1] >= 12
    assert digits["central"][0] == "ok" and 5 < digits["central"][1] < 12
    assert digits["torch"][0] == "unsupported"  # a dense Jacobian only


@pytest.mark.parametrize("size", [{"problem": 1, "scale": 1000}, {"problem": 2, "scale": 300}])
def test_ba_jacobian_by_reverse_mode_over_observations_is_the_coloured_one(untimed, size):
    # jax and jax-rev take each observation's 3 × 15 block by 3 pullbacks; jax-fwd the 15 colours' jvps
    pytest.importorskip("jax")
    case = CASES.get("ba").at(size)
    found = {}
    for name in ("jax", "jax-rev", "jax-fwd"):
        cell = Cell(case, 1, "float64", "cpu", "jacobian")
        evaluator = METHODS.get(name).prepare(cell)
        assert ("groups" if name != "jax-fwd" else "colours") in evaluator.info
        found[name] = evaluator.call(evaluator.to_device(case.points()[:1]))
        row = measure_cell(METHODS.get(name), cell, "t", timing=untimed).row
        assert row.status == "ok" and row.digits >= 12, (name, row.message)
    for name in ("jax", "jax-rev"):
        assert (found[name].indptr == found["jax-fwd"].indptr).all()
        assert (found[name].indices == found["jax-fwd"].indices).all()
        np.testing.assert_allclose(found[name].data, found["jax-fwd"].data, rtol=1e-12, atol=1e-12)


def test_kmeans_hvp_is_the_hessian_diagonal(untimed):
    pytest.importorskip("jax")
    case = CASES.get("kmeans").at({"k": 2, "n": 16, "d": 2})
    for name in ("jax", "jax-rev", "jax-fwd"):
        row = measure_cell(METHODS.get(name), Cell(case, 2, "float64", "cpu", "hvp"), "t", timing=untimed).row
        assert row.status == "ok" and row.digits >= 13, (name, row.message)


def test_lstm_log_gamma_and_sizes_follow_the_specs():
    from cases.gradbench import gmm_log_gamma

    assert gmm_log_gamma(3.5, 1) == pytest.approx(math.lgamma(3.5))
    assert CASES.get("lstm").at({"l": 2, "c": 4}).dim == 8 * 2 * 14 + 3 * 14
    assert CASES.get("gmm").at({"d": 2, "k": 5, "n": 10}).dim == 30  # gradbench's example: 30
    assert {tuple(s.values()) for s in CASES.get("gmm").profiles["full"]} >= {(64, 100, 1000)}


def _write_input(path, data, module=None):
    import json

    plain = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in data.items()}
    path.write_text(json.dumps({"kind": "evaluate", "module": module, "function": "objective", "input": plain}
                               if module else plain))
    return path


@pytest.mark.parametrize("name, size", [("gmm", {"d": 2, "k": 5, "n": 10}), ("lstm", {"l": 1, "c": 4})])
def test_a_gradbench_input_file_gives_the_generated_inputs_objective(tmp_path, name, size):
    from cases.gradbench import f32, gmm_generate, lstm_generate

    generated = gmm_generate(**size) if name == "gmm" else lstm_generate(**size)
    data = {k: f32(v) if isinstance(v, np.ndarray) else v for k, v in generated.items()}
    path = _write_input(tmp_path / "in.json", data, module=name if name == "gmm" else None)
    from harness.runner.plan import input_case

    from_file = input_case(str(path), cases=(name,))
    xp = namespace("numpy")
    generated_case = CASES.get(name).at(size)
    assert from_file.dim == generated_case.dim
    expected = float(generated_case.fn(xp, generated_case.points())[0])
    assert float(from_file.fn(xp, from_file.points())[0]) == expected


def test_gmm_input_with_jagged_rows_reads_as_columns(tmp_path):
    from cases.gradbench import gmm_generate

    data = gmm_generate(3, 2, 4)
    jagged = [[[row[0]] if i == 1 else ([row[1], row[2]] if i == 2 else []) for i in range(3)]
              for row in data["l"]]  # flat (L21, L31, L32) → rows [[], [L21], [L31, L32]]
    flat_case = CASES.get("gmm").at({"input": str(_write_input(tmp_path / "a.json", data, "gmm"))})
    data_jagged = dict(data, l=jagged)
    jagged_case = CASES.get("gmm").at({"input": str(_write_input(tmp_path / "b.json", data_jagged, "gmm"))})
    np.testing.assert_array_equal(flat_case.points(), jagged_case.points())


def test_a_bad_input_file_is_a_one_line_usage_error(tmp_path):
    from harness.errors import UsageError
    from harness.runner.plan import input_case

    path = tmp_path / "x.json"
    path.write_text('{"d": 2}')
    with pytest.raises(UsageError, match="missing field"):
        input_case(str(path), cases=("gmm",))
    with pytest.raises(UsageError, match="takes no gradbench input"):
        input_case(str(path), cases=("tanh",))


def test_dry_run_lists_cells_with_costs_and_shards():
    from harness.runner import dry_run, plan

    lines = dry_run.lines(plan.Selection.of(cases="gmm", methods="jax,central,sympy", sizes="default"))
    assert any("gmm" in ln and "jax" in ln and ln.rstrip().endswith(" s") for ln in lines)
    assert any("unsupported: sympy is not tried" in ln for ln in lines)
    assert lines[-4].endswith("nothing measured)") and lines[-1].startswith("--shard i/8:")
