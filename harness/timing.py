"""Steady-state timing of one prepared call.

The caller has already run the first call (compile, warm-up), which it reports
as setup.  Here ``timeit`` calibrates the loop with ``autorange`` (enough calls
to take ``MIN_BATCH_S``), then takes ``repeats`` batches with the garbage
collector off; a call's time is a batch's time over its count.  The median and
interquartile range of those per-call times are reported.  A call that fills a
batch alone is timed one call per batch, its calibration run counting as the
first batch; calls of 0.1 s or more take ``LONG_REPEATS`` batches.

A run's ``timing={"repeats": 0}`` (:data:`UNTIMED`) checks and grades every cell without
timing it: what a capability check needs, and nothing the steady-state figures depend on.
"""

from __future__ import annotations

import timeit
from dataclasses import dataclass

import numpy as np

# batches of ≥ 5 ms: perf_counter resolves them to well under 0.1 %, and the 5 batches of a cell
# stay short enough for the default matrix to run in minutes
MIN_BATCH_S = 0.005
REPEATS = 5
# a call of 0.1 s or more (a Python loop over points, a large stencil, a workload) is timed 3
# times: its spread is a few per cent, and 5 such calls made a handful of cells a fifth of the
# default run (the workloads' 70 such cells: 40 s of it)
LONG_CALL_S = 0.1
LONG_REPEATS = 3
UNTIMED = {"repeats": 0}  # a run's timing settings for cells checked and graded, not timed


def timed(settings: dict | None) -> bool:
    """Whether a run's timing settings time its cells (all but :data:`UNTIMED`)."""
    return (settings or {}).get("repeats", REPEATS) > 0


@dataclass
class Timing:
    median_s: float
    iqr_s: float
    number: int  # calls per batch
    repeats: int
    samples_s: list  # per-call time of each batch


def measure(call, repeats: int = REPEATS, min_batch_s: float = MIN_BATCH_S) -> Timing:
    """Time ``call()`` (which must return only once its work is done)."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    timer = timeit.Timer(call)
    number = 1
    while True:  # timeit's autorange, with our own batch target
        elapsed = timer.timeit(number)
        if elapsed >= min_batch_s:
            break
        # aim straight for the target rather than stepping 1, 2, 5, 10, ...
        number = max(number * 2, int(number * min_batch_s / max(elapsed, 1e-9) * 1.2))
    if number == 1:  # a call that fills a batch alone: the calibration run was a batch already
        repeats = min(repeats, LONG_REPEATS) if elapsed >= LONG_CALL_S else repeats
        samples = np.array([elapsed, *timer.repeat(repeat=repeats - 1, number=1)])
    else:
        samples = np.array(timer.repeat(repeat=repeats, number=number)) / number
    q1, median, q3 = np.percentile(samples, [25, 50, 75])
    return Timing(float(median), float(q3 - q1), number, repeats, samples.tolist())
