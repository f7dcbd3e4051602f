"""The verdict table: per case (and size), quantity/order, dtype and device, the most accurate
method and the fastest one that reaches a stated accuracy.

* **most accurate**: the most digits among the cells that finished (``ok``); digits that
  agree to the tenth shown count as a tie, which the faster method wins.
* **fastest to THRESHOLD digits**: the smallest steady-state time (``eval_s``) among the
  ``ok`` cells with at least ``THRESHOLDS[dtype]`` digits (10 in float64, 5 in float32: a
  few digits short of each type's resolution, 16 and 7).
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from harness.report.plots import task_label

THRESHOLDS = {"float64": 10.0, "float32": 5.0}
TIE_DECIMALS = 1  # digits are shown to a tenth: closer than that is a tie
KEYS = ["case", "size", "quantity", "order", "dtype", "device"]


def threshold(dtype: str) -> float:
    return THRESHOLDS.get(dtype, THRESHOLDS["float64"])


def verdicts(cells: pd.DataFrame) -> pd.DataFrame:
    """One row per case × size × quantity × order × dtype × device with a finished cell:
    ``best_*`` (most accurate) and ``fastest_*`` (fastest to the threshold; NaN where none)."""
    cells = cells.assign(size=cells["size"].fillna(""))
    counts = cells.groupby(KEYS, sort=False).agg(n_cells=("status", "size"),
                                                   n_ok=("status", lambda s: int((s == "ok").sum())))
    ok = cells[(cells["status"] == "ok") & cells["digits"].notna()]
    ok = ok.assign(_digits=ok["digits"].astype(float).round(TIE_DECIMALS),
                   _eval=pd.to_numeric(ok["eval_s"], errors="coerce").fillna(np.inf))  # untimed: last
    picked = ["method", "digits", "eval_s"]
    # sorted once, stably: the first row of each group is its pick
    best = (ok.sort_values(["_digits", "_eval"], ascending=[False, True], kind="stable")
            .groupby(KEYS, sort=False).head(1).set_index(KEYS)[picked].add_prefix("best_"))
    enough = ok[ok["digits"] >= ok["dtype"].map(threshold)]
    fastest = (enough.sort_values("_eval", kind="stable").groupby(KEYS, sort=False).head(1)
               .set_index(KEYS)[picked].add_prefix("fastest_"))
    table = best.join(fastest).join(counts).reset_index()
    order = {key: i for i, key in enumerate(counts.index)}  # the results' own order
    table = table.iloc[sorted(range(len(table)), key=lambda i: order[tuple(table.loc[i, KEYS])])]
    table.insert(len(KEYS), "task", [task_label(k) for k in zip(*(table[c] for c in KEYS[:4]))])
    table.insert(len(KEYS) + 1, "threshold", table["dtype"].map(threshold))
    columns = [*KEYS, "task", "threshold", "n_ok", "n_cells", "best_method", "best_digits", "best_eval_s",
               "fastest_method", "fastest_digits", "fastest_eval_s"]
    return table.reindex(columns=columns).reset_index(drop=True)


def verdict_section(cells: pd.DataFrame) -> dict | None:
    table = verdicts(cells)
    if table.empty:
        return None
    tally = []
    for what, column in (("most accurate", "best_method"), ("fastest to the threshold", "fastest_method")):
        counts = Counter(table[column].dropna())
        tally.append((what, counts.most_common(5)))
    return {"rows": table.to_dict("records"), "thresholds": THRESHOLDS, "tally": tally,
            "unreached": int(table["fastest_method"].isna().sum())}
