"""``diffbench history``: headline figures of every run in a folder, across time.

The scheduled CI accumulates one results file per run; this page plots, per
method, the median steady-state time and the median digits over its ok cells
(float64 on the CPU: the one configuration every run has), and the cells of each
status per run.  One self-contained HTML file, figures as inline SVG, nothing
fetched.  Only pandas, pyarrow, matplotlib and Jinja2 are imported.
"""

from __future__ import annotations

from pathlib import Path

from harness.errors import UsageError
from harness.results import read_one, results_files
from harness.schema import DIGITS_CAP, STATUSES

MAX_TICKS = 12  # run labels on the x axis; more runs get every k-th label

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>diffbench history — {{ runs|length }} runs</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1100px; padding: 1em 2em; }
table { border-collapse: collapse; font-size: 12.5px; } th, td { border: 1px solid #ddd; padding: 2px 6px; }
th { background: #f3f3f3; } .note { color: #555; } svg { max-width: 100%; height: auto; }
svg text { font-family: 'DejaVu Sans', Arial, sans-serif; }
</style></head><body>
<h1>diffbench history</h1>
<p class="note">{{ runs|length }} runs from <code>{{ folder }}</code>, oldest first. Medians are over each
method's ok cells in float64 on the CPU; a run that measured other cases or sizes moves them too, so compare
like with like (<code>diffbench compare OLD NEW</code> matches cells one by one).</p>
{% for f in figures %}<figure><figcaption><b>{{ f.title }}</b></figcaption>{{ f.svg | safe }}</figure>
{% endfor %}
<h2>Runs</h2>
<table><tr><th>#</th><th>run</th><th>time</th><th>commit</th><th>host</th><th>cells</th></tr>
{% for r in runs %}<tr><td>{{ loop.index0 }}</td><td>{{ r.run_id }}</td><td>{{ r.timestamp }}</td>
<td>{{ (r.git_commit or "")[:10] }}</td><td>{{ r.host }}</td><td>{{ r.cells }}</td></tr>
{% endfor %}</table>
</body></html>
"""


def load_runs(folder) -> list[tuple[dict, object]]:
    """(metadata, cells) of each results file under ``folder``, oldest first."""
    runs = []
    for path in results_files([folder]):
        cells, meta = read_one(path)  # cells only: the per-point files are not needed here
        runs.append((meta, cells))
    return sorted(runs, key=lambda r: (str(r[0].get("timestamp", "")), str(r[0].get("run_id", ""))))


def headline(runs):
    """Per run and method: median eval_s and digits over its ok float64 CPU cells."""
    import pandas as pd

    rows = []
    for i, (_, cells) in enumerate(runs):
        ok = cells[(cells["status"] == "ok") & (cells["dtype"] == "float64") & (cells["device"] == "cpu")]
        for method, g in ok.groupby("method", sort=False):
            rows.append({"run": i, "method": method, "eval_s": g["eval_s"].median(),
                         "digits": g["digits"].clip(upper=DIGITS_CAP).median(), "cells": len(g)})
    return pd.DataFrame(rows, columns=["run", "method", "eval_s", "digits", "cells"])


def status_counts(runs):
    """Cells per run (rows) and status (columns, in the closed set's order)."""
    import pandas as pd

    counts = pd.DataFrame([c["status"].value_counts() for _, c in runs]).fillna(0).astype(int)
    counts = counts.reindex(columns=[s for s in STATUSES if s in counts.columns])
    return counts.reset_index(drop=True)


def _run_axis(ax, labels):
    step = max(1, -(-len(labels) // MAX_TICKS))
    ticks = list(range(0, len(labels), step))
    ax.set_xticks(ticks, [labels[i] for i in ticks], rotation=30, ha="right", fontsize=7)
    ax.set_xlim(-0.5, len(labels) - 0.5)
    ax.grid(True, which="major", alpha=0.3)


def figures(runs) -> list[dict]:
    """The three figures as {"title", "svg"}."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    from harness.report.plots import method_styles, to_svg

    labels = [str(m.get("timestamp", m.get("run_id", "")))[:16].replace("T", " ") for m, _ in runs]
    table = headline(runs)
    style = method_styles(list(dict.fromkeys(table["method"])))
    out = []
    for column, title, log in (("eval_s", "Median steady-state time per call [s]", True),
                               ("digits", "Median correct digits", False)):
        title += " (float64, CPU, ok cells)"
        fig = Figure(figsize=(9, 3.6))
        ax = fig.subplots()
        for method, g in table.groupby("method", sort=False):
            ax.plot(g["run"], g[column], lw=1, ms=4, label=method, **style[method])
        if log and len(table):
            ax.set_yscale("log")
        _run_axis(ax, labels)
        if len(table):
            ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False, fontsize=7,
                      ncols=1 + len(style) // 18)
        out.append({"title": title, "svg": to_svg(fig)})
    counts = status_counts(runs)
    colours = {"ok": "#3a9a4f", "failed": "#c0392b", "timeout": "#e67e22", "crashed": "#8e44ad",
               "unsupported": "#bbbbbb", "unavailable": "#7f8c8d"}
    fig = Figure(figsize=(9, 3))
    ax = fig.subplots()
    bottom = [0] * len(counts)
    for status in counts.columns:  # stacked: the bar's height is the run's cell count
        ax.bar(counts.index, counts[status], bottom=bottom, label=status, color=colours.get(status),
               width=0.7)
        bottom = [b + n for b, n in zip(bottom, counts[status])]
    _run_axis(ax, labels)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False, fontsize=7)
    out.append({"title": "Cells by status per run", "svg": to_svg(fig)})
    return out


def write_history(folder, output: Path = Path("reports/history.html")) -> Path:
    """Write the history page of the runs under ``folder``; returns its path."""
    from jinja2 import Environment, select_autoescape

    if not Path(folder).is_dir():
        raise UsageError(f"no such folder: {folder}")
    runs = load_runs(folder)
    env = Environment(autoescape=select_autoescape(default_for_string=True))
    html = env.from_string(PAGE).render(
        folder=str(folder), figures=figures(runs),
        runs=[{**meta, "cells": len(cells)} for meta, cells in runs])
    from harness.report import write_page

    return write_page(Path(output), html, "history")
