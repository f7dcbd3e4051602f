"""Accuracy against cost: which cells no other cell beats on both.

A cell is on the Pareto front when no other cell is at least as fast and at least as
accurate, and strictly better in one of the two: the fastest way to its accuracy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from harness.report.plots import method_styles, present_methods, scatter_grid, task_label

FRONT_STYLE = {"float64": "-", "float32": "--"}


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


def accuracy_cost_section(cells: pd.DataFrame, methods: list[str]) -> dict | None:
    """One scatter per case × quantity/order (a sweep at its largest size) and device: digits
    against steady-state time, both dtypes, with each dtype's front."""
    ok = cells[(cells["status"] == "ok") & (cells["quantity"] != "training")]
    ok = ok[pd.to_numeric(ok["eval_s"], errors="coerce").gt(0) & ok["digits"].notna()]
    if ok.empty:
        return None
    size = ok["size"].fillna("")
    ok = ok.assign(size=size)
    largest = ok.drop_duplicates(["case", "size"]).groupby("case", sort=False)["size"].last()
    ok = ok[ok["size"] == ok["case"].map(largest)]
    several_devices = ok["device"].nunique() > 1
    styles = method_styles(methods)
    panels = []
    for (case, sz, quantity, order, device), g in ok.groupby(
            ["case", "size", "quantity", "order", "device"], sort=False):
        title = task_label((case, sz, quantity, order)) + (f", {device}" if several_devices else "")
        series, fronts = [], []
        for dtype, gd in g.groupby("dtype", sort=False):
            for method, gm in gd.groupby("method", sort=False):
                series.append((method, dtype, gm["eval_s"].to_numpy(float), gm["digits"].to_numpy(float)))
            f = front_of(gd)
            fronts.append((dtype, f["eval_s"].to_numpy(float), f["digits"].to_numpy(float)))
        panels.append((title, series, fronts))
    shown = present_methods(methods, ok)
    return {"figure": scatter_grid(panels, {m: styles[m] for m in shown}, FRONT_STYLE),
            "panels": len(panels)}
