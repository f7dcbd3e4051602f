"""The step-size V-curve: a finite difference's largest relative error against its step h,
log-log, one panel per case × dtype (the table :mod:`harness.measure.step_sweep` records), drawn by the
page from compact columns (:func:`harness.read.report.charts.steps_spec`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

ERR_RANGE = (1e-17, 1e3)  # errors are clipped into the panels


def _marks(steps: pd.DataFrame) -> dict:
    """Per case × method × dtype: h* (theory) and the method's chosen step, with the error there read
    off the sweep's curve (log-log interpolation), as the panels mark them."""
    marks: dict = {k: [] for k in ("case", "method", "dtype", "optimal", "chosen", "chosen_err")}
    for (case, method, dtype), g in steps.groupby(["case", "method", "dtype"], sort=False):
        g = g.sort_values("h")
        h, err = g["h"].to_numpy(float), g["max_rel_err"].to_numpy(float)
        drawn = np.isfinite(err)
        chosen = float(g["chosen_h"].iloc[0])
        at = None
        if np.isfinite(chosen) and drawn.sum() >= 2:
            logs = np.log(np.clip(err[drawn], *ERR_RANGE))
            at = float(f"{np.exp(np.interp(np.log(chosen), np.log(h[drawn]), logs)):.3g}")
        for key, value in zip(marks, (case, method, dtype, float(f"{g['optimal_h'].iloc[0]:.3g}"),
                                      float(f"{chosen:.3g}") if np.isfinite(chosen) else None, at)):
            marks[key].append(value)
    return marks


def step_table(steps: pd.DataFrame) -> list[dict]:
    """Per case × method × dtype: the best step measured and its digits, against h* and the
    chosen step (the digits there are read off the sweep's nearest step)."""
    rows = []
    for (case, method, dtype), g in steps.groupby(["case", "method", "dtype"], sort=False):
        g = g.sort_values("h")
        best = g.loc[g["max_rel_err"].idxmin()]
        chosen = g["chosen_h"].iloc[0]
        near = (g.iloc[int(np.argmin(np.abs(np.log(g["h"]) - np.log(chosen))))]
                if np.isfinite(chosen) else None)
        rows.append({"case": case, "method": method, "dtype": dtype, "best_h": best["h"],
                     "best_digits": best["digits"], "optimal_h": g["optimal_h"].iloc[0], "chosen_h": chosen,
                     "chosen_digits": near["digits"] if near is not None else np.nan})
    return rows


def step_section(steps: pd.DataFrame | None, methods: list[str]) -> dict | None:
    if steps is None or steps.empty:
        return None
    # shards of one run (or several runs) may each have swept a case: the same arithmetic
    steps = steps.drop_duplicates(["case", "method", "dtype", "h"])
    return {"rows": step_table(steps), "cases": list(dict.fromkeys(steps["case"])),
            "data": {"case": steps["case"].tolist(), "method": steps["method"].tolist(),
                     "dtype": steps["dtype"].tolist(),
                     "h": [float(f"{v:.3g}") for v in steps["h"]],
                     # an infinite error (x + h = x) is not drawn
                     "err": [float(f"{np.clip(v, *ERR_RANGE):.2g}") if np.isfinite(v) else None
                             for v in steps["max_rel_err"].astype(float)],
                     "marks": _marks(steps)}}
