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

from harness.read.report.svg import shrink

rcParams["svg.fonttype"] = "none"
rcParams["font.size"] = 9
rcParams["font.sans-serif"] = ["DejaVu Sans", "Arial", "sans-serif"]  # short: repeated per label
rcParams["text.parse_math"] = False  # labels are names from the results: a `$` in one is a dollar sign
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
STATUS_TEXT = {"unsupported": "—", "unavailable": "n/a", "out_of_range": "∞"}


def precision_digits(dtype: str) -> float:
    """A dtype's full precision in digits, −log₁₀ of its machine epsilon: 15.7 for float64, 6.9
    for float32."""
    return -math.log10(float(np.finfo(dtype).eps))


def digit_shade(digits: float, dtype: str) -> int:
    """The heatmap colour (0, red: no digit, to DIGITS_MAX, green) of ``digits`` in ``dtype``:
    anchored to that dtype's precision, so that float32's 6.9 digits are as green as float64's 15.7."""
    if digits != digits:  # NaN
        return 0
    return int(np.clip(round(digits / precision_digits(dtype) * DIGITS_MAX), 0, DIGITS_MAX))


def accuracy_heatmap(cells, methods) -> str:
    """Digits per (case, order) × method, one table per dtype and device: an HTML table whose
    cells are coloured from red (0 digits) to green (the dtype's full precision), with the figure
    in each cell."""
    groups = list(cells.groupby(["dtype", "device"], sort=False))
    if not groups:
        return ""
    rows = _tasks(cells)
    index = {k: i for i, k in enumerate(rows)}
    column = {m: j for j, m in enumerate(methods)}
    styles = "".join(f".heatmap td.d{i}{{background:{c}}}" for i, c in enumerate(HEATMAP_COLOURS))
    out = [f"<style>{styles}</style>"]
    head = "".join(f'<th class="v"><span>{html.escape(m)}</span></th>' for m in methods)
    for (dtype, device), g in groups:
        table = [[""] * len(methods) for _ in rows]
        for r in g.itertuples():
            i, j = index[task_key(r)], column[r.method]
            if r.status == "ok":
                shade = digit_shade(r.digits, dtype)
                table[i][j] = f'<td class="d{shade}">{r.digits:.1f}</td>'
            elif r.status in STATUS_TEXT:  # the reasons are listed under "Not measured"
                table[i][j] = f'<td class="s">{STATUS_TEXT[r.status]}</td>'
            else:  # failed, timeout: the message on hover
                message = html.escape(str(r.message or "")[:200], quote=True)
                table[i][j] = f'<td class="s" title="{message}">{html.escape(str(r.status))}</td>'
        body = "".join(f"<tr><th>{html.escape(task_label(k))}</th>{''.join(c or '<td></td>' for c in row)}"
                       "</tr>" for k, row in zip(rows, table))
        full = precision_digits(dtype)
        swatches = "".join(f'<span class="swatch" style="background:{HEATMAP_COLOURS[d]}">'
                           f"{d / DIGITS_MAX * full:.0f}</span>" for d in range(0, DIGITS_MAX + 1, 2))
        where = html.escape(f"{dtype}, {device}")  # as every string from the results: text, not markup
        out.append(f'<div class="wide"><table class="heatmap"><caption>{where}: {swatches} '
                   f"correct digits, green at {html.escape(dtype)}'s full {full:.1f}</caption>"
                   f"<thead><tr><th></th>{head}</tr></thead><tbody>{body}</tbody></table></div>")
    return "".join(out)
