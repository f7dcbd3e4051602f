"""Persistent steps in a series of runs: a regression is a level that moved and stayed.

A nightly series of a cell's median time is noisy, and one bad night is not a regression.
As asv does, the series (in log time) is fitted by a piecewise-constant function: the
partition into segments that minimises the sum of absolute deviations from each segment's
median plus a penalty per segment, found exactly by dynamic programming over the split
points (O(T²) medians for T runs).  Each segment must hold at least ``min_runs`` runs, so a
single odd night is absorbed by its neighbours; the penalty is ``min_runs`` times the
threshold's log, so a split pays only for a step larger than the threshold held over at
least ``min_runs`` runs.  A step is a boundary between two segments whose levels differ
by more than the threshold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MIN_RUNS = 2


@dataclass(frozen=True)
class Step:
    at: int  # the first run of the new level
    before: float  # the levels (medians of the segments), in the series' own units
    after: float

    @property
    def ratio(self) -> float:
        return self.after / self.before if self.before else math.inf


def _segments(y: np.ndarray, penalty: float, min_runs: int) -> list[tuple[int, int]]:
    """The optimal partition of y into [start, end) segments of ≥ min_runs points."""
    n = len(y)
    if n < 2 * min_runs:
        return [(0, n)]
    cost = np.full((n + 1, n + 1), np.inf)  # cost[i, j]: absolute deviation of y[i:j] from its median
    for i in range(n - min_runs + 1):
        # every segment starting at i at once: row r holds y[i:i+r+1], NaN beyond (one NumPy call per i,
        # not one per segment: a folder of 365 nightly runs has 66,000 segments per series)
        tail = y[i:]
        rows = np.where(np.tri(len(tail), dtype=bool), tail[None, :], np.nan)[min_runs - 1:]
        medians = np.nanmedian(rows, axis=1)
        cost[i, i + min_runs:] = np.nansum(np.abs(rows - medians[:, None]), axis=1)
    best = np.full(n + 1, np.inf)
    best[0] = -penalty  # the first segment pays no penalty
    start = np.zeros(n + 1, dtype=int)
    for j in range(min_runs, n + 1):  # the best last segment [i, j) given the best partition of y[:i]
        totals = best[:j - min_runs + 1] + penalty + cost[:j - min_runs + 1, j]
        start[j] = int(np.argmin(totals))
        best[j] = totals[start[j]]
    bounds, j = [], n
    while j > 0:
        bounds.append((start[j], j))
        j = start[j]
    return bounds[::-1]


def find_steps(values, threshold: float, min_runs: int = MIN_RUNS) -> list[Step]:
    """The persistent steps of a positive series (run order) beyond ``threshold`` (0.1: 10 %).
    NaN runs (a cell missing that night) are left out of the fit; steps are given at the
    run they happened, in the series' indices."""
    values = np.asarray(values, dtype=float)
    kept = np.flatnonzero(np.isfinite(values) & (values > 0))
    if len(kept) < 2 * min_runs:
        return []
    y = np.log(values[kept])
    bar = math.log1p(threshold)
    segments = _segments(y, min_runs * bar, min_runs)
    levels = [float(np.exp(np.median(y[a:b]))) for a, b in segments]
    steps = []
    for (a, _), before, after in zip(segments[1:], levels, levels[1:]):
        if abs(math.log(after / before)) > bar:
            steps.append(Step(int(kept[a]), before, after))
    return steps
