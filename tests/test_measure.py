"""One cell (harness.measure.pipeline): every cell ends in a status with a true message; broken methods are
results, not crashes."""

import numpy as np
import pytest

import harness
from harness.host.environment import gpus
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


# every cell gets its second pass, however slow the machine is today (the cost cap is injected)
ALWAYS_TWO_PASSES = TimingSettings(repeats=5, min_batch_s=0.002, passes=2, later_pass_max_s=float("inf"))


@pytest.mark.parametrize("isolate", [False, True])
def test_each_cell_is_timed_in_two_passes_and_they_are_pooled(isolate):
    df = harness.run(cases="cubic", methods="central,dual", dtypes="float64", orders="1", sizes="quick",
                     timing=ALWAYS_TWO_PASSES, isolate=isolate)
    assert df.attrs["meta"].passes == 2 and (df.status == "ok").all() and (df.timing_passes == 2).all()
    for row in df.itertuples():
        d, f = np.array(row.eval_samples_s), np.array(row.primal_samples_s)
        assert len(d) == len(f) == row.timing_repeats == 6  # 3 batches in each pass
        assert list(row.eval_pass_s) == [np.median(d[:3]), np.median(d[3:])]
        assert row.eval_s == min(row.eval_pass_s)  # the less disturbed pass
        assert row.eval_ci_lo_s == d.min() and row.eval_ci_hi_s == d.max()  # 6 samples: 96.9 % coverage
        assert row.cost_ratio == pytest.approx(np.median(d / f), rel=1e-12)  # rounds still paired


def test_a_pass_slowed_by_a_burst_does_not_decide_the_figure():
    from dataclasses import replace

    from harness.measure.outcomes import Retimed
    from harness.measure.pipeline import measure_cell, with_pass
    from harness.measure.timing import Timing
    from harness.model.method import Cell
    from harness.model.registry import CASES, METHODS

    cell = Cell(CASES.all()["cubic"], 1, "float64", "cpu", "derivative")
    row = measure_cell(METHODS.all()["central"], cell, "r", timing=TimingSettings(repeats=3, passes=1)).row
    burst = replace(row, eval_s=3.1e-6, eval_samples_s=[3.0e-6, 3.1e-6, 3.2e-6], eval_pass_s=[3.1e-6],
                    primal_s=1e-6, primal_samples_s=[1e-6] * 3, bandwidth_share=0.1)
    quiet = Retimed(Timing(2.0e-6, 0.0, 10, 3, [2.1e-6, 2.0e-6, 1.9e-6]),
                    Timing(1e-6, 0.0, 10, 3, [1e-6] * 3))
    pooled = with_pass(burst, quiet)
    assert pooled.eval_s == 2.0e-6 and pooled.eval_pass_s == [3.1e-6, 2.0e-6]
    assert (pooled.eval_ci_lo_s, pooled.eval_ci_hi_s) == (1.9e-6, 3.2e-6)  # the interval spans both passes
    assert pooled.noisy and pooled.eval_noise == pytest.approx(1.3e-6 / 2.0e-6)
    assert pooled.cost_ratio == pytest.approx(2.55)  # the median of the six rounds' ratios
    assert pooled.bandwidth_share == pytest.approx(0.1 * 3.1 / 2.0)  # the same bytes in less time


def test_a_failed_later_pass_leaves_the_first_and_says_so():
    load_plugin(PLUGINS / "prepares_once.py")
    df = harness.run(cases="cubic", methods="prepares-once", dtypes="float64", orders="1", sizes="quick",
                     timing=ALWAYS_TWO_PASSES)
    row = df.iloc[0]
    assert row.status == "ok" and len(row.eval_pass_s) == 1 == row.timing_passes
    assert len(row.eval_samples_s) == 3
    assert row.message == ("timed in 1 pass(es): its later timing pass failed: "
                           "RuntimeError: prepared once already")
