"""The report's measurement sections: the step-size V-curve, cost ratio, scaling fits, setup
split, expression swell, memory and seed 001's table.  Each
builder returns the template's dict, or None when the results lack what the section shows
(results files of schema 2, runs without a step sweep, or no such cells): the template then
says so in one line.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.colors import LogNorm, to_hex

from harness.read import analysis
from harness.read.report.plots import present_methods, task_key, task_label
from harness.read.report.steps import step_section
from harness.read.report.sweep_plots import Line, Panel, panel_grid
from harness.read.report.workloads import workloads_section
from harness.store.results import read_steps

COST_QUANTITIES = ("gradient", "jacobian")  # where the modes differ by a factor of n
SWELL_SHOWN = ("expr_nodes", "cse_ops", "graph_nodes")
COST_COLOURS = LogNorm(1, 1000)  # a cost ratio of 1 (free) to 1000
COST_CMAP = colormaps["RdYlGn_r"]  # once: the registry hands out a fresh copy (and lookup table) each time


def _has(cells: pd.DataFrame, column: str) -> bool:
    return column in cells and cells[column].notna().any()


def primary(cells: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """One dtype and device, so that each case × method is one number: float64 on the CPU where
    measured, else the most measured pair."""
    pairs = cells.groupby(["dtype", "device"], sort=False).size()
    if pairs.empty:
        return cells, ""
    dtype, device = ("float64", "cpu") if ("float64", "cpu") in pairs.index else pairs.idxmax()
    return cells[(cells["dtype"] == dtype) & (cells["device"] == device)], f"{dtype}, {device}"


def _ratio_text(ratio: float) -> str:
    return f"{ratio:.3g}" if ratio < 1000 else f"{ratio:.0f}"


COST_LEVELS = 12  # shades from 1 to 1000×: a class each, not a colour per cell (a tenth of the bytes)


def _cost_colours(ratios) -> list[str]:
    """A class per ratio, ``k0`` (green: ≈ the function's cost) to ``k12`` (red: ≥ 1000×)."""
    level = np.round(COST_COLOURS(np.clip(np.asarray(ratios, dtype=float), 1, 1000)) * COST_LEVELS)
    return [f"k{int(v)}" for v in np.atleast_1d(level)]


def cost_style() -> str:
    """The CSS of the cost table's classes: light backgrounds from green to red."""
    rgba = COST_CMAP(np.linspace(0, 1, COST_LEVELS + 1))
    return "".join(f"td.k{i}{{background:{to_hex(0.45 + 0.55 * c[:3])}}}" for i, c in enumerate(rgba))


def cost_section(cells: pd.DataFrame, methods: list[str]) -> dict | None:
    ok = analysis.measured(cells)
    if not _has(ok, "cost_ratio"):
        return None
    ok, label = primary(ok[ok["cost_ratio"].notna()])
    shown = present_methods(methods, ok)
    rows = []
    tasks = pd.Series([task_key(r) for r in ok.itertuples()], index=ok.index)
    colour = dict(zip(ok.index, _cost_colours(ok["cost_ratio"]))) if len(ok) else {}
    for key, g in ok.groupby(tasks, sort=False):
        ratio = {m: (_ratio_text(r), colour[i])
                 for i, m, r in zip(g.index, g["method"], g["cost_ratio"].astype(float))}
        rows.append({"task": task_label(key), "values": [ratio.get(m, ("", "")) for m in shown]})
    # the ratio against size is drawn by the workload charts (harness.read.report.charts)
    return {"label": label, "methods": shown, "rows": rows, "style": cost_style()}


def scaling_section(cells: pd.DataFrame, methods: list[str]) -> dict | None:
    fits = analysis.scaling(cells)
    if fits.empty:
        return None
    _, label = primary(analysis.measured(cells))
    # time against size is drawn by the workload charts (harness.read.report.charts): here, the fits
    return {"label": label, "fits": fits.to_dict("records")}


def setup_section(cells: pd.DataFrame) -> dict | None:
    if not any(_has(cells, p) for p in ("derive_s", "compile_s", "transfer_s")):
        return None
    sub, label = primary(analysis.measured(cells))
    table = analysis.setup_split(sub)
    if table.empty:
        return None
    table["first_over_steady"] = table["first_call_s"] / table["eval_s"]
    return {"label": label, "rows": table.to_dict("records")}


def swell_section(cells: pd.DataFrame) -> dict | None:
    """Swell against nesting depth: sweeps that deepen f without changing its dimension."""
    long = analysis.swell(cells)
    long = long[long["metric"].isin(SWELL_SHOWN)]
    dims = cells.groupby("case")["dim"].nunique()
    long = long[long["case"].map(dims) == 1]
    if long.empty:
        return None
    long, label = primary(long)
    colours = {m: f"C{i}" for i, m in enumerate(SWELL_SHOWN)}
    panels = []
    for case, g in long.groupby("case", sort=False):
        lines = []
        for metric, gm in g.groupby("metric", sort=False):
            series = {m: rows.groupby("value")["count"].median()
                      for m, rows in gm.groupby("method", sort=False)}
            groups: dict = {}  # methods with identical counts share one line
            for m, s in series.items():
                groups.setdefault(tuple(s.items()), []).append(m)
            for i, (points, names) in enumerate(groups.items()):
                x, y = zip(*points)
                lines.append(Line(f"{metric}: {', '.join(names)}", list(x), list(y),
                                  {"color": colours[metric], "marker": "os^vD"[i % 5]}))
        panels.append(Panel(f"{case} (against {g['parameter'].iloc[0]})", lines))
    return {"label": label, "figure": panel_grid(panels, "nesting depth", "count", xlog=False)}


def memory_section(cells: pd.DataFrame) -> dict | None:
    if not any(_has(cells, m) for m in analysis.MEMORY_METRICS):
        return None
    ok = analysis.measured(cells)
    dtype = "float64" if (ok["dtype"] == "float64").any() else ok["dtype"].iloc[0] if len(ok) else ""
    table = analysis.memory(ok[ok["dtype"] == dtype])
    if table.empty:
        return None
    present = [m for m in analysis.MEMORY_METRICS if f"{m}_max" in table]
    return {"dtype": dtype, "metrics": present, "rows": table.to_dict("records")}


def seed_001_section(cells: pd.DataFrame, metas) -> dict | None:
    table = analysis.seed_001_table(cells, metas)
    if table.empty:
        return None
    return {"rows": table.to_dict("records"), "findings": analysis.seed_001_findings(table)}


def step_sweep_table(cells: pd.DataFrame) -> pd.DataFrame | None:
    """The step sweeps beside the results files the cells were read from (``results.read``
    records them in ``cells.attrs["files"]``); None for cells from elsewhere or runs without one."""
    files = cells.attrs.get("files")
    return read_steps(files) if files else None


def build(cells: pd.DataFrame, methods: list[str], metas=(), steps: pd.DataFrame | None = None) -> dict:
    steps = step_sweep_table(cells) if steps is None else steps
    return {"steps": step_section(steps, methods),
            "cost": cost_section(cells, methods), "scaling": scaling_section(cells, methods),
            "workloads": workloads_section(cells, methods),
            "setup": setup_section(cells), "swell": swell_section(cells),
            "memory": memory_section(cells), "seed_001": seed_001_section(cells, metas)}
