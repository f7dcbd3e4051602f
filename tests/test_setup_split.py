"""The setup split (derive / compile / transfer / first call) and the primal, per cell."""

import numpy as np
import pytest

import harness

FAST = {"rounds": 3, "min_batch_s": 0.002}


def test_sympy_derives_once_and_every_cell_reports_it():
    pytest.importorskip("sympy")
    df = harness.run(cases="nested_polynomial", methods="sympy,sympy-cse", dtypes="float64,float32",
                     sizes="quick", timing=FAST).set_index(["size", "method", "dtype"])
    for size in ("depth=1", "depth=2"):
        rows = df.loc[size]
        # one derivation per case and size, whatever the dtype or the lambdify variant ...
        assert rows.derive_s.nunique() == 1 and rows.derive_s.iloc[0] > 0
        # ... and each cell's setup includes it, with its own lambdify and first call
        assert (rows.setup_s >= rows.derive_s + rows.compile_s).all()
    deeper = df.loc["depth=2"].expr_nodes.iloc[0]
    assert deeper > df.loc["depth=1"].expr_nodes.iloc[0]  # swell: p∘p is a bigger tree than p


def test_primal_and_cost_ratio():
    pytest.importorskip("jax")
    df = harness.run(cases="rosenbrock", methods="central,jax", dtypes="float64", sizes="quick",
                     quantities="gradient", timing=FAST).set_index("method")
    assert (df.primal_s > 0).all() and df.timing_rounds.nunique() == 1  # one task: its rounds are shared
    for _, row in df.iterrows():  # the function timed round by round with the derivative
        f, d = np.array(row.primal_samples_s), np.array(row.eval_samples_s)
        assert len(f) == len(d) == row.timing_repeats and row.primal_s == np.median(f)
        assert list(row.eval_round_ids) == list(range(int(row.timing_rounds)))
        assert row.cost_ratio == pytest.approx(np.median(d / f), rel=1e-12)
    assert df.loc["central", "primal_backend"] == "numpy" and df.loc["jax", "primal_backend"] == "jax"
    assert df.loc["jax", "compile_s"] > 0 and df.loc["jax", "graph_nodes"] > 0
