"""Figures of a run, drawn from its results tables and returned as inline SVG text.

Only matplotlib's object API is used (no pyplot, no display backend), and text
stays text in the SVG so the report remains small and searchable.
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib import rcParams
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from harness.report.svg import shrink

rcParams["svg.fonttype"] = "none"
rcParams["font.size"] = 9
rcParams["font.sans-serif"] = ["DejaVu Sans", "Arial", "sans-serif"]  # short: repeated per label
RASTER_DPI = 100  # dense per-point curves become one image per panel; text and axes stay vector

MARKERS = "os^vDPX*<>ph"
DIGITS_MAX = 16  # top of the colour scale: float64 resolution


def to_svg(fig: Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", dpi=RASTER_DPI)
    svg = buf.getvalue()
    return shrink(svg[svg.index("<svg"):])  # drop the XML prolog: the SVG sits inside HTML


def task_key(r) -> tuple:
    return (r.case, r.size or "", r.quantity, r.order)


def task_label(key) -> str:
    case, size, quantity, order = key
    case = f"{case} [{size}]" if size else case
    return f"{case} ({quantity} {order})" if quantity == "derivative" else f"{case} ({quantity})"


def _tasks(cells) -> list:
    return list(dict.fromkeys(task_key(r) for r in cells.itertuples()))


def method_styles(methods):
    """A distinct (colour, marker) per method: 20 colours × 12 markers repeat only after 60."""
    from matplotlib import colormaps

    colours = colormaps["tab20"].colors
    return {m: {"color": colours[i % 20], "marker": MARKERS[i % len(MARKERS)]}
            for i, m in enumerate(methods)}


def accuracy_heatmap(cells, methods) -> str:
    """Digits per (case, order) × method, one panel per dtype and device."""
    groups = list(cells.groupby(["dtype", "device"], sort=False))
    rows = _tasks(cells)
    labels_in = 1.2 + 0.065 * max(len(task_label(k)) for k in rows)  # long row names need room
    fig = Figure(figsize=(max(2.5, labels_in) + 0.42 * len(methods), (1.8 + 0.24 * len(rows)) * len(groups)),
                 layout="constrained")
    axes = fig.subplots(len(groups), 1, squeeze=False)[:, 0]
    cmap = ListedColormap(
        [(0.78 + 0.2 * (1 - t), 0.3 + 0.65 * t, 0.35 + 0.2 * t) for t in np.linspace(0, 1, 17)]
    )
    for ax, ((dtype, device), g) in zip(axes, groups):
        table = np.full((len(rows), len(methods)), np.nan)
        labels = np.full(table.shape, "", dtype=object)
        for r in g.itertuples():
            i, j = rows.index(task_key(r)), methods.index(r.method)
            if r.status == "ok":
                table[i, j] = r.digits
                labels[i, j] = f"{r.digits:.1f}"
            else:
                labels[i, j] = {"unsupported": "—", "unavailable": "n/a"}.get(r.status, r.status)
        im = ax.imshow(np.clip(table, 0, DIGITS_MAX), cmap=cmap, vmin=0, vmax=DIGITS_MAX, aspect="auto")
        for (i, j), text in np.ndenumerate(labels):
            ax.text(j, i, text, ha="center", va="center", fontsize=6.5)
        ax.set_xticks(range(len(methods)), methods, rotation=60, ha="left")
        ax.tick_params(top=True, labeltop=True, bottom=False, labelbottom=False)  # names on every panel
        ax.set_yticks(range(len(rows)), [task_label(k) for k in rows])
        ax.set_title(f"{dtype}, {device}", loc="left")
    fig.colorbar(im, ax=list(axes), label="correct digits (−log₁₀ max rel. error)", shrink=0.8)
    return to_svg(fig)


def timing_chart(cells, methods) -> str:
    """Steady-state time per call and setup time, per case and method (log scale)."""
    ok = cells[cells["status"] == "ok"]
    groups = list(ok.groupby(["dtype", "device"], sort=False))
    rows = _tasks(ok)
    if not groups:
        return ""
    style = method_styles(methods)
    fig = Figure(figsize=(9, 0.9 + 0.3 * len(rows) * len(groups)))
    axes = fig.subplots(len(groups), 2, squeeze=False, sharey="row")
    for (ax_eval, ax_setup), ((dtype, device), g) in zip(axes, groups):
        for m in methods:
            gm = g[g["method"] == m]
            y = [rows.index(task_key(r)) for r in gm.itertuples()]
            ax_eval.errorbar(gm["eval_s"], y, xerr=gm["eval_iqr_s"] / 2, ls="none", label=m, ms=5,
                             rasterized=True, **style[m])
            ax_setup.plot(gm["setup_s"], y, ls="none", label=m, ms=5, rasterized=True, **style[m])
        for ax, what in ((ax_eval, "steady-state time per call (median, IQR bar)"),
                         (ax_setup, "setup: derive / trace / compile + first call")):
            ax.set_xscale("log")
            ax.set_xlabel(f"{what} [s]")
            ax.set_title(f"{dtype}, {device}")
            ax.grid(True, which="both", alpha=0.3)
        ax_eval.set_yticks(range(len(rows)), [task_label(k) for k in rows])
        ax_eval.invert_yaxis()
    axes[0, 1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False)
    return to_svg(fig)


def derivative_curves(case_points, methods, kinks) -> str:
    """One case and order: the reference f and f⁽ⁿ⁾ with each method's values, and
    each method's error per point in float64 and float32 (as the seeds plot them)."""
    style = method_styles(methods)
    fig = Figure(figsize=(10, 3))
    ax_val, *ax_errs = fig.subplots(1, 3)
    dtype = "float64" if (case_points["dtype"] == "float64").any() else "float32"
    x64 = case_points[case_points["dtype"] == dtype].drop_duplicates("x").sort_values("x")
    order = int(case_points["order"].iloc[0])
    ax_val.plot(x64["x"], x64["f"], color="0.6", lw=1, label="f (reference)")
    ax_val.plot(x64["x"], x64["ref"], color="k", lw=1.4, label="f" + "'" * order + " (reference)")
    for m in methods:
        pm = case_points[(case_points["method"] == m) & (case_points["dtype"] == dtype)]
        if len(pm):
            step = max(1, len(pm) // 25)  # markers thin enough to see the curve
            ax_val.plot(pm["x"].iloc[::step], pm["value"].iloc[::step], ls="none", ms=3.5,
                        mfc="none", label=m, rasterized=True, **style[m])
    ax_val.set_title(f"values ({dtype})")
    for ax, dtype in zip(ax_errs, ("float64", "float32")):
        pd_ = case_points[case_points["dtype"] == dtype]
        for m in methods:
            pm = pd_[(pd_["method"] == m) & pd_["defined"]].sort_values("x")
            if len(pm):
                # unfloored |d − ref|/|ref| (absolute where ref = 0): losses show in full;
                # exact values sit on the bottom axis
                ref = np.abs(pm["ref"].to_numpy())
                err = pm["abs_err"].to_numpy() / np.where(ref > 0, ref, 1.0)
                err = np.maximum(err, 1e-17)
                ax.semilogy(pm["x"], err, ms=2.5, lw=0.7, label=m, markevery=max(1, len(pm) // 12),
                            rasterized=True, **style[m])
        ax.set_title(f"relative error per point ({dtype})")
        ax.set_ylim(1e-17, 1)
        ax.grid(True, which="major", alpha=0.3)
    for ax in (ax_val, *ax_errs):
        for k in kinks:
            ax.axvline(k, color="r", ls=":", lw=1)
        ax.set_xlabel("x")
    handles, labels = ax_val.get_legend_handles_labels()
    fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False,
               fontsize=6.5, ncols=1 + len(labels) // 16)
    return to_svg(fig)


def vector_errors(case_points, methods) -> str:
    """A vector quantity: each method's largest relative error at every point."""
    style = method_styles(methods)
    fig = Figure(figsize=(8, 2.6))
    axes = fig.subplots(1, 2, sharey=True)
    for ax, dtype in zip(axes, ("float64", "float32")):
        pd_ = case_points[case_points["dtype"] == dtype]
        for m in methods:
            pm = pd_[pd_["method"] == m].sort_values("point")
            if len(pm):
                ax.semilogy(pm["point"], np.maximum(pm["rel_err"], 1e-17), ms=3, lw=0.7, label=m,
                            markevery=max(1, len(pm) // 12), rasterized=True, **style[m])
        ax.set_title(f"largest relative error per point ({dtype})")
        ax.set_xlabel("point (seed points first)")
        ax.set_ylim(1e-17, 10)
        ax.grid(True, which="major", alpha=0.3)
    shown = max(axes, key=lambda ax: len(ax.get_legend_handles_labels()[1]))  # a dtype may be absent
    axes[1].legend(*shown.get_legend_handles_labels(), loc="center left", bbox_to_anchor=(1.02, 0.5),
                   frameon=False, fontsize=7)
    return to_svg(fig)
