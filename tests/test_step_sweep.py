"""The step-size sweep: a finite difference's error against its step, graded independently."""

import mpmath
import numpy as np
import pytest

from harness.extend import Cell
from harness.measure import step_sweep
from harness.measure.step_sweep import StepSweepPlan
from harness.model.registry import CASES, METHODS, UsageError
from harness.store import results
from harness.store.meta import RunMeta
from harness.store.schema import META_KEY

EPS64 = np.finfo(np.float64).eps


@pytest.fixture(scope="module")
def tanh_case():
    return CASES.case("tanh")


@pytest.fixture(scope="module")
def central64(tanh_case):
    rows = step_sweep.sweep_case(tanh_case, methods=("central",), dtypes=("float64",))
    return {r["h"]: r for r in rows}


def mpmath_central_error(x: np.ndarray, h: float) -> float:
    """The largest relative error of (tanh(x+s) − tanh(x−s))/2s, s = h·max(1, |x|), against
    sech²x, both in mpmath at 50 digits: pure truncation, no rounding; the relative error is
    floored at 10⁻³·max|ref| as the harness grades (README, "Reading the results")."""
    with mpmath.workdps(50):
        refs, diffs = [], []
        for v in x:
            v = mpmath.mpf(float(v))
            s = mpmath.mpf(h) * max(1, abs(v))
            refs.append(mpmath.sech(v) ** 2)
            diffs.append((mpmath.tanh(v + s) - mpmath.tanh(v - s)) / (2 * s))
        floor = mpmath.mpf("1e-3") * max(abs(r) for r in refs)
        return float(max(abs(d - r) / max(abs(r), floor) for d, r in zip(diffs, refs)))


def test_central_difference_error_is_a_v_in_float64(tanh_case, central64):
    steps = np.array(sorted(central64))
    near_optimum = steps[np.argmin(np.abs(np.log(steps) - np.log(np.cbrt(EPS64))))]  # ~6e-6
    big, best, tiny = central64[0.1]["max_rel_err"], central64[near_optimum]["max_rel_err"], \
        central64[steps.min()]["max_rel_err"]
    assert steps.max() == pytest.approx(0.1) and steps.min() == pytest.approx(1e-15) and len(steps) == 29
    assert best < 1e-7  # ~9 digits at the optimum (tanh′ is small in the tails: the floor bites)
    assert big > 100 * best  # truncation: O(h²)
    assert tiny > 100 * best  # rounding: O(ε/h)
    # the arms have the theory's slopes: error ∝ h² on the right, ∝ 1/h on the left (until the
    # error saturates at ~1 near h = ε)
    def err(h):
        return central64[steps[np.argmin(np.abs(np.log(steps / h)))]]["max_rel_err"]

    assert np.log10(err(1e-1) / err(1e-2)) == pytest.approx(2, abs=0.35)
    assert np.log10(err(1e-13) / err(1e-10)) == pytest.approx(3, abs=0.5)


def test_truncation_arm_matches_mpmath(tanh_case, central64):
    # at h = 0.1 rounding is ~1e-15 against a truncation error of ~1e-2: the sweep's figure is
    # the central difference's exact truncation error, computed here in mpmath alone
    x = tanh_case.points()
    expected = mpmath_central_error(x, 0.1)
    assert central64[0.1]["max_rel_err"] == pytest.approx(expected, rel=1e-6)
    assert central64[0.1]["digits"] == pytest.approx(-np.log10(expected), abs=1e-6)


def test_the_sweep_runs_the_methods_own_code(tanh_case):
    # at the method's chosen step the sweep's quotient is bit-for-bit the registered method's
    x = tanh_case.points()
    f = lambda v: np.tanh(v)  # noqa: E731
    for name, dtype in (("forward", "float64"), ("central", "float32"), ("central4", "float64")):
        evaluator = METHODS.get(name).prepare(Cell(tanh_case, 1, dtype, "cpu"))
        c = np.asarray(np.finfo(dtype).eps ** (1 / step_sweep.ROOTS[name]), dtype=dtype)
        ours = step_sweep.difference(name, f, x.astype(dtype), c)
        np.testing.assert_array_equal(ours, evaluator.call(x.astype(dtype)))


