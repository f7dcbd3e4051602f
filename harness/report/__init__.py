"""The HTML report: one self-contained file built from results files only.

It reads Parquet with pandas, draws with matplotlib and fills a Jinja2
template; it never imports a differentiation backend.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from harness.errors import UsageError
from harness.report import plots, sections
from harness.results import read

TEMPLATE = "report.html.j2"


def fmt_time(seconds) -> str:
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return ""
    for unit, scale in (("s", 1), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def fmt_num(value, spec=".1f") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return format(value, spec)


def fmt_bytes(n) -> str:
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return ""
    for unit, scale in (("GB", 2**30), ("MB", 2**20), ("kB", 2**10)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n:.0f} B"


def fmt_percent(share) -> str:
    if share is None or (isinstance(share, float) and math.isnan(share)):
        return ""
    percent = 100 * share
    return f"{percent:.2g} %" if percent < 10 else f"{percent:.0f} %"


def _kink_table(points, methods):
    """What each method returns where the derivative does not exist."""
    undefined = points[~points["defined"].astype(bool)]
    rows = []
    for (case, order, dtype, x), g in undefined.groupby(["case", "order", "dtype", "x"], sort=False):
        g = g.drop_duplicates("method")
        values = dict(zip(g["method"], g["value"]))
        rows.append({"case": case, "order": order, "dtype": dtype, "x": x,
                     "values": [values.get(m) for m in methods]})
    return rows


def _training_table(cells) -> list[dict]:
    """The gradient-descent workloads: time, per-step cost, drift and accuracy per method."""
    rows = []
    measured = (cells["quantity"] == "training") & ~cells["status"].isin(["unsupported", "unavailable"])
    for r in cells[measured].itertuples():  # what was not measured is listed under "Not measured"
        detail = json.loads(r.detail) if isinstance(r.detail, str) and r.status == "ok" else {}
        rows.append({"case": r.case, "size": r.size, "method": r.method, "status": r.status,
                     "wall_s": r.eval_s, "setup_s": r.setup_s,
                     "step_s": r.eval_s / r.timing_number if r.status == "ok" else None,
                     "deviation": r.max_abs_err, "digits": r.digits,
                     "accuracy": detail.get("accuracy"),
                     "reference_accuracy": detail.get("reference_accuracy"),
                     "message": r.message})
    return rows


def _noise_summary(cells) -> dict | None:
    """How many timed cells are noisy (None for a run before the flag)."""
    from harness.noise import NOISY

    if "noisy" not in cells or cells["noisy"].isna().all():
        return None
    timed = cells[cells["noisy"].notna()]
    return {"noisy": int(timed["noisy"].astype(bool).sum()), "timed": len(timed), "threshold": NOISY}


def build_context(cells, points, metas) -> dict:
    methods = list(dict.fromkeys(cells["method"]))
    curves = []
    points = points.assign(size=points["size"].fillna(""))
    # one figure per case, quantity and order: of a sweep, its largest size in the run
    largest = points.drop_duplicates(["case", "size"]).groupby("case", sort=False)["size"].last()
    shown = points[points["size"] == points["case"].map(largest)]
    for (case, size, quantity, order), g in shown.groupby(["case", "size", "quantity", "order"],
                                                          sort=False):
        kinks = sorted(set(g.loc[~g["defined"].astype(bool), "x"]))
        svg = (plots.derivative_curves(g, methods, kinks) if quantity == "derivative"
               else plots.vector_errors(g, methods))
        curves.append({"case": case, "quantity": quantity, "order": order, "svg": svg,
                       "label": plots.task_label((case, size, quantity, order))})
    failures = cells[cells["status"].isin(["failed", "timeout", "crashed"])]
    skipped = cells[cells["status"].isin(["unsupported", "unavailable"])]
    skipped = skipped.groupby(["method", "status", "message"], sort=False).size().reset_index(name="cells")
    cases, method_info = {}, {}
    for m in metas:
        cases.update(m.get("cases", {}))
        method_info.update(m.get("methods", {}))
    return {
        "metas": metas,
        "cases": cases,
        "method_info": method_info,
        "meta_json": [json.dumps(m, indent=2, default=str) for m in metas],
        "cells": cells.to_dict("records"),
        "status_counts": cells["status"].value_counts().to_dict(),
        "methods": methods,
        "heatmap": plots.accuracy_heatmap(cells, methods),
        "timing": plots.timing_chart(cells, methods),
        "noise": _noise_summary(cells),
        "curves": curves,
        "kinks": _kink_table(points, methods),
        "failures": failures.to_dict("records"),
        "training": _training_table(cells),
        "skipped": skipped.to_dict("records"),
        **sections.build(cells, methods),
    }


def render(context: dict) -> str:
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("harness", "report"), autoescape=select_autoescape(),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(time=fmt_time, num=fmt_num, bytes=fmt_bytes, percent=fmt_percent)
    return env.get_template(TEMPLATE).render(**context)


def write_report(results, output: Path | None = None, baseline=None) -> Path:
    """Write the report of the results files/folders ``results``; returns its path.

    ``baseline`` (results files/folders of an earlier run) adds a comparison with it.
    """
    cells, points, metas = read(results)
    if isinstance(baseline, (str, Path)):
        baseline = [baseline]
    old = read(baseline) if baseline else None  # before the slow part: a bad path fails at once
    if output is None:
        output = Path("reports") / f"{metas[-1]['run_id']}.html"
    try:  # before the slow part too: an unwritable folder fails at once
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # FileExistsError: the folder's name is taken by a file
        why = f"{output.parent} is not a folder" if isinstance(exc, FileExistsError) else exc.strerror
        raise UsageError(f"cannot write the report to {output}: {why}") from exc
    context = build_context(cells, points, metas)
    if old is not None:
        from harness.report import comparison

        context["comparison"] = comparison.build(old[0], cells, old[2])
    return write_page(output, render(context), "report")


def write_page(output: Path, html: str, what: str) -> Path:
    """Write an HTML page; a place that cannot be written is a one-line UsageError."""
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write the {what} to {output}: {exc.strerror}") from exc
    return output
