"""One cell (harness.measure.pipeline): every cell ends in a status with a true message; broken methods are
results, not crashes."""

import numpy as np
import pytest

import harness
from harness.host.capture import Capture
from harness.host.environment import gpus
from harness.measure import memory
from harness.measure.timing import TimingSettings
from harness.model.registry import load_plugin
from tests.conftest import PLUGINS

BUDGET_S = 5.0


@pytest.fixture(scope="module")
def faulty(fast):
    load_plugin(PLUGINS / "faulty.py")
    methods = "central,sloppy,wrong-sign,nan,short,raises,slow,no-device,needs-missing"
    # a budget the healthy cells keep however loaded the machine (their first computes the reference:
    # 0.46 s on a quiet one, past 1 s beside two burners) and the slow method's 30 s never does
    return harness.run(cases="tanh", methods=methods, dtypes="float64", devices="cpu",
                       orders="1", timeout=BUDGET_S, timing=fast, sizes="quick")


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
    assert s == "timeout" and f"{BUDGET_S:g} s budget" in msg
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
    assert meta.gpus == [] and meta.backends["torch"]["cuda_available"] is False
    assert meta.bandwidth_bytes_per_s.keys() == {"cpu"}  # no GPU to measure


def test_python_api_returns_the_table(fast, tmp_path):
    df = harness.run(cases="cubic", methods="jax,sympy", dtypes="float32,float64", orders="1,2",
                     out=tmp_path, timing=fast)
    assert len(df) == 8 and (df.status == "ok").all()
    assert {"case", "method", "family", "order", "dtype", "device", "status", "max_abs_err",
            "max_rel_err", "digits", "setup_s", "eval_s", "eval_iqr_s", "message"} <= set(df.columns)
    assert (df.eval_s > 0).all() and (df.setup_s > 0).all()
    np.testing.assert_array_equal(df.digits, -np.log10(df.max_rel_err).clip(upper=17))
    assert df.attrs["path"].endswith(".parquet") and df.attrs["meta"].complete


def test_a_cases_own_budget_stops_its_cells(faulty, monkeypatch):
    from dataclasses import replace

    from harness.model.registry import CASES

    hurried = replace(CASES.case("cubic"), name="cubic_in_a_hurry", timeout_s=BUDGET_S)
    monkeypatch.setitem(CASES._entries, hurried.name, hurried)  # registered for this test only
    df = harness.run(cases="cubic_in_a_hurry", methods="slow,central", dtypes="float64", orders="1")
    by = df.set_index("method")
    assert by.loc["slow", "status"] == "timeout" and f"{BUDGET_S:g} s budget" in by.loc["slow", "message"]
    assert by.loc["central", "status"] == "ok"


UNRULY = "exits,interrupts,generator-exit,stops,mutates,central"


@pytest.fixture(scope="module")
def unruly(fast):
    load_plugin(PLUGINS / "unruly.py")
    return harness.run(cases="tanh,cubic", methods=UNRULY, dtypes="float64", devices="cpu", orders="1",
                       timeout=30.0, timing=fast, sizes="quick")


@pytest.mark.parametrize("method, message", [
    ("exits", "SystemExit: 3"),
    ("interrupts", "KeyboardInterrupt"),
    ("generator-exit", "GeneratorExit: closed"),
    ("stops", "StopIteration: no more"),  # not the RuntimeError that PEP 479 makes of it
])
def test_whatever_a_method_raises_fails_its_cell_and_the_run_goes_on(unruly, method, message):
    rows = unruly[unruly.method == method]
    assert len(rows) == 2 and (rows.status == "failed").all()  # on tanh, then again on cubic
    assert all(m.split("\n")[0] == message for m in rows.message)
    assert (rows.cell_s < 30.0).all()  # at once, not after its budget
    assert (unruly[unruly.method == "central"].status == "ok").all()


def test_a_failed_cells_message_ends_with_what_it_printed(unruly):
    message = unruly[unruly.method == "exits"].message.iloc[0]
    assert message.splitlines()[-2:] == ["[last output]", "about to give up"]


def test_a_method_that_writes_into_its_input_is_reported(unruly):
    rows = unruly[unruly.method == "mutates"]
    assert (rows.status == "failed").all()
    assert all("writes into its input array (3 of" in m and "its first call" in m for m in rows.message)


def test_a_cells_output_never_reaches_the_callers(fast, capfd):
    load_plugin(PLUGINS / "unruly.py")
    df = harness.run(cases="tanh", methods="chatty", dtypes="float64", orders="1", timing=fast, sizes="quick")
    out, err = capfd.readouterr()
    assert df.status.tolist() == ["ok"] and df.digits.iloc[0] > 8
    assert "chatter" not in out + err and "C's stdio" not in out + err


# every round is run, however slow the machine is today (the time cap is injected)
EVERY_ROUND = TimingSettings(rounds=6, min_batch_s=0.002, rounds_max_s=float("inf"))


def test_a_cell_alone_is_timed_in_rounds_of_its_own_then_finished(capfd):
    from harness.measure.pipeline import RunContext, measure_cell
    from harness.model.method import Cell
    from harness.model.registry import CASES, METHODS

    load_plugin(PLUGINS / "unruly.py")
    context = RunContext(output=Capture())
    try:
        cell = Cell(CASES.all()["cubic"], 1, "float64", "cpu", "derivative")
        row = measure_cell(METHODS.all()["central"], cell, "r", timing=EVERY_ROUND, context=context).row
        chatty = measure_cell(METHODS.all()["chatty"], cell, "r", timing=EVERY_ROUND, context=context).row
    finally:
        context.output.close()
    for r in (row, chatty):
        d, f = np.array(r.eval_samples_s), np.array(r.primal_samples_s)
        assert (r.status, r.message) == ("ok", "") and r.timing_rounds == 6
        assert r.eval_round_ids == list(range(6)) and len(d) == len(f) == r.timing_repeats == 6
        assert r.eval_s == np.median(d) and r.cost_ratio == pytest.approx(np.median(d / f), rel=1e-12)
        assert r.peak_host_bytes is not None or memory._status_kib("VmHWM") is None  # finished: measured
    out, err = capfd.readouterr()  # what it printed in its rounds went into the run's file too
    assert "chatter" not in out + err


@pytest.mark.parametrize("isolate", [False, True])
def test_a_cell_is_prepared_once_for_all_its_rounds(isolate):
    df = harness.run(cases="cubic", methods="prepares-once", dtypes="float64", orders="1", sizes="quick",
                     timing=EVERY_ROUND, plugins=[PLUGINS / "prepares_once.py"], isolate=isolate)
    row = df.iloc[0]
    assert (row.status, row.message) == ("ok", "")  # never prepared again to be timed again
    assert row.timing_rounds == 6 and len(row.eval_samples_s) == 6 == row.timing_repeats
