"""Every cell ends in a status with a message; broken methods are results, not crashes."""

import numpy as np
import pytest

import harness
from harness.environment import gpus
from harness.registry import UsageError, load_plugin
from tests.conftest import PLUGINS


@pytest.fixture(scope="module")
def faulty(fast):
    load_plugin(PLUGINS / "faulty.py")
    methods = "central,sloppy,wrong-sign,nan,short,raises,slow,no-device,needs-missing"
    return harness.run(cases="tanh", methods=methods, dtypes="float64", devices="cpu",
                       orders="1", timeout=1.0, timing=fast)


def status(df, method):
    row = df[df.method == method].iloc[0]
    return row.status, row.message


def test_deliberately_wrong_methods_are_caught_as_inaccurate(faulty):
    good = faulty[faulty.method == "central"].iloc[0]
    sloppy = faulty[faulty.method == "sloppy"].iloc[0]
    wrong = faulty[faulty.method == "wrong-sign"].iloc[0]
    assert good.digits > 8
    assert sloppy.status == "ok" and 1.5 < sloppy.digits < 4  # h = 0.05: error ~ h² f'''/6
    assert wrong.status == "ok" and wrong.digits < 0  # |−d − d| / |d| = 2


def test_broken_methods_fail_with_their_reason(faulty):
    assert status(faulty, "nan") == ("failed", "BadResult: 101 of 101 points are NaN or infinite")
    s, msg = status(faulty, "short")
    assert s == "failed" and "shape (100,), expected (101,)" in msg
    s, msg = status(faulty, "raises")
    assert s == "failed" and msg == "ZeroDivisionError: boom inside the derivative"


def test_timeout_unavailable(faulty):
    s, msg = status(faulty, "slow")
    assert s == "timeout" and "1 s budget" in msg
    assert status(faulty, "no-device") == ("unavailable", "this method needs hardware that is not here")
    s, msg = status(faulty, "needs-missing")
    assert s == "unavailable" and "no_such_backend_xyz" in msg


def test_failed_cells_keep_their_points(faulty):
    points = faulty.attrs["points"]
    assert set(points.method) >= {"central", "sloppy", "nan"}
    assert points[points.method == "nan"].value.isna().all()


def test_the_run_has_every_cell(faulty):
    assert len(faulty) == 9 and faulty.status.notna().all()
    assert set(faulty.status) <= {"ok", "failed", "unsupported", "unavailable", "timeout"}


@pytest.mark.skipif(bool(gpus()), reason="a GPU is present")
def test_gpu_cells_without_a_gpu(fast):
    df = harness.run(cases="square", methods="central,jax,torch", dtypes="float32",
                     devices="cpu,gpu", orders="1", timing=fast)
    gpu = df[df.device == "gpu"].set_index("method")
    assert gpu.loc["central", "status"] == "unsupported"
    assert gpu.loc["jax", "status"] == "unavailable" and "gpu" in gpu.loc["jax", "message"]
    assert gpu.loc["torch", "status"] == "unavailable" and "CUDA" in gpu.loc["torch", "message"]
    assert (df[df.device == "cpu"].status == "ok").all()
    meta = df.attrs["meta"]
    assert meta["gpus"] == [] and meta["backends"]["torch"]["cuda_available"] is False
    assert meta["bandwidth_bytes_per_s"].keys() == {"cpu"}  # no GPU to measure


def test_devices_all_is_every_device_kind():
    from harness.runner import plan

    pairs = plan(cases="square", methods="jax", dtypes="float64", devices="all", orders="1")
    assert [cell.device for _, cell in pairs] == ["cpu", "gpu"]


def test_python_api_returns_the_table(fast, tmp_path):
    df = harness.run(cases="cubic", methods="jax,sympy", dtypes="float32,float64", orders="1,2",
                     out=tmp_path, timing=fast)
    assert len(df) == 8 and (df.status == "ok").all()
    assert {"case", "method", "family", "order", "dtype", "device", "status", "max_abs_err",
            "max_rel_err", "digits", "setup_s", "eval_s", "eval_iqr_s", "message"} <= set(df.columns)
    assert (df.eval_s > 0).all() and (df.setup_s > 0).all()
    np.testing.assert_array_equal(df.digits, -np.log10(df.max_rel_err).clip(upper=17))
    assert df.attrs["path"].endswith(".parquet") and df.attrs["meta"]["complete"]


@pytest.mark.parametrize("kwargs, message", [
    ({"cases": "tanhh"}, "did you mean tanh"),
    ({"cases": "zz*"}, r"unknown case 'zz\*'"),
    ({"methods": "jaxx"}, "did you mean jax"),
    ({"dtypes": "float16"}, "unknown dtype"),
    ({"devices": "tpu"}, "unknown device"),
    ({"cases": "softplus", "orders": "3"}, "no cells"),
])
def test_bad_selection(kwargs, message):
    with pytest.raises(UsageError, match=message):
        harness.run(**kwargs)


def test_a_cell_budget_is_the_runs_else_the_cases_else_the_default():
    from dataclasses import replace

    from harness.extend import Cell
    from harness.registry import CASES
    from harness.runner import DEFAULT_TIMEOUT_S, cell_budget

    tanh = CASES.case("tanh")
    own = replace(tanh, timeout_s=7.0)
    assert cell_budget(Cell(tanh, 1, "float64", "cpu"), None) == DEFAULT_TIMEOUT_S
    assert cell_budget(Cell(own, 1, "float64", "cpu"), None) == 7.0
    assert cell_budget(Cell(own, 1, "float64", "cpu"), 3.0) == 3.0  # --timeout wins
    assert CASES.case("nested_polynomial").timeout_s == 60.0  # SymPy on a deep nest swells


def test_a_cases_own_budget_stops_its_cells(faulty, monkeypatch):
    from dataclasses import replace

    from harness.registry import CASES

    hurried = replace(CASES.case("cubic"), name="cubic_in_a_hurry", timeout_s=1.0)
    monkeypatch.setitem(CASES._entries, hurried.name, hurried)  # registered for this test only
    df = harness.run(cases="cubic_in_a_hurry", methods="slow,central", dtypes="float64", orders="1")
    by = df.set_index("method")
    assert by.loc["slow", "status"] == "timeout" and "1 s budget" in by.loc["slow", "message"]
    assert by.loc["central", "status"] == "ok"
