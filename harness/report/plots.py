"""Figures of a run, drawn from its results tables and returned as inline SVG text.

Only matplotlib's object API is used (no pyplot, no display backend), and text
stays text in the SVG so the report remains small and searchable.

A report holds dozens of figures, so they are drawn for speed: each is laid out by
hand in inches (no ``bbox_inches="tight"`` or constrained layout, which draw a figure
more than once to measure it), log axes carry decade ticks labelled in plain Unicode
(10⁻⁵; matplotlib's default labels go through its mathtext parser) and no minor
ticks, and dense per-point lines are rasterised.  The accuracy heatmap is an HTML
table: text in coloured cells, no figure at all.
"""

from __future__ import annotations

import html
import io
import math

import numpy as np
from matplotlib import rcParams
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter, NullLocator

from harness.report.svg import shrink

rcParams["svg.fonttype"] = "none"
rcParams["font.size"] = 9
rcParams["font.sans-serif"] = ["DejaVu Sans", "Arial", "sans-serif"]  # short: repeated per label
RASTER_DPI = 100  # dense per-point curves become one image per panel; text and axes stay vector

MARKERS = "os^vDPX*<>ph"
DIGITS_MAX = 16  # top of the colour scale: float64 resolution
CHAR_IN = 0.055  # width of a character of 6.5-pt legend text, inches (DejaVu Sans, generous)
SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")



def sample_quartiles(cells) -> tuple[np.ndarray, np.ndarray]:
    """The first and third quartiles of each cell's per-batch times (NaN where a row has none):
    drawn from the samples themselves, so a bar never reaches below zero on a log axis, as
    median ± IQR/2 did for a skewed cell."""
    q = np.full((len(cells), 2), np.nan)
    column = cells["eval_samples_s"] if "eval_samples_s" in cells else [None] * len(cells)
    for i, samples in enumerate(column):
        if samples is not None and not (isinstance(samples, float) and np.isnan(samples)) and len(samples):
            q[i] = np.percentile(np.asarray(samples, dtype=float), [25, 75])
    return q[:, 0], q[:, 1]

