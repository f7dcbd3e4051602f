"""The report's workloads section (harness.read.report.workloads) and the axis the workload charts draw
each task against (harness.read.analysis.size_axis)."""

import pandas as pd

from harness.read.analysis import size_axis
from harness.read.report.workloads import ratio_table, workloads_section


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
    x, name = size_axis(llsq)
    assert name == "n" and x.tolist() == [16, 1024, 32768]
    gmm = rows("gmm", ["d=2,k=5,n=1000", "d=10,k=5,n=1000"], [30, 330])
    assert size_axis(gmm)[1] == "parameters" and size_axis(gmm)[0].tolist() == [30, 330]


def test_the_section_has_the_ratio_table_of_the_workloads_alone():
    cells = pd.concat([rows("llsq", ["n=16,m=128", "n=1024,m=128"], [128, 128]),
                       rows("gmm", ["d=2,k=5,n=1000", "d=10,k=5,n=1000"], [30, 330], ratio=[3.0, 4.0]),
                       rows("tanh", ["grid=100", "grid=10000"], [1, 1])], ignore_index=True)
    section = workloads_section(cells, ["jax"])
    assert {r["case"] for r in section["ratios"]} == {"llsq", "gmm"}  # tanh is not a workload
    assert [(r["case"], r["reverse"]) for r in ratio_table(cells[cells.case == "gmm"])] == [
        ("gmm", "3× (jax)"), ("gmm", "4× (jax)")]


def test_the_charts_put_llsq_on_its_rows_and_gmm_on_its_parameters():
    from harness.read.report.charts import cell_table

    cells = pd.concat([rows("llsq", ["n=16,m=128", "n=1024,m=128"], [128, 128]),
                       rows("gmm", ["d=2,k=5,n=1000", "d=10,k=5,n=1000"], [30, 330])], ignore_index=True)
    cells = cells.assign(order=0, device="cpu", n_points=1, setup_s=0.1, message="")
    table = cell_table(cells, [])
    strings, columns = table["strings"], table["columns"]
    axes = [strings[i] for i in columns["axis"]]
    assert list(zip(axes, columns["n"])) == [("n", 16), ("n", 1024), ("parameters", 30), ("parameters", 330)]
    # llsq's two sizes are one sweep; gmm's 30 and 330 parameters fall in two kinds (low- and
    # high-dimensional gradients), one size each: no panel against size for either
    assert columns["swept"] == [1, 1, 0, 0]
