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
from harness.read.units import format_time
from harness.stats.steps import MIN_RUNS, find_steps
from harness.store.meta import RunMeta
from harness.store.results import read_one, refuse_input_as_output, results_files
from harness.store.schema import DIGITS_CAP, STATUSES
from harness.store.text import printable

MAX_TICKS = 12  # run labels on the x axis; more runs get every k-th label
DEFAULT_THRESHOLD = 0.10  # a step must move a median by more than this

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
<h2>Steps</h2>
<p class="note">A step is a level of a median time that moved by more than
{{ (threshold * 100) | round(1) }} % and stayed for at least {{ min_runs }} runs (a piecewise-constant fit of
the log times; one odd night is not a step), per method (its median over its ok float64 CPU cells) and per
cell. The run is the first at the new level.</p>
{% if steps %}<table>
<tr><th>what</th><th>run #</th><th>run</th><th>before</th><th>after</th><th>ratio</th></tr>
{% for s in steps %}<tr><td>{{ s.what }}</td><td>{{ s.at }}</td><td>{{ s.run_id }}</td><td>{{ s.before }}</td>
<td>{{ s.after }}</td><td>{{ s.ratio }}</td></tr>
{% endfor %}</table>{% else %}<p>No step.</p>{% endif %}
{% for f in figures %}<figure><figcaption><b>{{ f.title }}</b></figcaption>{{ f.svg | safe }}</figure>
{% endfor %}
<h2>Runs</h2>
<table><tr><th>#</th><th>run</th><th>time</th><th>commit</th><th>host</th><th>cells</th></tr>
{% for r in runs %}<tr><td>{{ loop.index0 }}</td><td>{{ r.run_id }}</td><td>{{ r.timestamp }}</td>
<td>{{ (r.git_commit or "")[:10] }}</td><td>{{ r.host }}</td><td>{{ r.cells }}</td></tr>
{% endfor %}</table>
</body></html>
"""


def load_runs(folder) -> list[tuple[RunMeta, object]]:
    """(metadata, cells) of each results file under ``folder``, oldest first."""
    runs = []
    for path in results_files([folder]):
        cells, meta = read_one(path)  # cells only: the per-point files are not needed here
        runs.append((meta, cells))
    return sorted(runs, key=lambda r: (r[0].timestamp or "", r[0].run_id))


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


def cell_times(runs):
    """Median eval_s per run (rows) and ok cell (columns, labelled by their key)."""
    import pandas as pd

    series = {}
    for i, (_, cells) in enumerate(runs):
        ok = cells[cells["status"] == "ok"]
        for row in ok.itertuples():
            size = f"[{row.size}]" if isinstance(row.size, str) and row.size else ""
            label = f"{row.case}{size} {row.method} {row.quantity} {row.order} {row.dtype} {row.device}"
            series.setdefault(label, {})[i] = row.eval_s
    return pd.DataFrame(series, index=range(len(runs)), dtype=float)


def detect_steps(runs, threshold: float = DEFAULT_THRESHOLD) -> list[dict]:
    """The persistent steps of each method's headline time and of each cell's time, as
    {"what", "at", "run_id", "ratio", "before", "after", "last"} (``last``: the series'
    final step, whose new level lasts to the last run), largest first within each kind."""
    table = headline(runs)
    found = []
    series = [(f"method {m}", g.set_index("run")["eval_s"].reindex(range(len(runs))))
              for m, g in table.groupby("method", sort=False)]
    series += [(f"cell {label}", column) for label, column in cell_times(runs).items()]
    for what, values in series:
        steps = find_steps(values.to_numpy(float), threshold)
        for k, step in enumerate(steps):
            # printed on a terminal too (``diffbench history``): names from the results, made plain
            found.append({"what": printable(what), "at": step.at,
                          "run_id": printable(runs[step.at][0].run_id),
                          "ratio": round(step.ratio, 3), "before": format_time(step.before),
                          "after": format_time(step.after), "last": k == len(steps) - 1})
    return found


def regressions(steps, threshold: float = DEFAULT_THRESHOLD) -> list[dict]:
    """The steps a gate fails on: slowdowns beyond the threshold that last to the last run."""
    return [s for s in steps if s["last"] and s["ratio"] > 1 + threshold]


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


def figures(runs, steps=()) -> list[dict]:
    """The three figures as {"title", "svg"}; the methods' steps marked on the time figure."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    from harness.read.report.plots import method_styles, to_svg

    # matplotlib escapes its text in the SVG; a control character would still reach it (and its warnings)
    labels = [printable((m.timestamp or m.run_id)[:16].replace("T", " ")) for m, _ in runs]
    table = headline(runs)
    style = method_styles(list(dict.fromkeys(table["method"])))
    out = []
    for column, title, log in (("eval_s", "Median steady-state time per call [s]", True),
                               ("digits", "Median correct digits", False)):
        title += " (float64, CPU, ok cells)"
        fig = Figure(figsize=(9, 3.6))
        ax = fig.subplots()
        for method, g in table.groupby("method", sort=False):
            ax.plot(g["run"], g[column], lw=1, ms=4, label=printable(method), **style[method])
        if log and len(table):
            ax.set_yscale("log")
        if column == "eval_s":  # a dashed line where a method's level stepped, in its colour
            named = {printable(m): m for m in style}  # a step names its method as printed
            for step in steps:
                method = named.get(step["what"].removeprefix("method "))
                if step["what"].startswith("method ") and method in style:
                    ax.axvline(step["at"] - 0.5, ls="--", lw=1, color=style[method].get("color", "k"))
        _run_axis(ax, labels)
        if len(table):
            ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False, fontsize=7,
                      ncols=1 + len(style) // 18)
        out.append({"title": title, "svg": to_svg(fig)})
    counts = status_counts(runs)
    colours = {"ok": "#3a9a4f", "failed": "#c0392b", "timeout": "#e67e22", "crashed": "#8e44ad",
               "unsupported": "#bbbbbb", "unavailable": "#7f8c8d",
               "out_of_range": "#d4ac0d"}
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


def write_history(folder, output: Path = Path("reports/history.html"),
                  threshold: float = DEFAULT_THRESHOLD) -> tuple[Path, list[dict]]:
    """Write the history page of the runs under ``folder``; returns its path and the steps."""
    from jinja2 import Environment

    if not Path(folder).is_dir():
        raise UsageError(f"no such folder: {folder}")
    refuse_input_as_output(output, [folder], "history")
    runs = load_runs(folder)
    steps = detect_steps(runs, threshold)
    env = Environment(autoescape=True)  # every string from the results as text; the figures are matplotlib's
    html = env.from_string(PAGE).render(
        folder=str(folder), figures=figures(runs, steps), steps=steps, threshold=threshold, min_runs=MIN_RUNS,
        runs=[{**meta.to_dict(), "cells": len(cells)} for meta, cells in runs])
    from harness.read.report import write_page

    return write_page(Path(output), html, "history"), steps
