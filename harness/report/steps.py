"""The step-size V-curve: a finite difference's largest relative error against its step h,
log-log, one panel per case × dtype (the table :mod:`harness.step_sweep` records), drawn by the
page from compact columns (:func:`harness.report.charts.steps_spec`)."""

from __future__ import annotations

import numpy as np
import pandas as pd


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
                     "err": [float(f"{min(max(v, 1e-17), 1e3):.2g}") if v == v else None
                             for v in steps["max_rel_err"].astype(float)]}}
