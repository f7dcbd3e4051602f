"""The harness's own costs: how faithful its timer is, and what a cell costs besides the method.

* Timing fidelity: ``harness.measure.timing.measure(call).median_s`` next to the textbook
  figure, ``timeit``'s best per call (``autorange`` then ``repeat(5)``, as
  ``python -m timeit`` does), for a no-op, a ~1 µs Python function and a NumPy ufunc
  on 10⁵ points.  Each round runs the bare timeit first (untimed, pytest-benchmark's
  ``setup``), then ``measure`` (timed), so both see the machine in the same state.
  The benchmark's own figure is the wall time of one ``measure`` call — the timing
  loop every cell pays; ``extra_info`` holds both per-call figures and their ratio.
  The target is a ratio within 10% of 1.
* Fixed overhead per cell: ``harness.measure.pipeline.measure_cell`` for ``forward`` on
  ``square`` (100 points) timed in one round, minus its setup (prepare and first call)
  and minus its timing (its calls' calibration and its rounds' batches): checks,
  accuracy, memory, per-point rows.  The function's own timing (``primal_s``) is a
  batch of each round, after the derivative's, so it counts as the timing's; the reference is
  cached per case × order × points, so a run pays it once per case, order and
  dtype rather than per method: it is reported apart (``reference_cold_s``).
  The target is under 50 ms.

Nothing is asserted about time (a shared machine makes timed assertions flaky); what is
asserted is that the figures reported are the ones measured (the samples' median and
quartiles, the rounds the cell's row reports)::

    pytest tests/benchmarks/test_bench_harness.py --benchmark-enable
"""

from __future__ import annotations

import statistics
import time
import timeit

import numpy as np
import pytest

import harness.truth.reference
from harness.measure import pipeline as measuring
from harness.measure.timing import TimingSettings, measure
from harness.model.method import Cell
from harness.model.registry import CASES, METHODS

ROUNDS = 3
SMOKE = {"min_batch_s": 1e-3}  # benchmarks disabled (the default test run): one quick pass
HORNER = tuple(float(c) for c in range(1, 21))
X = np.linspace(-5.0, 5.0, 100_000)
OUT = np.empty_like(X)


def horner(t=0.3, coefficients=HORNER):
    """A degree-19 polynomial in pure Python: about 1 µs."""
    acc = 0.0
    for c in coefficients:
        acc = acc * t + c
    return acc


CALLS = {
    "noop": lambda: None,
    "python-1us": horner,
    "ufunc-1e5": lambda: np.sin(X, out=OUT),
}


def timeit_best(call, smoke: bool) -> tuple[float, int]:
    """timeit's figure: the best per-call time of 5 batches of autorange's count (≥ 0.2 s each)."""
    timer = timeit.Timer(call)
    if smoke:
        return timer.timeit(10) / 10, 10
    number, _ = timer.autorange()
    return min(timer.repeat(repeat=5, number=number)) / number, number


@pytest.mark.parametrize("name", CALLS)
def test_timing_fidelity(benchmark, name):
    call, smoke = CALLS[name], benchmark.disabled
    kwargs = SMOKE if smoke else {}
    reference, timings = [], []

    def bare_timeit():  # untimed, just before each timed measure()
        reference.append(timeit_best(call, smoke))

    benchmark.group = "harness-timer"
    benchmark.pedantic(lambda: timings.append(measure(call, **kwargs)), setup=bare_timeit,
                       rounds=1 if smoke else ROUNDS)
    harness_s = statistics.median(t.median_s for t in timings)
    timeit_s = min(best for best, _ in reference)
    ratio = harness_s / timeit_s
    benchmark.extra_info.update(harness_median_s=harness_s, timeit_min_s=timeit_s, ratio=ratio,
                                harness_number=timings[-1].number, timeit_number=reference[-1][1],
                                rounds=len(timings))
    for t in timings:  # the figures are the samples' own: median and quartiles, one sample per batch
        assert len(t.samples_s) == t.repeats and t.number >= 1
        assert t.median_s == statistics.median(t.samples_s)
        q1, _, q3 = statistics.quantiles(t.samples_s, n=4, method="inclusive")
        assert t.iqr_s == pytest.approx(q3 - q1, rel=1e-12, abs=1e-18)


@pytest.fixture
def timed_loop(monkeypatch):
    """Per cell measured by measure_cell, [wall time, the derivative's per-call time of each batch]
    of its timing: its calls' calibration (``Held``'s construction) and its rounds' batches
    (``Held.batch``), wrapped."""
    loops = []
    calibrate, batch = measuring.Held.__init__, measuring.Held.batch

    def calibrated(self, *args, **kwargs):
        t0 = time.perf_counter()
        calibrate(self, *args, **kwargs)
        loops.append([time.perf_counter() - t0, []])

    def one_batch(self):
        t0 = time.perf_counter()
        found = batch(self)
        loops[-1][0] += time.perf_counter() - t0
        loops[-1][1].append(found[0])
        return found

    monkeypatch.setattr(measuring.Held, "__init__", calibrated)
    monkeypatch.setattr(measuring.Held, "batch", one_batch)
    return loops


def test_cell_overhead(benchmark, timed_loop, monkeypatch):
    case = CASES.case("square")
    cell = Cell(case, 1, "float64", "cpu")
    method = METHODS.get("forward")
    context = measuring.RunContext()  # what a run's cells share
    measuring.measure_cell(method, cell, "warm-up", context=context)  # first-use imports are not per cell
    monkeypatch.setattr(harness.truth.reference, "_cache", {})  # a cold reference, then the cached one
    t0 = time.perf_counter()
    harness.truth.reference.reference(case, 1, case.points(), reuse=False)  # computed, not read from disk
    reference_cold_s = time.perf_counter() - t0
    timed_loop.clear()
    cells = []

    def one_cell():
        t0 = time.perf_counter()
        measured = measuring.measure_cell(method, cell, "bench",
                                          timing=TimingSettings(rounds=1, min_batch_s=1e-4),
                                          context=context)
        cells.append((time.perf_counter() - t0, measured.row, len(measured.points)))

    benchmark.group = "harness-cell"
    benchmark.pedantic(one_cell, rounds=1 if benchmark.disabled else 20)
    assert all(row.status == "ok" for _, row, _ in cells)
    assert len(timed_loop) == len(cells)  # one calibration per cell (the primal's batches with its own)
    # each row reports the one round it ran, and grades every point of the case
    assert [row.eval_s for _, row, _ in cells] == [statistics.median(batches) for _, batches in timed_loop]
    assert all(row.timing_repeats == row.timing_rounds == 1 and row.eval_round_ids == [0]
               and n == case.n_points == row.n_points for _, row, n in cells)
    wall = [w for w, _, _ in cells]
    setup = [row.setup_s for _, row, _ in cells]
    overhead = [w - s - loop for w, s, (loop, _) in zip(wall, setup, timed_loop)]
    benchmark.extra_info.update(
        overhead_s=statistics.median(overhead), cell_wall_s=statistics.median(wall),
        setup_s=statistics.median(setup), timing_loop_s=statistics.median(w for w, _ in timed_loop),
        reference_cold_s=reference_cold_s, n_points=cells[-1][2],
    )
