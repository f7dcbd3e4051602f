"""The step-size V-curve: a finite difference's largest relative error against its step h,
log-log, one panel per case × dtype (the table :mod:`harness.step_sweep` records)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from harness.report.plots import legend_grid, log_axis, method_styles, to_svg

PANEL_IN = (2.9, 2.2)
NCOLS = 4
ERR_RANGE = (1e-17, 10.0)
H_RANGE = (3e-16, 0.3)  # errors are clipped into the panel; an infinite one is not drawn


def step_figure(steps: pd.DataFrame, methods: list[str]) -> str:
    sweep_methods = list(dict.fromkeys(steps["method"]))
    order = {m: i for i, m in enumerate(methods)}
    sweep_methods.sort(key=lambda m: order.get(m, len(order)))
    # the run's markers, but colours far apart: the methods sit side by side in the run's
    # list, where tab20 gives neighbours two shades of one hue
    markers = method_styles([*methods, *sweep_methods])
    styles = {m: {"marker": markers[m]["marker"], "color": f"C{i}", "ls": "--" if m == "backward" else "-"}
              for i, m in enumerate(sweep_methods)}  # backward dashed: it lies on forward's curve
    groups = list(steps.groupby(["case", "dtype"], sort=False))  # each case's dtypes side by side
    ncols = min(NCOLS, len(groups))
    nrows = -(-len(groups) // ncols)
    labels = [*sweep_methods, "h* = ε^(1/(p+1)) (theory)", "the method's chosen step"]
    width = PANEL_IN[0] * ncols + 0.6
    legend_cols, legend_rows = legend_grid(labels, width)
    top = 0.38 + 0.17 * legend_rows
    height = PANEL_IN[1] * nrows + top
    fig = Figure(figsize=(width, height))
    fig.subplots_adjust(left=0.7 / width, right=1 - 0.1 / width, bottom=0.45 / height,
                        top=1 - top / height, wspace=0.12, hspace=0.35)
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey=True)
    for ax in axes.flat[len(groups):]:
        ax.set_visible(False)
    for ax, ((case, dtype), g) in zip(axes.flat, groups):
        for method in sweep_methods:
            gm = g[g["method"] == method].sort_values("h")
            if gm.empty:
                continue
            style = styles[method]
            h, err = gm["h"].to_numpy(float), gm["max_rel_err"].to_numpy(float)
            drawn = np.isfinite(err)
            ax.plot(h[drawn], np.clip(err[drawn], *ERR_RANGE), lw=1, ms=2.5, **style)
            optimal, chosen = gm["optimal_h"].iloc[0], gm["chosen_h"].iloc[0]
            ax.axvline(optimal, color=style["color"], ls=":", lw=0.9)
            if np.isfinite(chosen) and drawn.sum() >= 2:  # the error there, read off the curve
                logs = np.log(np.clip(err[drawn], *ERR_RANGE))
                at = np.exp(np.interp(np.log(chosen), np.log(h[drawn]), logs))
                ax.plot([chosen], [at], ls="none", marker="*", ms=9, mfc=style["color"], mec="k", mew=0.5)
        ax.set_xscale("log")
        ax.set_xlim(H_RANGE)
        ax.set_yscale("log")
        ax.set_ylim(*ERR_RANGE)
        log_axis(ax.xaxis, numticks=6)
        log_axis(ax.yaxis, numticks=7)
        ax.set_title(f"{case}, {dtype}", loc="left", fontsize=8)
        ax.grid(True, which="major", alpha=0.3)
        ax.tick_params(labelsize=7)
    for ax in axes.flat[max(0, len(groups) - ncols):len(groups)]:  # the bottom panel of each column
        ax.set_xlabel("relative step h (step = h·max(1, |x|))", fontsize=7.5)
    for ax in axes[:, 0]:
        ax.set_ylabel("max relative error", fontsize=7.5)
    handles = [Line2D([], [], ms=3, lw=1, **styles[m]) for m in sweep_methods]
    handles += [Line2D([], [], color="0.3", ls=":", lw=0.9),
                Line2D([], [], ls="none", marker="*", ms=8, mfc="0.6", mec="k", mew=0.5)]
    fig.legend(handles, labels, loc="upper center", ncols=legend_cols, frameon=False, fontsize=7,
               bbox_to_anchor=(0.5, 1.0), handletextpad=0.4, columnspacing=1.0)
    return to_svg(fig, tight=False)


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
    return {"figure": step_figure(steps, methods), "rows": step_table(steps),
            "cases": list(dict.fromkeys(steps["case"]))}
