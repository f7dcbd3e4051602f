"""The HTML report: one self-contained file built from results files only.

It reads Parquet with pandas, opens on the run's findings (:mod:`harness.read.findings`), draws its
interactive charts with the vendored Vega-Lite (:mod:`harness.read.report.charts`) and its few static
figures with matplotlib, and fills a Jinja2 template; it never imports a differentiation backend.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

from harness.errors import UsageError
from harness.read.report import plots, sections
from harness.read.units import format_bytes, format_number, format_percent, format_time
from harness.store.results import read, refuse_input_as_output
from harness.store.schema import WORKLOADS, clock_of

TEMPLATE = "report.html.j2"
NOT_MEASURED = ["unsupported", "unavailable", "out_of_range"]  # the statuses of cells no method ran in


# the report's filters: harness.read.units, one way of writing each figure for every page and table
fmt_time, fmt_num, fmt_bytes, fmt_percent = format_time, format_number, format_bytes, format_percent


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
    measured = cells["quantity"].isin(WORKLOADS) & ~cells["status"].isin(NOT_MEASURED)
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
    from harness.stats.noise import NOISY

    if "noisy" not in cells or cells["noisy"].isna().all():
        return None
    timed = cells[cells["noisy"].notna()]
    return {"noisy": int(timed["noisy"].astype(bool).sum()), "timed": len(timed), "threshold": NOISY}


def _findings_rows(found) -> list[dict]:
    from harness.read import findings as find

    return [{"kind": f.kind, "sizes": f.sizes, "dtype": f.dtype, "device": f.device, "tasks": f.tasks,
             "tied": [{**m, "rounds_text": find.rounds_words(m.get("rounds"))} for m in f.tied],
             "next": f.next, "tiers": f.tiers, "note": f.note, "noisy_share": f.noisy_share,
             "leader_fastest": f.leader_fastest,
             "payback_text": find.payback_words(f.paybacks) if f.paybacks else ""}
            for f in found]


CLOCK_WORDS = {"cpu": "the process's CPU time (a cell on the CPU on one thread)", "wall": "the wall clock"}


def _clocks(cells) -> list[tuple[str, int]]:
    """(what timed them, how many) over the timed cells (:func:`harness.store.schema.clock_of`).  A value
    this version does not know is shown as it is (escaped, as every string)."""
    timed = cells[cells["eval_s"].notna()]
    named = timed["timing_clock"] if "timing_clock" in timed else [None] * len(timed)
    clocks = Counter(clock_of(c) for c in named)
    return [(CLOCK_WORDS.get(c, c), n) for c, n in clocks.most_common()]


def build_context(cells, points, metas) -> dict:
    from harness.read import findings as find
    from harness.read.report import charts

    methods = list(dict.fromkeys(cells["method"]))
    families = dict(zip(cells["method"], cells["family"]))
    styles = charts.palette(methods, families)
    failures = cells[cells["status"].isin(["failed", "timeout", "crashed"])]
    skipped = cells[cells["status"].isin(NOT_MEASURED)]
    skipped = skipped.groupby(["method", "status", "message"], sort=False).size().reset_index(name="cells")
    cases, method_info = {}, {}
    for m in metas:
        cases.update(m.cases)
        method_info.update(m.methods)
    found = find.findings(cells, metas)
    table = charts.cell_table(cells, metas)
    built = sections.build(cells, methods, metas)
    swept = _swept_kinds(table)
    ok_pairs = cells.loc[cells["status"] == "ok", ["dtype", "device"]].drop_duplicates()
    pairs = list(ok_pairs.itertuples(index=False))
    tasks = list(dict.fromkeys(table["strings"][i] for i in table["columns"]["task"]))  # in the run's order
    curves = charts.curve_table(points, methods) if len(points) else {"tasks": []}
    specs = {f"timing-{d}-{v}": charts.timing_spec(d, v, tasks, styles) for d, v in pairs}
    specs.update({f"accuracy-cost-{d}-{v}": charts.accuracy_cost_spec(d, v, styles) for d, v in pairs})
    # float64 on each device measured (the CPU, and a GPU where the run had one)
    devices = [d for d in ("cpu", "gpu") if ("float64", d) in {tuple(p) for p in pairs}]
    workload_sections = []
    for kind in (k for k in find.KINDS if k in swept):
        slug = kind.replace(" ", "-")
        chosen = [(f"{slug}-{d}-{m}", d, m) for d in devices for m in charts.MEASURES]
        specs.update({chart: charts.sweep_spec(kind, m, styles, device=d) for chart, d, m in chosen})
        workload_sections.append({"kind": kind, "id": slug, "charts": [(chart, d) for chart, d, _ in chosen]})
    if curves["tasks"]:
        specs["curves"] = charts.curves_spec([t["label"] for t in curves["tasks"]], styles)
    if built["steps"]:
        specs["steps"] = charts.steps_spec(styles)
    # a method none of whose cells ran (all unavailable or unsupported) gets no column and no toggle
    ran = set(cells.loc[~cells["status"].isin(NOT_MEASURED), "method"])
    shown = [m for m in methods if m in ran]
    by_family: dict = {}
    for m in shown:
        by_family.setdefault(families.get(m, ""), []).append(m)
    context = {
        "metas": metas,
        "cases": cases,
        "method_info": method_info,
        # the cases and methods are listed under "Cases and methods"
        "meta_json": [json.dumps({k: v for k, v in m.to_dict().items() if k not in ("cases", "methods")},
                                 indent=1, default=str) for m in metas],
        "status_counts": cells["status"].value_counts().to_dict(),
        "clocks": _clocks(cells),
        "findings": _findings_rows(found),
        "sentences": find.sentences(cells, metas, found),
        "thresholds": find.THRESHOLDS,
        "styles": styles,
        "families": by_family,
        "heatmap": plots.accuracy_heatmap(cells[cells["method"].isin(ran)], shown),
        "noise": _noise_summary(cells),
        "workload_sections": workload_sections,
        "timing_charts": [(f"timing-{d}-{v}", f"{d}, {v}") for d, v in pairs],
        "accuracy_charts": [(f"accuracy-cost-{d}-{v}", f"{d}, {v}") for d, v in pairs],
        "curves": bool(curves["tasks"]),
        "kinks": _kink_table(points, shown),
        "kink_methods": shown,
        "failures": failures.to_dict("records"),
        "training": _training_table(cells),
        "skipped": skipped.to_dict("records"),
        "data_json": charts.to_json(table),
        "curves_json": charts.to_json(curves),
        "specs_json": charts.to_json(specs),
        "steps_json": charts.to_json((built["steps"] or {}).get("data", {})),
        "scripts": charts.scripts(),
        "n_cells": len(cells),
        **built,
    }
    context["contents"] = _contents(context)
    return context


def _swept_kinds(table) -> set:
    """The kinds with a task measured ok at two sizes or more (the table's ``swept``)."""
    strings, columns = table["strings"], table["columns"]
    return {strings[k] for k, swept in zip(columns["kind"], columns["swept"]) if swept}


# (id, title, the context's key whose content makes the section worth listing; None: always)
SECTIONS = [("findings", "Findings", None), ("comparison", "Comparison with baseline", "comparison"),
            ("workloads-charts", "By workload: time, cost ratio and digits against size",
             "workload_sections"),
            ("timing", "Timing", "timing_charts"), ("accuracy", "Accuracy heatmap", "heatmap"),
            ("accuracy-cost", "Accuracy against cost", "accuracy_charts"), ("summary", "All cells", None),
            ("step-size", "Step size of finite differences", "steps"), ("cost", "Cost ratio", "cost"),
            ("scaling", "Scaling fits", "scaling"), ("workloads", "The field's workloads", "workloads"),
            ("setup", "Setup split", "setup"), ("swell", "Expression swell", "swell"),
            ("memory", "Memory", "memory"), ("seed-001", "Seed 001's table, redone", "seed_001"),
            ("training", "Training workloads", "training"), ("curves", "Derivative curves", "curves"),
            ("kinks", "Kink conventions", "kinks"), ("failures", "Failures", "failures"),
            ("skipped", "Not measured", "skipped"), ("reading", "How to read this report", None),
            ("cases", "Cases and methods", None), ("environment", "Environment", None)]


def _contents(context: dict) -> list[tuple[str, str]]:
    """The sections with something to show, in page order: an empty one is left out of the page."""
    return [(i, title) for i, title, key in SECTIONS if key is None or context.get(key)]


def render(context: dict) -> str:
    """The page.  Every string in it is escaped (``autoescape=True``: ``select_autoescape`` does not
    cover a ``.j2`` template), but for the markup diffbench makes itself, marked ``| safe``: the
    accuracy heatmap (its text escaped in :func:`plots.accuracy_heatmap`), matplotlib's SVG (which
    escapes its text), the vendored Vega and the inline JSON (:func:`charts.to_json`)."""
    from jinja2 import Environment, PackageLoader

    env = Environment(loader=PackageLoader("harness", "read/report"), autoescape=True,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(time=fmt_time, num=fmt_num, bytes=fmt_bytes, percent=fmt_percent)
    return env.get_template(TEMPLATE).render(**context)


def write_report(results, output: Path | None = None, baseline=None) -> Path:
    """Write the report of the results files/folders ``results``; returns its path.

    ``baseline`` (results files/folders of an earlier run) adds a comparison with it.
    """
    if isinstance(baseline, (str, Path)):
        baseline = [baseline]
    if output is not None:
        refuse_input_as_output(output, [*([results] if isinstance(results, (str, Path)) else results),
                                        *(baseline or [])], "report")
    cells, points, metas = read(results)
    old = read(baseline) if baseline else None  # before the slow part: a bad path fails at once
    if output is None:
        # the run id of a file edited by hand may hold anything, a "../" too: only its plain characters
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", str(metas[-1].run_id or "report")).lstrip(".")
        output = Path("reports") / f"{name or 'report'}.html"
    try:  # before the slow part too: an unwritable folder fails at once
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # FileExistsError: the folder's name is taken by a file
        why = f"{output.parent} is not a folder" if isinstance(exc, FileExistsError) else exc.strerror
        raise UsageError(f"cannot write the report to {output}: {why}") from exc
    context = build_context(cells, points, metas)
    if old is not None:
        from harness.read.report import comparison

        context["comparison"] = comparison.build(old[0], cells, old[2])
        context["contents"] = _contents(context)
    return write_page(output, render(context), "report")


def write_page(output: Path, html: str, what: str) -> Path:
    """Write an HTML page, whole or not at all (:mod:`harness.store.atomic`: a full disk leaves the old page
    as it was); a place that cannot be written is a one-line UsageError."""
    from harness.store.atomic import write_text

    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot write the {what} to {output}: {exc.strerror}") from exc
    return write_text(output, html, what)