def to_svg(fig: Figure, tight: bool = True) -> str:
    """The figure as inline SVG text; ``tight=False`` keeps the size and margins it was laid out
    with (``bbox_inches="tight"`` draws the whole figure twice: once to measure it)."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", dpi=RASTER_DPI, bbox_inches="tight" if tight else None)
    svg = buf.getvalue()
    return shrink(svg[svg.index("<svg"):])  # drop the XML prolog: the SVG sits inside HTML


def layout(fig: Figure, nrows: int, ncols: int, left: float, right: float, bottom: float, top: float,
           wgap: float = 0.3, hgap: float = 0.5) -> None:
    """Place a grid of subplots by margins and gaps given in inches."""
    width, height = fig.get_size_inches()
    axes_w = (width - left - right - (ncols - 1) * wgap) / ncols
    axes_h = (height - top - bottom - (nrows - 1) * hgap) / nrows
    fig.subplots_adjust(left=left / width, right=1 - right / width, bottom=bottom / height,
                        top=1 - top / height, wspace=wgap / max(axes_w, 1e-3),
                        hspace=hgap / max(axes_h, 1e-3))


def decade_text(value, pos=None) -> str:
    """10⁻⁵ for a power of ten, '' otherwise (plain text: no mathtext to parse)."""
    if not value > 0:
        return ""
    exponent = round(math.log10(value))
    return "10" + str(exponent).translate(SUPERSCRIPTS) if math.isclose(value, 10.0**exponent) else ""


def log_axis(axis, numticks: int = 8) -> None:
    """Decade ticks (at most ``numticks``) labelled in plain text, no minor ticks, on a log axis."""
    axis.set_major_locator(LogLocator(base=10, numticks=numticks))
    axis.set_major_formatter(FuncFormatter(decade_text))
    axis.set_minor_locator(NullLocator())
    axis.set_minor_formatter(NullFormatter())


def legend_width(labels, fontsize: float = 6.5, ncols: int = 1) -> float:
    """Room (inches) a legend of ``labels`` takes beside a figure."""
    longest = max((len(str(label)) for label in labels), default=0)
    return ncols * (0.45 + CHAR_IN * fontsize / 6.5 * longest) + 0.1


def legend_grid(labels, width_in: float, fontsize: float = 7, max_cols: int = 8) -> tuple[int, int]:
    """(columns, rows) of a legend across a figure ``width_in`` wide: as many columns as fit."""
    longest = max((len(str(label)) for label in labels), default=0)
    column_in = 0.3 + 0.048 * fontsize / 7 * longest
    ncols = max(1, min(max_cols, len(labels), int((width_in - 0.2) // column_in)))
    return ncols, -(-len(labels) // ncols)


def task_key(r) -> tuple:
    return (r.case, r.size or "", r.quantity, r.order)


def task_label(key) -> str:
    case, size, quantity, order = key
    case = f"{case} [{size}]" if size else case
    return f"{case} ({quantity} {order})" if quantity == "derivative" else f"{case} ({quantity})"


def _tasks(cells) -> list:
    return list(dict.fromkeys(task_key(r) for r in cells.itertuples()))


def present_methods(methods, table) -> list[str]:
    """The methods, in their order, that have rows in ``table``."""
    found = set(table["method"].unique())
    return [m for m in methods if m in found]


def method_styles(methods):
    """A distinct (colour, marker) per method: 20 colours × 12 markers repeat only after 60."""
    from matplotlib import colormaps

    colours = colormaps["tab20"].colors
    return {m: {"color": colours[i % 20], "marker": MARKERS[i % len(MARKERS)]}
            for i, m in enumerate(methods)}


HEATMAP_COLOURS = [to_hex((0.78 + 0.2 * (1 - t), 0.3 + 0.65 * t, 0.35 + 0.2 * t))
                   for t in np.linspace(0, 1, DIGITS_MAX + 1)]  # red (0 digits) to green (16)
STATUS_TEXT = {"unsupported": "—", "unavailable": "n/a"}


def accuracy_heatmap(cells, methods) -> str:
    """Digits per (case, order) × method, one table per dtype and device: an HTML table whose
    cells are coloured from red (0 digits) to green (16), with the figure in each cell."""
    groups = list(cells.groupby(["dtype", "device"], sort=False))
    if not groups:
        return ""
    rows = _tasks(cells)
    index = {k: i for i, k in enumerate(rows)}
    column = {m: j for j, m in enumerate(methods)}
    styles = "".join(f".heatmap td.d{i}{{background:{c}}}" for i, c in enumerate(HEATMAP_COLOURS))
    swatches = "".join(f'<span class="swatch" style="background:{HEATMAP_COLOURS[d]}">{d}</span>'
                       for d in range(0, DIGITS_MAX + 1, 2))
    out = [f"<style>{styles}</style>",
           f'<p class="note">Colour: {swatches} correct digits (−log₁₀ max rel. error)</p>']
    head = "".join(f'<th class="v"><span>{html.escape(m)}</span></th>' for m in methods)
    for (dtype, device), g in groups:
        table = [[""] * len(methods) for _ in rows]
        for r in g.itertuples():
            i, j = index[task_key(r)], column[r.method]
            if r.status == "ok":
                shade = int(np.clip(round(r.digits), 0, DIGITS_MAX)) if r.digits == r.digits else 0
                table[i][j] = f'<td class="d{shade}">{r.digits:.1f}</td>'
            elif r.status in STATUS_TEXT:  # the reasons are listed under "Not measured"
                table[i][j] = f'<td class="s">{STATUS_TEXT[r.status]}</td>'
            else:  # failed, timeout: the message on hover
                message = html.escape(str(r.message or "")[:200], quote=True)
                table[i][j] = f'<td class="s" title="{message}">{r.status}</td>'
        body = "".join(f"<tr><th>{html.escape(task_label(k))}</th>{''.join(c or '<td></td>' for c in row)}"
                       "</tr>" for k, row in zip(rows, table))
        out.append(f'<div class="wide"><table class="heatmap"><caption>{dtype}, {device}</caption>'
                   f"<thead><tr><th></th>{head}</tr></thead><tbody>{body}</tbody></table></div>")
    return "".join(out)


def timing_chart(cells, methods) -> str:
    """Steady-state time per call and setup time, per case and method (log scale)."""
    ok = cells[cells["status"] == "ok"]
    groups = list(ok.groupby(["dtype", "device"], sort=False))
    rows = _tasks(ok)
    if not groups:
        return ""
    index = {k: i for i, k in enumerate(rows)}
    style = method_styles(methods)
    shown = present_methods(methods, ok)
    labels_in = 0.3 + 0.065 * max(len(task_label(k)) for k in rows)  # room for the row names
    legend_in = legend_width(shown, 9)
    bottom, top, hgap = 0.45, 0.3, 0.95  # the x label below each panel, the next panel's title
    # a row of dots per task, and the legend (9-pt rows, ~0.19 in) must fit beside the panels
    axes_h = max(0.3 + 0.16 * len(rows), (0.19 * len(shown) - hgap * (len(groups) - 1)) / len(groups))
    height = bottom + top + axes_h * len(groups) + hgap * (len(groups) - 1)
    fig = Figure(figsize=(labels_in + 7.2 + legend_in, height))
    layout(fig, len(groups), 2, left=labels_in, right=legend_in, bottom=bottom, top=top, wgap=0.15, hgap=hgap)
    axes = fig.subplots(len(groups), 2, squeeze=False, sharey="row")
    for (ax_eval, ax_setup), ((dtype, device), g) in zip(axes, groups):
        bars = ([], [], [], [])  # every IQR bar of the panel in one collection (errorbar: 3 artists a method)
        for m, gm in g.groupby("method", sort=False):
            y = [index[task_key(r)] for r in gm.itertuples()]
            eval_s = gm["eval_s"].to_numpy(float)
            q1, q3 = sample_quartiles(gm)
            has = np.isfinite(q1)  # a file from before schema 3 has no samples: no bar
            colour = [style[m]["color"]] * int(has.sum())
            for part, values in zip(bars, (np.asarray(y)[has], q1[has], q3[has], colour)):
                part.extend(values)
            ax_eval.plot(eval_s, y, ls="none", label=m, ms=4, rasterized=True, **style[m])
            if "noisy" in gm:  # ringed: the median's interval is wider than harness.noise.NOISY
                loud = gm["noisy"].to_numpy(dtype=float, na_value=0.0) > 0  # NaN: no flag (an older file)
                ax_eval.plot(eval_s[loud], np.asarray(y)[loud], ls="none", marker="o", ms=9, mfc="none",
                             mec="#c0392b", mew=0.8, rasterized=True)
            ax_setup.plot(gm["setup_s"], y, ls="none", label=m, ms=4, rasterized=True, **style[m])
        ax_eval.hlines(*bars[:3], colors=bars[3], lw=1, rasterized=True)
        for ax, what in ((ax_eval, "time per call (median; bar: quartiles; ringed: noisy)"),
                         (ax_setup, "setup: derive / trace / compile + first call")):
            ax.set_xscale("log")
            log_axis(ax.xaxis)
            ax.set_xlabel(f"{what} [s]")
            ax.set_title(f"{dtype}, {device}", fontsize=9)
            ax.grid(True, which="major", alpha=0.3)
        ax_eval.set_yticks(range(len(rows)), [task_label(k) for k in rows], fontsize=7.5)
        ax_eval.set_ylim(len(rows) - 0.5, -0.5)
    handles = {label: h for ax in axes[0] for h, label in zip(*ax.get_legend_handles_labels())}
    width, height = fig.get_size_inches()
    fig.legend([handles[m] for m in shown if m in handles], [m for m in shown if m in handles],
               loc="upper left", bbox_to_anchor=(1 - (legend_in - 0.1) / width, 1 - 0.3 / height),
               frameon=False)
    return to_svg(fig, tight=False)


_FIGURES: dict = {}


def _reused(kind: str, make) -> tuple:
    """(figure, axes) of ``kind``, made once by ``make()`` and cleared of its data on every
    later call: the axes, their ticks and tick labels are built once for all the figures of a
    report that share a layout (the per-point curves: dozens of them)."""
    if kind not in _FIGURES:
        _FIGURES[kind] = make()
    fig, axes = _FIGURES[kind]
    for ax in axes:
        for artist in [*ax.lines, *ax.collections, *ax.images, *ax.texts, *ax.patches]:
            artist.remove()
        ax.relim()
        ax.set_title("")
    return fig, axes


def method_legend(methods, references: bool = True) -> str:
    """One legend for all the per-point figures: each method's colour and marker (as its error
    curve is drawn) and the reference curves, in rows across the page."""
    style = method_styles(methods)
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], lw=0.7, ms=3.5, **style[m]) for m in methods]
    labels = list(methods)
    if references:
        handles += [Line2D([], [], color="0.6", lw=1), Line2D([], [], color="k", lw=1.4)]
        labels += ["f (reference)", "f⁽ⁿ⁾ (reference)"]
    ncols = 8
    column_in = legend_width(labels, fontsize=7.5) - 0.1
    nrows = -(-len(labels) // ncols)
    fig = Figure(figsize=(column_in * ncols + 0.2, 0.17 * nrows + 0.12))
    fig.legend(handles, labels, loc="center left", bbox_to_anchor=(0.0, 0.5), ncols=ncols, frameon=False,
               fontsize=7.5, handlelength=2.0, handletextpad=0.4, columnspacing=0.8, borderpad=0.2)
    return to_svg(fig, tight=False)


def _curves_figure():
    fig = Figure(figsize=(11.5, 2.7))
    layout(fig, 1, 3, left=0.55, right=0.1, bottom=0.42, top=0.25, wgap=0.6)
    axes = fig.subplots(1, 3)
    for ax in axes[1:]:
        ax.set_yscale("log")
        ax.set_ylim(1e-17, 1)
        log_axis(ax.yaxis, numticks=7)
    for ax in axes:
        ax.grid(True, which="major", alpha=0.3)
        ax.set_xlabel("x")
    return fig, axes


def derivative_curves(case_points, methods, kinks) -> str:
    """One case and order: the reference f and f⁽ⁿ⁾ with each method's values, and
    each method's error per point in float64 and float32 (as the seeds plot them).
    Its legend is :func:`method_legend`, shown once above all of them."""
    style = method_styles(methods)
    fig, (ax_val, *ax_errs) = _reused("curves", _curves_figure)
    dtype = "float64" if (case_points["dtype"] == "float64").any() else "float32"
    by_dtype = dict(list(case_points.groupby("dtype", sort=False)))
    x64 = by_dtype[dtype].drop_duplicates("x").sort_values("x")
    ax_val.plot(x64["x"], x64["f"], color="0.6", lw=1)
    ax_val.plot(x64["x"], x64["ref"], color="k", lw=1.4)
    values = dict(list(by_dtype[dtype].groupby("method", sort=False)))
    for m in present_methods(methods, case_points):
        pm = values.get(m)
        if pm is not None and len(pm):
            step = max(1, len(pm) // 25)  # markers thin enough to see the curve
            ax_val.plot(pm["x"].iloc[::step], pm["value"].iloc[::step], ls="none", ms=3.5,
                        mfc="none", rasterized=True, **style[m])
    ax_val.set_title(f"values ({dtype})", fontsize=9)
    for ax, dtype in zip(ax_errs, ("float64", "float32")):
        pd_ = by_dtype.get(dtype)
        for m, pm in ([] if pd_ is None else pd_[pd_["defined"].astype(bool)].groupby("method", sort=False)):
            pm = pm.sort_values("x")
            # unfloored |d − ref|/|ref| (absolute where ref = 0): losses show in full;
            # exact values sit on the bottom axis
            ref = np.abs(pm["ref"].to_numpy())
            err = pm["abs_err"].to_numpy() / np.where(ref > 0, ref, 1.0)
            err = np.maximum(err, 1e-17)
            ax.plot(pm["x"], err, ms=2.5, lw=0.7, markevery=max(1, len(pm) // 12), rasterized=True,
                    **style[m])
        ax.set_title(f"relative error per point ({dtype})", fontsize=9)
    for ax in (ax_val, *ax_errs):
        for k in kinks:
            ax.axvline(k, color="r", ls=":", lw=1)
    return to_svg(fig, tight=False)


def _vector_figure():
    fig = Figure(figsize=(9.0, 2.4))
    layout(fig, 1, 2, left=0.55, right=0.1, bottom=0.42, top=0.25, wgap=0.2)
    axes = fig.subplots(1, 2, sharey=True)
    for ax in axes:
        ax.set_xlabel("point (seed points first)")
        ax.set_yscale("log")
        ax.set_ylim(1e-17, 10)
        log_axis(ax.yaxis, numticks=7)
        ax.grid(True, which="major", alpha=0.3)
    return fig, axes


def vector_errors(case_points, methods) -> str:
    """A vector quantity: each method's largest relative error at every point (legend: as
    :func:`derivative_curves`)."""
    style = method_styles(methods)
    fig, axes = _reused("vector", _vector_figure)
    by_dtype = dict(list(case_points.groupby("dtype", sort=False)))
    for ax, dtype in zip(axes, ("float64", "float32")):
        pd_ = by_dtype.get(dtype)
        for m, pm in ([] if pd_ is None else pd_.groupby("method", sort=False)):
            pm = pm.sort_values("point")
            ax.plot(pm["point"], np.maximum(pm["rel_err"], 1e-17), ms=3, lw=0.7,
                    markevery=max(1, len(pm) // 12), rasterized=True, **style[m])
        ax.set_title(f"largest relative error per point ({dtype})", fontsize=9)
    return to_svg(fig, tight=False)


def _decade_at_least(ax, values) -> None:
    """Log x limits spanning at least a decade around ``values``, so that a decade tick shows."""
    values = [v for v in values if v > 0 and np.isfinite(v)]
    if values:
        lo, hi = min(values) / 1.6, max(values) * 1.6
        if hi / lo < 10:
            centre = np.sqrt(lo * hi)
            lo, hi = centre / np.sqrt(10), centre * np.sqrt(10)
        ax.set_xlim(lo, hi)
    log_axis(ax.xaxis, numticks=5)


def scatter_grid(panels, styles, front_styles, ncols: int = 4) -> str:
    """Small multiples of digits against time (log x): ``panels`` are (title, series, fronts),
    series (method, dtype, eval_s, digits) — float64 filled, float32 hollow — and fronts
    (dtype, eval_s, digits) drawn as a black line (``front_styles[dtype]``).  One legend above."""
    if not panels:
        return ""
    ncols = min(ncols, len(panels))
    nrows = -(-len(panels) // ncols)
    labels = [*styles, "hollow: float32", *(f"front, {d}" for d in front_styles)]
    panel_in = (2.6, 1.9)
    width = panel_in[0] * ncols + 0.3
    legend_cols, legend_rows = legend_grid(labels, width)
    top_in = 0.3 + 0.17 * legend_rows  # room for the shared legend
    height = panel_in[1] * nrows + top_in
    fig = Figure(figsize=(width, height))
    fig.subplots_adjust(left=0.45 / width, right=1 - 0.1 / width, bottom=0.4 / height,
                        top=1 - top_in / height, wspace=0.3, hspace=0.55)
    axes = fig.subplots(nrows, ncols, squeeze=False)  # not sharey: 40 shared axes autoscale slowly
    for ax, (title, series, fronts) in zip(axes.flat, panels):
        by_marker: dict = {}  # one collection per marker shape (a few methods share each)
        for method, dtype, t, d in series:
            style = styles[method]
            xs, ys, edges, faces = by_marker.setdefault(style["marker"], ([], [], [], []))
            xs.extend(t)
            ys.extend(np.minimum(d, DIGITS_MAX + 1))
            edges.extend([style["color"]] * len(t))
            faces.extend([style["color"] if dtype == "float64" else "none"] * len(t))
        for marker, (xs, ys, edges, faces) in by_marker.items():
            ax.scatter(xs, ys, s=16, marker=marker, edgecolors=edges, facecolors=faces, linewidths=0.8)
        for dtype, t, d in fronts:  # a ring around each front point, a staircase through them
            d = np.minimum(d, DIGITS_MAX + 1)
            ax.plot(t, d, color="k", lw=0.9, alpha=0.7, ls=front_styles.get(dtype, ":"),
                    drawstyle="steps-post", marker="o", ms=8, mfc="none", mew=0.6)
        ax.set_xscale("log")
        _decade_at_least(ax, [v for _, _, t, _ in series for v in t])
        ax.set_ylim(-0.5, DIGITS_MAX + 1.5)
        ax.set_yticks([0, 4, 8, 12, 16])
        ax.set_title(title, loc="left", fontsize=7.5)
        ax.tick_params(labelsize=7)
        ax.grid(True, which="major", alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel("time per call [s]", fontsize=7.5)
    for ax in axes[:, 0]:
        ax.set_ylabel("digits", fontsize=7.5)
    for ax in axes[:, 1:].flat:  # one digit scale: labelled once a row
        ax.tick_params(labelleft=False)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], ls="none", marker=s["marker"], color=s["color"], ms=5) for s in styles.values()]
    handles += [Line2D([], [], ls="none", marker="o", mfc="none", mec="0.3", ms=5),
                *(Line2D([], [], color="k", ls=ls, lw=0.9) for ls in front_styles.values())]
    fig.legend(handles, labels, loc="upper center", ncols=legend_cols, frameon=False, fontsize=7,
               bbox_to_anchor=(0.5, 1.0), handletextpad=0.3, columnspacing=1.0)
    return to_svg(fig, tight=False)
