"""Seed 001's timing table: the preset that measures it and the table that redoes it."""

import numpy as np
import pandas as pd
import pytest

import harness
from harness.model.registry import UsageError
from harness.read import analysis
from harness.runner import plan
from harness.store.meta import RunMeta
from tests.conftest import run_cli
from tests.test_analysis import cells

SEED_POINTS = 10**6  # np.linspace(-5, 5, 1000000) in the seed's section 5
METHODS = ["sympy", "np-gradient", "jax-nojit", "jax"]


# --- the preset --------------------------------------------------------------------------------


def test_preset_plans_the_seeds_cells():
    pairs = plan.preset_cells(plan.Selection.of(preset="seed-001", devices="cpu"))
    seen = {(c.case.name, m.name, c.dtype) for m, c in pairs}
    assert seen == {(case, m, d) for case in ("square", "nested_polynomial") for m in METHODS
                    for d in ("float64", "float32")}
    seed_array = np.linspace(-5, 5, SEED_POINTS)  # the seed's x_array_large, exactly
    for _, cell in pairs:
        assert np.array_equal(cell.case.points(), seed_array)
        assert (cell.quantity, cell.order, cell.device) == ("derivative", 1, "cpu")
    nested = next(c.case for _, c in pairs if c.case.name == "nested_polynomial")
    assert nested.size_label == "depth=3,points=1000000"
    p = lambda x: 2 * x**3 - 3 * x**2 + 5  # noqa: E731  the seed's f_polynomial_simple
    assert nested.fn(None, 1.5) == p(p(p(1.5)))


def test_preset_fixes_the_selection():
    with pytest.raises(UsageError, match="drop cases, methods"):
        harness.run(preset="seed-001", cases="tanh", methods="jax")
    with pytest.raises(UsageError, match="unknown preset"):
        plan.preset_cells(plan.Selection.of(preset="seed-002"))


def test_cli_rejects_a_preset_with_a_selection(tmp_path):
    proc = run_cli("run", "--preset", "seed-001", "--dtypes", "float32", cwd=tmp_path)
    assert proc.returncode == 2 and "drop dtypes" in proc.stderr


# --- the table ---------------------------------------------------------------------------------


# a run of the preset, as its metadata lists it: the report finds the seed's cells by it
SEED_RUN = RunMeta(run_id="seed", selection={"preset": "seed-001"},
                   cases={"square": {}, "nested_polynomial": {}}, methods={m: {} for m in METHODS})
OTHER_RUN = RunMeta(run_id="default", selection={"preset": None}, cases={"square": {}}, methods={"sympy": {}})


def seed_cell(case="square", method="sympy", dtype="float64", **values):
    size = "points=1000000" if case == "square" else "depth=3,points=1000000"
    row = dict(run_id="seed", case=case, size=size, method=method, dtype=dtype, quantity="derivative",
               n_points=SEED_POINTS,
               setup_s=0.05, transfer_s=0.01, derive_s=0.02, compile_s=0.01, first_call_s=0.02,
               eval_s=0.006, digits=15.0)
    return {**row, **values}


def test_table_selects_the_seeds_cells_in_order():
    rows = [seed_cell(case, m, d) for case in ("nested_polynomial", "square") for d in ("float32", "float64")
            for m in reversed(METHODS)]
    rows += [seed_cell(run_id="default"), seed_cell(run_id="default", size="grid=100")]  # another run's
    table = analysis.seed_001_table(cells(rows), [OTHER_RUN, SEED_RUN])
    expected = [(case, m, d) for case in ("square", "nested_polynomial") for m in METHODS
                for d in ("float64", "float32")]
    assert list(zip(table["case"], table["method"], table["dtype"])) == expected


def test_first_call_as_the_seed_timed_it():
    table = analysis.seed_001_table(cells([seed_cell(method="jax-nojit", dtype="float32", setup_s=0.08,
                                                     transfer_s=0.004)]), [SEED_RUN])
    row = table.iloc[0]
    assert row["as_seed_s"] == pytest.approx(0.084)  # prepare + transfer + first call
    assert row["published_s"] == pytest.approx(62.67666816711426e-3)  # the seed's printed ms


def test_published_figures_sit_beside_the_seeds_own_cells_only():
    rows = [seed_cell(case, m, d) for case in ("square", "nested_polynomial") for m in METHODS
            for d in ("float64", "float32")]
    table = analysis.seed_001_table(cells(rows), [SEED_RUN]).set_index(["case", "method", "dtype"])
    published = table["published_s"].dropna() * 1e3
    assert published.round(2).to_dict() == {
        ("square", "sympy", "float64"): 4.97, ("square", "np-gradient", "float64"): 46.40,
        ("square", "jax-nojit", "float32"): 62.68, ("nested_polynomial", "sympy", "float64"): 357.28,
        ("nested_polynomial", "jax-nojit", "float32"): 226.11}


def test_findings_are_read_off_the_numbers():
    rows = [seed_cell(case, m, d) for case in ("square", "nested_polynomial") for m in METHODS
            for d in ("float64", "float32")]
    table = analysis.seed_001_table(cells(rows), [SEED_RUN])
    # jit on p∘p∘p in float32: compile 30 ms of a 60 ms first call; one call 1 ms against 100 ms unjitted
    at = (table["case"] == "nested_polynomial") & (table["dtype"] == "float32")
    table.loc[at & (table["method"] == "jax"), ["compile_s", "eval_s"]] = [0.03, 0.001]
    table.loc[at & (table["method"] == "jax-nojit"), "eval_s"] = 0.1
    table.loc[(table["method"] == "sympy") & (table["dtype"] == "float32"), "eval_s"] = 0.003
    text = " ".join(analysis.seed_001_findings(table))
    assert "compiling took 30 ms of JAX's 60 ms first call on nested_polynomial in float32 (50 %)" in text
    assert "1 ms, 100× less than the seed's unjitted vmap(grad(f)) at 100 ms" in text
    assert "90 % for np-gradient" in text  # 1 − 6 ms / 60 ms in every cell
    assert "2 for sympy (15.0 → 15.0 digits)" in text  # float64 6 ms over float32 3 ms
    assert 3 <= len(analysis.seed_001_findings(table)) <= 5


def test_no_seed_cells_no_table():
    assert analysis.seed_001_table(cells([seed_cell(run_id="default")]), [OTHER_RUN, SEED_RUN]).empty
    merged = RunMeta(run_id="merged", parts=[{"run_id": "seed", "selection": {"preset": "seed-001"}}])
    assert len(analysis.seed_001_table(cells([seed_cell()]), [merged])) == 1  # a merged file's part
    assert analysis.seed_001_findings(pd.DataFrame(columns=analysis.SEED_001_COLUMNS)) == []


def test_findings_speak_of_the_cpu_when_a_gpu_ran_too():
    rows = [seed_cell(method="jax", dtype="float32", compile_s=0.03, device=d, eval_s=e)
            for d, e in (("cpu", 0.001), ("gpu", 0.0001))]
    rows += [seed_cell(method="jax-nojit", dtype="float32", device=d, eval_s=0.1) for d in ("cpu", "gpu")]
    text = " ".join(analysis.seed_001_findings(analysis.seed_001_table(cells(rows), [SEED_RUN])))
    assert "100× less" in text and "1000× less" not in text  # 0.1 s / 1 ms on the CPU
