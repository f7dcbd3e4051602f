"""Memory that is measured (harness.measure.memory): a call's peak, in a worker reused across cells."""

import sys

import numpy as np
import pytest

import harness
from harness.measure import memory
from harness.measure.pipeline import RunContext
from harness.measure.timing import TimingSettings
from harness.model.method import Cell
from harness.model.registry import CASES, METHODS
from harness.runner.pool import Pool
from harness.runner.rounds import run_task
from harness.runner.worker import WorkerSettings

linux = pytest.mark.skipif(not sys.platform.startswith("linux") or memory._status_kib("VmHWM") is None,
                           reason="the peak resident set is Linux's /proc/self/status")
SHORT = TimingSettings(rounds=3, min_batch_s=0.002)
POINTS = 10**6
OUTPUT_BYTES = 8 * POINTS  # tanh′ at 10⁶ points in float64: the output array alone
# what a call can find already resident though it freed nothing (pages an earlier call left): one
# reading may fall this far short of the output (7.05 of 7.63 MiB, once in 60; the median of three
# readings is kept)
RESIDENT_SLACK = 0.05
METHODS_AT_1E6 = ("central", "complex-step", "sympy", "np-gradient", "dual", "jax", "jax-fwd", "torch",
                  "autograd", "tensorflow")


def _tanh_cell():
    case = next(c for c in CASES.get("tanh").cases("default") if c.grid == POINTS)
    return Cell(case, 1, "float64", "cpu", "derivative")


@linux
def test_every_method_reports_at_least_its_output_in_a_reused_worker():
    df = harness.run(cases="tanh", methods=",".join(METHODS_AT_1E6), dtypes="float64", orders="1",
                     timing=SHORT, isolate=True)
    big = df[(df["n_points"] >= POINTS) & (df["status"] == "ok")]
    assert {"central", "jax", "torch", "dual"} <= set(big["method"])  # what the test environment has
    short = big[big["peak_host_bytes"] < (1 - RESIDENT_SLACK) * OUTPUT_BYTES]
    assert short.empty, short[["method", "peak_host_bytes"]].to_string()


@linux
@pytest.mark.parametrize("method", ["central", "autograd", "dual"])
def test_the_same_cell_twice_in_one_worker_has_the_same_peak(method):
    """The second cell in a worker used to read 0 B whenever the first had left its memory free but
    resident (88 % of a default run's ok cells).  Methods whose call needs 30–70 MB: what else a
    worker allocates in the window adds up to ~1.5 MB to a reading (an XLA call of 7.6 MiB read
    9.2 MiB in one cell of a dozen), which only a large peak makes small against 10 %."""
    pool = Pool(WorkerSettings(backend=None, timing=SHORT))
    rows = []
    try:
        for _ in range(3):  # prepared, timed in its rounds and finished, in the same worker each time
            run_task([(METHODS.get(method), _tanh_cell())], "r", SHORT, 120.0, pool, RunContext(),
                     lambda row, points: rows.append(row))
    finally:
        pool.close()
    assert [(r.status, r.timing_rounds) for r in rows] == [("ok", 3)] * 3
    assert [len(starts) for starts in pool.starts.values()] == [1]  # one worker for the three
    peaks = [r.peak_host_bytes for r in rows]
    assert min(peaks) >= (1 - RESIDENT_SLACK) * OUTPUT_BYTES, peaks
    assert max(peaks) <= 1.10 * min(peaks), peaks


@linux
def test_a_cheap_call_is_measured_three_times_a_dear_one_once_and_a_block_is_seen():
    seen = []

    def call():  # a block the allocator has held free and resident since the last call
        seen.append(np.ones(2 * 2**20 // 8).sum())

    call()
    block = 2 * 2**20 * (1 - RESIDENT_SLACK)
    assert memory.call_peak(call, call_s=0.001) >= block and len(seen) == 1 + memory.PEAK_PROBES
    assert memory.call_peak(call, call_s=1.0) >= block and len(seen) == 2 + memory.PEAK_PROBES