def test_chosen_and_optimal_steps(tanh_case):
    for method, root in (("forward", 2), ("backward", 2), ("central", 3), ("central4", 5)):
        for dtype in ("float64", "float32"):
            theory = float(np.finfo(dtype).eps) ** (1 / root)
            assert step_sweep.optimal_step(method, dtype) == pytest.approx(theory, rel=1e-12)
            # the method's own statement of its step, to the 3 digits it prints
            assert step_sweep.chosen_step(method, tanh_case, dtype) == pytest.approx(theory, rel=5e-3)


def test_float32_steps_below_resolution_have_no_difference(tanh_case):
    rows = step_sweep.sweep_case(tanh_case, methods=("forward", "central4"), dtypes=("float32",))
    tiny = [r for r in rows if r["h"] < 1e-8]
    assert tiny and all(r["max_rel_err"] == np.inf and r["digits"] == 0.0 for r in tiny)
    fine = [r for r in rows if r["h"] >= 1e-3]
    assert all(np.isfinite(r["max_rel_err"]) for r in fine)
    assert max(r["digits"] for r in rows if r["method"] == "central4") > 3  # float32: ~3-4 digits


def test_table_columns_and_cases():
    table = step_sweep.step_sweep(cases=("exp_sin", "softplus"), methods=("backward",), dtypes=("float64",),
                                  run_id="r")
    assert list(table.columns) == step_sweep.STEP_COLUMNS
    assert set(table["case"]) == {"exp_sin", "softplus"} and set(table["run_id"]) == {"r"}
    assert len(table) == 2 * len(step_sweep.STEPS)
    assert (table["chosen_h"] > 0).all() and (table["optimal_h"] > 0).all()


def _pairs(cases, methods, dtypes):
    return [(METHODS.get(m), Cell(CASES.case(c), 1, d, "cpu"))
            for c in cases for m in methods for d in dtypes]


def test_selection_follows_the_run():
    pairs = _pairs(("tanh", "abs"), ("central", "jax"), ("float32",))
    assert step_sweep.selection(pairs) == StepSweepPlan(("tanh",), ("central",), ("float32",))
    assert step_sweep.selection(_pairs(("abs",), ("central",), ("float64",))) is None  # no chosen case
    assert step_sweep.selection(_pairs(("tanh",), ("jax",), ("float64",))) is None  # no finite difference
    named = step_sweep.selection(_pairs(("abs",), ("jax",), ("float64",)), ("cubic",))
    assert named == StepSweepPlan(("cubic",), tuple(step_sweep.STEP_METHODS), ("float64",))
    with pytest.raises(UsageError):
        step_sweep.selection(pairs, ("rosenbrock",))  # not a scalar case
    with pytest.raises(UsageError):
        step_sweep.selection(pairs, ("no_such_case",))


def test_written_beside_the_results_and_read_back(tmp_path):
    import json

    import pandas as pd
    import pyarrow.parquet as pq

    from harness.store.schema import POINT_COLUMNS, CellRow

    meta = RunMeta(run_id="run-a")
    steps = step_sweep.step_sweep(cases=("softplus",), methods=("central",), dtypes=("float64",),
                                  run_id="run-a")
    # a cell as a run writes it: its key in full (a reader refuses a results file without one)
    cells = results.cells_frame([CellRow(run_id="run-a", case="softplus", size="", method="central",
                                         family="numerical", mode="", batched="", quantity="derivative",
                                         order=1, dtype="float64", device="cpu", status="ok", message="",
                                         dim=1, n_points=1)])
    no_points = pd.DataFrame(columns=POINT_COLUMNS)
    path = results.write(cells, no_points, meta, tmp_path, steps=steps)
    results.write(cells.assign(run_id="run-b"), no_points, RunMeta(run_id="run-b"), tmp_path)
    on_disk = tmp_path / "run-a.steps.parquet"
    assert on_disk.exists() and json.loads(pq.read_schema(on_disk).metadata[META_KEY])["run_id"] == "run-a"
    # a folder's companions are never taken for results files
    assert sorted(p.name for p in results.results_files([tmp_path])) == ["run-a.parquet", "run-b.parquet"]
    read_cells, _, metas = results.read([tmp_path])
    assert len(read_cells) == 2 and len(metas) == 2
    back = results.read_steps(read_cells.attrs["files"])
    pd.testing.assert_frame_equal(back, steps)
    assert results.read_steps([tmp_path / "run-b.parquet"]) is None  # a run without one
    assert results.read_steps([path]) is not None
