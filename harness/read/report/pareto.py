"""Accuracy against cost: which cells no other cell beats on both (the report's accuracy-cost
chart joins them, :mod:`harness.read.report.charts`).

A cell is on the Pareto front when no other cell is at least as fast and at least as
accurate, and strictly better in one of the two: the fastest way to its accuracy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def front(eval_s, digits) -> np.ndarray:
    """Boolean mask of the points on the front (NaN never is), for time ``eval_s`` (lower is
    better) and ``digits`` (higher is better).  Equal points are all on it."""
    t = np.asarray(eval_s, dtype=float)
    d = np.asarray(digits, dtype=float)
    on = np.zeros(len(t), dtype=bool)
    valid = np.flatnonzero(np.isfinite(t) & np.isfinite(d))
    best = -np.inf  # the most digits among the faster points
    for time in np.unique(t[valid]):  # ascending
        here = valid[t[valid] == time]
        top = d[here].max()
        if top > best:  # nothing faster reaches this accuracy
            on[here[d[here] == top]] = True
            best = top
    return on


def front_of(g: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``g`` on its front, fastest first."""
    return g[front(g["eval_s"], g["digits"])].sort_values("eval_s")
