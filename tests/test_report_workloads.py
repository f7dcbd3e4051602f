"""The report's workloads section (harness.report.workloads): each workload's curves against
what its sizes grow, fitted exponents, and the ratio table."""

import numpy as np
import pandas as pd

from harness.report.workloads import _lines, _size_axis, ratio_table, workloads_section


def rows(case, sizes, dims, method="jax", eval_s=None, ratio=None, digits=14.0):
    eval_s = eval_s or [1e-3 * (i + 1) for i in range(len(sizes))]
    ratio = ratio or [2.0] * len(sizes)
    return pd.DataFrame({
        "case": case, "size": sizes, "dim": dims, "method": method, "dtype": "float64",
        "family": "automatic", "mode": "forward+reverse", "quantity": "gradient", "status": "ok",
        "eval_s": eval_s, "cost_ratio": ratio, "primal_s": [e / r for e, r in zip(eval_s, ratio)],
        "digits": digits})


def test_a_workload_of_fixed_parameter_count_is_drawn_against_the_size_that_grows():
    llsq = rows("llsq", ["n=16,m=128", "n=1024,m=128", "n=32768,m=128"], [128] * 3)
    x, name = _size_axis(llsq)
    assert name == "n" and x.tolist() == [16, 1024, 32768]
    gmm = rows("gmm", ["d=2,k=5,n=1000", "d=10,k=5,n=1000"], [30, 330])
    assert _size_axis(gmm)[1] == "parameters"


def test_the_fitted_exponent_is_the_power_law_of_the_points():
    n = np.array([100, 1000, 10000])
    central = rows("lse", [f"n={v}" for v in n], n.tolist(), method="central",
                   eval_s=(1e-6 * n**1.5).tolist())
    (line,) = _lines(central, "eval_s", {}, _size_axis(central)[0])
    assert line.label == "central 64  k = 1.50" and line.x == n.tolist()


def test_the_section_has_a_panel_per_workload_and_the_ratio_table():
    cells = pd.concat([rows("llsq", ["n=16,m=128", "n=1024,m=128"], [128, 128]),
                       rows("gmm", ["d=2,k=5,n=1000", "d=10,k=5,n=1000"], [30, 330], ratio=[3.0, 4.0]),
                       rows("tanh", ["grid=100", "grid=10000"], [1, 1])], ignore_index=True)
    section = workloads_section(cells, ["jax"])
    figure = section["figures"]["derivative time per call [s]"]
    assert "llsq (gradient; against n)" in figure and "gmm (gradient; against parameters)" in figure
    assert "tanh" not in figure  # not a workload
    assert [(r["case"], r["reverse"]) for r in ratio_table(cells[cells.case == "gmm"])] == [
        ("gmm", "3× (jax)"), ("gmm", "4× (jax)")]
