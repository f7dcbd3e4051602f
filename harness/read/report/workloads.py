"""The report's workloads section: the derivative ÷ objective ratio at each size beside the figures
gradbench publishes (the field's curves against size are the workload charts', charts.py).

The workloads are gradbench's evals (``cases/gradbench.py``, ``cases/bundle.py``) and the MLP loss
sweep; a report reads results files only, so they are named here.
"""

from __future__ import annotations

import pandas as pd

from harness.read import analysis

WORKLOADS = ("gmm", "lstm", "lse", "llsq", "ode", "det", "kmeans", "ba", "mlp_loss")
# derivative ÷ objective in gradbench's own CI timings (evals/<name>/summary.json at commit
# 0003df3e of gradbench/gradbench, hardware not stated), per tool: ranges over its sizes
PUBLISHED = {
    "gmm": "gradbench CI: manual 1.7–3.3×, Tapenade 2.4–5.4×, Enzyme 3.2–6.8×, "
           "finite differences up to ≈5.5·10⁴×",
    "lstm": "gradbench CI: manual 5.3–13.2×, Tapenade ≈3.2×, Enzyme ≈3×, finite differences 532–1428×",
    "ba": "gradbench CI: manual ≈7.5×, Tapenade ≈13.5×, Enzyme ≈9×, finite differences ≈52×",
}
REVERSE = ("reverse", "forward+reverse")


def workloads(cells: pd.DataFrame) -> pd.DataFrame:
    """The measured cells of the workloads."""
    ok = analysis.measured(cells)
    return ok[ok["case"].isin(WORKLOADS)]


def ratio_table(ok: pd.DataFrame) -> list[dict]:
    """Per workload and size: the best derivative ÷ objective of reverse-mode AD and of finite
    differences (float64), beside gradbench's published range."""
    rows = []
    f64 = ok[ok["dtype"] == "float64"]
    for (case, size), g in f64.groupby(["case", "size"], sort=False):
        ratio = pd.to_numeric(g["cost_ratio"], errors="coerce")
        reverse = ratio[(g["family"] == "automatic") & g["mode"].isin(REVERSE)]
        differences = ratio[g["family"] == "numerical"]
        rows.append({"case": case, "size": size, "n": int(g["dim"].iloc[0]),
                     "reverse": _best(reverse, g), "differences": _best(differences, g),
                     "published": PUBLISHED.get(case, "")})
    return rows


def _best(ratio: pd.Series, g: pd.DataFrame) -> str:
    ratio = ratio.dropna()
    if ratio.empty:
        return ""
    i = ratio.idxmin()
    return f"{ratio[i]:.3g}× ({g.loc[i, 'method']})"


def workloads_section(cells: pd.DataFrame, methods: list[str]) -> dict | None:
    ok = workloads(cells)
    if ok.empty:
        return None
    # the field's curves (time, ratio and digits against n) are the workload charts' (charts.py)
    return {"ratios": ratio_table(ok)}
