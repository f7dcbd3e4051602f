"""harness.read.analysis on synthetic cells whose right answers are known in closed form."""

import math

import numpy as np
import pandas as pd
import pytest

from harness.read import analysis
from harness.store.results import CELL_COLUMNS

DIMS = (2, 10, 100, 1000)


def cells(rows) -> pd.DataFrame:
    """A results table: every column of the schema, the given values, the rest defaulted."""
    base = dict.fromkeys(CELL_COLUMNS)
    base.update(case="c", size="", method="m", quantity="gradient", order=1, dtype="float64", device="cpu",
                status="ok", dim=1, n_points=100)
    return pd.DataFrame([{**base, **r} for r in rows], columns=CELL_COLUMNS)


def dim_sweep(method, eval_s, primal_s=None, dims=DIMS, **extra):
    """A Rosenbrock-like sweep over n: eval_s(n) given, primal_s(n) for the cost ratio."""
    rows = []
    for n in dims:
        row = dict(case="rosen", size=f"n={n}", method=method, dim=n, eval_s=eval_s(n), **extra)
        if primal_s is not None:
            row.update(primal_s=primal_s(n), cost_ratio=eval_s(n) / primal_s(n))
        rows.append(row)
    return rows


def fit_of(table, method) -> pd.Series:
    found = table[table["method"] == method]
    assert len(found) == 1, table
    return found.iloc[0]


# --- scaling -----------------------------------------------------------------------------------


def test_linear_time_gives_exponent_one_with_no_error():
    fit = fit_of(analysis.scaling(cells(dim_sweep("fd", lambda n: 3e-6 * n))), "fd")
    assert fit["axis"] == "dim" and fit["n_sizes"] == 4
    assert (fit["x_min"], fit["x_max"]) == (2, 1000)
    assert fit["exponent"] == pytest.approx(1.0, abs=1e-12)
    assert fit["exponent_se"] == pytest.approx(0.0, abs=1e-12)


def test_quadratic_time_gives_two_not_one():
    # a checker that cannot fail is worthless: eval_s ∝ n² must not pass for linear
    fit = fit_of(analysis.scaling(cells(dim_sweep("slow", lambda n: 5e-7 * n**2))), "slow")
    assert fit["exponent"] == pytest.approx(2.0, abs=1e-12)
    assert abs(fit["exponent"] - 1.0) > 0.5


def test_cost_ratio_exponent_separates_finite_differences_from_reverse_mode():
    # f costs c·n; central differences call it 2n times (ratio 2n), reverse mode ~4 f (ratio 4)
    primal = lambda n: 1e-7 * n  # noqa: E731
    table = analysis.scaling(cells(dim_sweep("central", lambda n: 2 * n * primal(n), primal)
                                   + dim_sweep("reverse", lambda n: 4 * primal(n), primal)))
    central, reverse = fit_of(table, "central"), fit_of(table, "reverse")
    assert central["exponent"] == pytest.approx(2.0) and central["cost_exponent"] == pytest.approx(1.0)
    assert reverse["exponent"] == pytest.approx(1.0)
    assert reverse["cost_exponent"] == pytest.approx(0.0, abs=1e-12)


def test_standard_error_of_a_perturbed_middle_point():
    # log x = (0, 1, 2), log y = k·log x + (0, δ, 0): slope k exactly, residuals (−δ, 2δ, −δ)/3,
    # so se = sqrt(Σr²/(3 − 2) / Σ(t − t̄)²) = sqrt((2δ²/3) / 2) = δ/√3
    k, delta = 1.5, 0.3
    x = np.exp([0.0, 1.0, 2.0])
    y = np.exp(k * np.log(x) + np.array([0.0, delta, 0.0]))
    rows = [dict(size=f"n={i}", dim=xi, eval_s=yi) for i, (xi, yi) in enumerate(zip(x, y))]
    fit = fit_of(analysis.scaling(cells(rows)), "m")
    assert fit["exponent"] == pytest.approx(k)
    assert fit["exponent_se"] == pytest.approx(delta / math.sqrt(3))


def test_point_sweeps_use_n_points():
    rows = [dict(case="tanh", size=f"grid={n}", quantity="derivative", n_points=n, eval_s=2e-9 * n**0.5)
            for n in (100, 10**4, 10**6)]
    fit = fit_of(analysis.scaling(cells(rows)), "m")
    assert fit["axis"] == "n_points" and fit["exponent"] == pytest.approx(0.5)
    assert math.isnan(fit["cost_exponent"])  # the cost ratio is fitted against dim only


