"""Figures against a sweep's size: small log-scale panels, one per case and quantity, each
with its own legend (where the fitted exponent of every line is written)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, NullLocator

from harness.read.report.plots import layout, legend_width, log_axis, to_svg
from harness.store.text import printable

AXES_IN = (2.7, 1.7)  # one panel's axes (inches)
LEGEND_IN = 1.6  # room for a legend beside each panel, at least


SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def size_text(v: float) -> str:
    """2, 10, 100, 1000, then 10⁴ … for powers of ten (a point count reaches 10⁷)."""
    exponent = math.log10(v)
    if v >= 1e4 and exponent.is_integer():
        return "10" + str(int(exponent)).translate(SUPERSCRIPTS)
    return f"{v:g}"


@dataclass
class Line:
    label: str
    x: list
    y: list
    style: dict = field(default_factory=dict)


@dataclass
class Panel:
    title: str
    lines: list[Line]


def _legend_cols(panel: Panel) -> int:
    return 1 + len(panel.lines) // 15


def panel_grid(panels: list[Panel], xlabel: str, ylabel: str, ncols: int = 2, xlog: bool = True,
               ylog: bool = True) -> str:
    """Log-log panels in a grid, ``ncols`` wide (``xlog=False``: a linear x axis of whole
    numbers, e.g. a nesting depth; ``ylog=False``: a linear y, e.g. digits); an empty list gives ''."""
    if not panels:
        return ""
    ncols = min(ncols, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    # laid out by hand (inches): the y label and ticks left of each panel, its legend right of it
    legend_in = max(LEGEND_IN, *(legend_width([line.label for line in p.lines], ncols=_legend_cols(p))
                                 for p in panels))
    # a tall legend (6.5-pt rows ~0.11 in) makes its row of panels taller
    axes_h = max(AXES_IN[1], *(0.11 * math.ceil(len(p.lines) / _legend_cols(p)) for p in panels))
    left, gap, bottom, top, hgap = 0.75, 0.75, 0.5, 0.3, 0.8
    fig = Figure(figsize=(left + AXES_IN[0] * ncols + (legend_in + gap) * (ncols - 1) + legend_in,
                          bottom + top + axes_h * nrows + hgap * (nrows - 1)))
    layout(fig, nrows, ncols, left=left, right=legend_in, bottom=bottom, top=top, wgap=legend_in + gap,
           hgap=hgap)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax, panel in zip(axes.flat, panels):
        for line in panel.lines:
            # names from the results: matplotlib escapes them in the SVG, control characters aside
            ax.plot(line.x, line.y, lw=1, ms=3.5, label=printable(line.label), **line.style)
        if ylog:
            ax.set_yscale("log")
            log_axis(ax.yaxis, numticks=6)
        if xlog:  # ticks at the sizes measured: a sweep has a handful, often within one decade
            ax.set_xscale("log")
            sizes = sorted({v for line in panel.lines for v in line.x})
            ax.set_xticks(sizes, [size_text(v) for v in sizes])
            ax.xaxis.set_minor_locator(NullLocator())
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(printable(panel.title), loc="left", fontsize=8.5)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, fontsize=6.5,
                  ncols=_legend_cols(panel), handlelength=1.5, columnspacing=0.8)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    return to_svg(fig, tight=False)
