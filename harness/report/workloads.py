"""The report's workloads section: the field's four curves per workload (derivative time,
derivative ÷ objective, objective time and digits against the parameter count), with fitted
exponents, and the ratio at each size beside the figures gradbench publishes.

The workloads are gradbench's evals (``cases/gradbench.py``, ``cases/bundle.py``) and the MLP loss
sweep; a report reads results files only, so they are named here.
"""

from __future__ import annotations

import pandas as pd

from harness import analysis
from harness.report.plots import method_styles
from harness.report.sweep_plots import Line, Panel, panel_grid

WORKLOADS = ("gmm", "lstm", "lse", "llsq", "ode", "det", "kmeans", "ba", "mlp_loss")
# derivative ÷ objective in gradbench's own CI timings (evals/<name>/summary.json at commit
# 0003df3e of gradbench/gradbench, hardware not stated), per tool: ranges over its sizes
PUBLISHED = {
    "gmm": "gradbench CI: manual 1.7–3.3×, Tapenade 2.4–5.4×, Enzyme 3.2–6.8×, "
           "finite differences up to ≈5.5·10⁴×",
    "lstm": "gradbench CI: manual 5.3–13.2×, Tapenade ≈3.2×, Enzyme ≈3×, finite differences 532–1428×",
    "ba": "gradbench CI: manual ≈7.5×, Tapenade ≈13.5×, Enzyme ≈9×, finite differences ≈52×",
}
CURVES = (("eval_s", "derivative time per call [s]"), ("cost_ratio", "derivative ÷ objective"),
          ("primal_s", "objective time per call [s]"), ("digits", "digits"))
REVERSE = ("reverse", "forward+reverse")


def workloads(cells: pd.DataFrame) -> pd.DataFrame:
    """The measured cells of the workloads."""
    ok = analysis.measured(cells)
    return ok[ok["case"].isin(WORKLOADS)]


def _size_axis(g: pd.DataFrame) -> tuple[pd.Series, str]:
    """What a workload's sizes grow: its parameter count n, or where that is fixed (llsq's 128
    coefficients) the size parameter that varies (llsq's n points)."""
    if g["dim"].nunique() >= 2:
        return g["dim"], "parameters"
    sizes = g["size"].map(analysis.size_parameters)
    for name in dict.fromkeys(k for size in sizes for k in size):
        values = sizes.map(lambda size, name=name: size.get(name, float("nan")))
        if values.nunique() >= 2:
            return values, name
    return g["dim"], "parameters"


def _lines(g: pd.DataFrame, value: str, styles: dict, x: pd.Series) -> list[Line]:
    """One line per method and dtype of ``value`` against the sizes ``x`` (from :func:`_size_axis`)."""
    lines = []
    g = g.assign(x=x)
    for (method, dtype), m in g.groupby(["method", "dtype"], sort=False):
        m = m.drop_duplicates("x", keep="last")  # sizes of one n (gmm's n = 10 check): the largest
        by_n = pd.to_numeric(m[value], errors="coerce").groupby(m["x"]).median().dropna()
        by_n = by_n[by_n > 0] if value != "digits" else by_n
        if len(by_n) < 2:
            continue
        fit = "" if value == "digits" else f"  k = {analysis.power_law(by_n.index, by_n.values)[0]:.2f}"
        lines.append(Line(f"{method} {dtype.removeprefix('float')}{fit}", list(by_n.index), list(by_n.values),
                          dict(styles.get(method, {}))))
    return lines


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
    styles = method_styles(methods)
    figures = {}
    axes = [(key, g, _size_axis(g)) for key, g in ok.groupby(["case", "quantity"], sort=False)]
    for value, ylabel in CURVES:
        panels = [Panel(f"{case} ({quantity}; against {name})", _lines(g, value, styles, x))
                  for (case, quantity), g, (x, name) in axes]
        panels = [p for p in panels if p.lines]
        if panels:
            figures[ylabel] = panel_grid(panels, "size (parameters n, or as the title says)", ylabel,
                                         xlog=True, ylog=value != "digits")
    return {"figures": figures, "ratios": ratio_table(ok)}