def test_what_is_not_fitted():
    two_sizes = dim_sweep("two", lambda n: n * 1e-6, dims=(2, 10))
    failed = [dict(r, status="failed", eval_s=None) for r in dim_sweep("broken", lambda n: n * 1e-6)]
    unswept = [dict(case="tanh", method="m", eval_s=1e-6, dim=d) for d in DIMS]  # no size label
    # a depth sweep at fixed dimension and points: no size axis to fit against
    depth = [dict(case="nested", size=f"depth={d}", eval_s=d * 1e-6) for d in (1, 2, 3)]
    assert analysis.scaling(cells(two_sizes + failed + unswept + depth)).empty


def test_two_sweeps_sharing_an_axis_value_are_not_mixed():
    # depths 1–3 at 100 points, then depth 3 at 10⁴ and 10⁶: n_points varies, but at 100 points it
    # does not say which size was measured, so the time is not a function of it — no fit
    rows = [dict(case="nested", size=f"depth={d}", quantity="derivative", eval_s=d * 1e-6) for d in (1, 2, 3)]
    rows += [dict(case="nested", size=f"depth=3,grid={n}", quantity="derivative", n_points=n, eval_s=n * 1e-8)
             for n in (10**4, 10**6)]
    assert analysis.scaling(cells(rows)).empty
    one_depth = [r for r in rows if r["size"] != "depth=1" and r["size"] != "depth=2"]
    assert fit_of(analysis.scaling(cells(one_depth)), "m")["axis"] == "n_points"


def test_schema_2_columns_fit_time_only():
    rows = dim_sweep("fd", lambda n: 3e-6 * n)
    for r in rows:
        r.pop("cost_ratio", None)
    fit = fit_of(analysis.scaling(cells(rows)), "fd")
    assert fit["exponent"] == pytest.approx(1.0) and math.isnan(fit["cost_exponent"])


# --- swell -------------------------------------------------------------------------------------


def test_swell_is_tidy_against_the_size_parameter():
    # p∘…∘p: a tree of 4ᵈ nodes, a graph of 5d operations, a program of 7d equations
    rows = [dict(case="nested", size=f"depth={d}", quantity="derivative", method="sympy",
                 expr_nodes=4**d, cse_ops=5 * d) for d in (1, 2, 3)]
    rows += [dict(case="nested", size=f"depth={d}", quantity="derivative", method="jax", graph_nodes=7 * d)
             for d in (1, 2, 3)]
    rows.append(dict(case="tanh", method="sympy", expr_nodes=3))  # not a sweep
    table = analysis.swell(cells(rows))
    assert set(table["parameter"]) == {"depth"}
    got = {(r.method, r.metric, r.value): r.count for r in table.itertuples()}
    expected = {("sympy", "expr_nodes", d): 4.0**d for d in (1, 2, 3)}
    expected |= {("sympy", "cse_ops", d): 5.0 * d for d in (1, 2, 3)}
    expected |= {("jax", "graph_nodes", d): 7.0 * d for d in (1, 2, 3)}
    assert got == expected


def test_swell_of_schema_2_results_is_empty():
    rows = [dict(case="nested", size=f"depth={d}", eval_s=1e-6) for d in (1, 2)]
    table = analysis.swell(cells(rows))
    assert table.empty and list(table.columns) == analysis.SWELL_COLUMNS


def test_size_parameters():
    assert analysis.size_parameters("depth=3,points=1000000") == {"depth": 3.0, "points": 1e6}
    assert analysis.size_parameters("") == {} and analysis.size_parameters(None) == {}
    assert analysis.size_parameters("wrt=W,b") == {} and analysis.size_parameters("wrt=W,n=3") == {"n": 3.0}


# --- setup split and memory --------------------------------------------------------------------


def test_setup_split_medians_per_method():
    rows = [dict(method="jax", derive_s=d, compile_s=2 * d, transfer_s=1e-6, first_call_s=3 * d, eval_s=1e-5)
            for d in (0.01, 0.02, 0.04)]
    table = analysis.setup_split(cells(rows)).set_index("method")
    assert table.loc["jax", "cells"] == 3
    assert table.loc["jax", "derive_s"] == pytest.approx(0.02)
    assert table.loc["jax", "compile_s"] == pytest.approx(0.04)
    assert table.loc["jax", "first_call_s"] == pytest.approx(0.06)


def test_memory_reports_the_largest_and_where():
    rows = [dict(method="central", size=f"n={n}", dim=n, eval_s=1e-6, peak_host_bytes=8 * n * n)
            for n in (10, 100)]
    table = analysis.memory(cells(rows)).set_index("method")
    assert table.loc["central", "peak_host_bytes_max"] == 80_000
    assert table.loc["central", "peak_host_bytes_median"] == (800 + 80_000) / 2
    assert table.loc["central", "peak_host_bytes_max_cell"] == "c [n=100] gradient, float64"
