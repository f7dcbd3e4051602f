"""Faults a benchmark meets, in worker processes: crashes, hangs, memory, bad results; and a
run killed outright, then resumed."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import harness
from harness.measure.timing import UNTIMED
from harness.runner import journal
from harness.store import schema

FAULTS = Path(__file__).parent / "plugins" / "faults.py"
CASES = "tanh,cubic,sin_square,softplus,exp_sin"
HEALTHY = ("sympy,forward,backward,central,central4,complex-step,richardson,np-gradient,"
           "scipy-differentiate,dual,numdifftools")
KEY = schema.KEY

# what each fault must end as in float64 (its float32 cells are unsupported: it declares float64)
EXPECTED = {
    "fault-segfault": ("crashed", "SIGSEGV"),
    "fault-abort": ("crashed", "SIGABRT"),
    "fault-native-hang": ("timeout", "its worker was stopped"),
    "fault-hog": ("failed", "MemoryError"),
    "fault-raises": ("failed", "ZeroDivisionError"),
    "fault-nan-half": ("failed", "NaN or infinite"),
    "fault-wrong-shape": ("failed", "shape"),
    "fault-python-hang": ("timeout", "budget"),
    "fault-missing": ("unavailable", "no_such_backend_xyz"),
}


def _diffbench(*args, **kw):
    return subprocess.run([sys.executable, "-m", "harness", *map(str, args)], capture_output=True,
                          text=True, **kw)


@pytest.mark.slow
def test_a_200_cell_matrix_with_faults_measures_every_healthy_cell(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "harness", "run", "--plugin", str(FAULTS), "--cases",
                             CASES, "--sizes", "quick", "--dtypes", "float64,float32", "--methods",
                             f"fault-*,{HEALTHY}", "--orders", "1", "--timeout", "3",
                             "--memory-limit", "1.5", "--out", str(tmp_path), "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # meanwhile (the run spends most of its time waiting out hung cells): the healthy methods alone
    alone = harness.run(cases=CASES, methods=HEALTHY, orders="1", timeout=60, timing=UNTIMED, sizes="quick",
                        dtypes="float64,float32")
    out, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, err
    cells = pd.read_parquet(out.split()[0])
    assert len(cells) == 200 and set(cells.method) == set(EXPECTED) | set(HEALTHY.split(","))

    faulty = cells[cells.method.isin(list(EXPECTED))]
    for r in faulty.itertuples():
        status, words = EXPECTED[r.method] if r.dtype == "float64" or r.method == "fault-missing" \
            else ("unsupported", "float32")
        assert (r.status, words in r.message) == (status, True), (r.case, r.method, r.dtype, r.message)
    crashed = faulty[faulty.status == "crashed"]  # each says where: the crash's innermost frames
    assert len(crashed) == 10 and all("[last output]\nFatal Python error" in m and "faults.py" in m
                                      for m in crashed.message)

    # the healthy cells end exactly as they do in a run without any fault beside them
    healthy = cells[~cells.method.isin(list(EXPECTED))].set_index(KEY)["status"].sort_index()
    assert healthy.to_dict() == alone.set_index(KEY)["status"].sort_index().to_dict()
    assert (healthy == "ok").sum() >= 90


@pytest.mark.slow
def test_a_killed_run_resumed_has_the_rows_of_an_uninterrupted_one(tmp_path):
    selection = ["--cases", "tanh,cubic,softplus", "--methods", "central,forward,dual,sympy,complex-step",
                 "--orders", "1,2", "--sizes", "quick", "--dtypes", "float64,float32"]
    whole = _diffbench("run", *selection, "--out", tmp_path / "whole", "--quiet", timeout=600)
    assert whole.returncode == 0, whole.stderr
    expected = pd.read_parquet(whole.stdout.split()[0])

    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "harness", "run", *selection, "--out", str(out), "--log"],
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    finished = 0
    for line in proc.stderr:  # let a third of the cells finish, then kill it and its workers
        finished += line.startswith("[")
        if finished == len(expected) // 3:
            break
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    (left,) = out.glob(f"*{schema.JOURNAL_SUFFIX}")
    assert not list(out.glob("*.parquet"))  # killed outright: only the journal is there
    meta, rows, _ = journal.read(left)
    assert len(expected) // 3 <= len(rows) < len(expected)

    resumed = _diffbench("run", "--resume", left, "--quiet", timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    cells = pd.read_parquet(resumed.stdout.split()[0])
    assert set(cells.run_id) == {meta.run_id} and not left.exists()
    assert sorted(map(tuple, cells[KEY + ["status"]].astype(str).values)) == \
        sorted(map(tuple, expected[KEY + ["status"]].astype(str).values))
    points = pd.read_parquet(resumed.stdout.split()[0].replace(".parquet", ".points.parquet"))
    assert len(points) == len(pd.read_parquet(whole.stdout.split()[0].replace(".parquet", ".points.parquet")))


UNRULY = Path(__file__).parent / "plugins" / "unruly.py"


def test_exit_and_interrupt_in_a_worker_fail_their_cells_and_the_run_goes_on(tmp_path):
    proc = _diffbench("run", "--plugin", UNRULY, "--cases", "tanh,cubic", "--sizes", "quick", "--methods",
                      "exits,interrupts,stops,central", "--dtypes", "float64", "--orders", "1",
                      "--timeout", "20", "--out", tmp_path, "--quiet", "--no-step-sweep", timeout=300)
    assert proc.returncode == 0, proc.stderr
    cells = pd.read_parquet(proc.stdout.split()[0]).set_index(["case", "method"])
    for case in ("tanh", "cubic"):  # the second case's cells after a first failure
        for method, message in [("exits", "SystemExit: 3"), ("interrupts", "KeyboardInterrupt"),
                                ("stops", "StopIteration: no more")]:
            row = cells.loc[(case, method)]
            assert (row.status, row.message.split("\n")[0]) == ("failed", message) and row.cell_s < 20
            if method != "stops":  # its last words, printed in the worker
                assert row.message.endswith("[last output]\nabout to give up")
        assert cells.loc[(case, "central"), "status"] == "ok"
    assert "Traceback" not in proc.stderr and "about to give up" not in proc.stderr


def test_a_method_printing_20_mb_leaves_only_the_paths_on_stdout(tmp_path):
    with (tmp_path / "out.txt").open("w") as out:
        proc = subprocess.run([sys.executable, "-m", "harness", "run", "--plugin", str(UNRULY), "--cases",
                               "tanh", "--sizes", "quick", "--methods", "chatty,central", "--dtypes",
                               "float64", "--orders", "1", "--out", str(tmp_path / "results"),
                               "--no-step-sweep"],
                              stdout=out, stderr=subprocess.PIPE, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    printed = (tmp_path / "out.txt").read_text().splitlines()
    assert len(printed) == 1 and printed[0].endswith(".parquet") and Path(printed[0]).is_file()
    assert len(proc.stderr) < 2000 and "chatter" not in proc.stderr, proc.stderr[:500]
    assert proc.stderr.startswith("2 cells in")  # diffbench's own summary, nothing else
    cells = pd.read_parquet(printed[0]).set_index("method")
    assert cells.loc["chatty", "status"] == "ok" and cells.loc["chatty", "digits"] > 8
