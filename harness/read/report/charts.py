"""The report's interactive charts: Vega-Lite specifications over one table of the run's cells.

The cells go into the page once, as compact columns (:func:`cell_table`: strings as indices
into a list of the distinct ones, numbers to 4 significant digits); the page's script turns
them back into rows and hands the same rows to every chart.  The specifications are plain
dictionaries (Vega-Lite 6), compiled in the browser by the vendored vega-lite.min.js
(:mod:`harness.read.report.vendor`), so the file opens offline.  Colours are by family (a hue per
family, a shade per method) with a marker per method; the page's method and family
checkboxes set each chart's ``hidden`` parameter, and every mark has a tooltip.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from harness.read.findings import kinds as cell_kinds

VENDOR = Path(__file__).parent / "vendor"
SCRIPTS = ("vega.min.js", "vega-lite.min.js")
# a hue per family, its methods in shades of it (darkest first)
FAMILY_HUES = {"automatic": ["#08306b", "#08519c", "#2171b5", "#4292c6", "#6baed6", "#9ecae1", "#3f007d",
                             "#54278f", "#6a51a3", "#807dba"],
               "numerical": ["#7f2704", "#a63603", "#d94801", "#f16913", "#fd8d3c", "#fdae6b", "#67000d",
                             "#a50f15", "#cb181d", "#ef3b2c"],
               "symbolic": ["#00441b", "#006d2c", "#238b45", "#41ab5d", "#74c476"]}
OTHER_HUES = ["#252525", "#525252", "#737373", "#969696"]
SHAPES = ["circle", "square", "triangle-up", "diamond", "cross", "triangle-down", "triangle-left",
          "triangle-right", "wedge", "arrow", "stroke", "triangle"]
FONT = {"labelFontSize": 12, "titleFontSize": 12}  # 9 pt and more on every axis and legend


def scripts() -> str:
    """The vendored Vega and Vega-Lite, to inline into the page."""
    return "\n".join((VENDOR / name).read_text(encoding="utf-8") for name in SCRIPTS)


def palette(methods: list[str], families: dict) -> dict:
    """method → {"color", "shape"}: the family's hue in a shade of its own, and a marker of its own."""
    seen: dict = {}
    styles = {}
    for i, m in enumerate(methods):
        family = families.get(m, "")
        shades = FAMILY_HUES.get(family, OTHER_HUES)
        k = seen[family] = seen.get(family, -1) + 1
        styles[m] = {"color": shades[k % len(shades)], "shape": SHAPES[i % len(SHAPES)]}
    return styles


def _short(x) -> float | None:
    x = float(x)
    return None if not math.isfinite(x) else float(f"{x:.4g}")


STRINGS = ["case", "size", "quantity", "method", "dtype", "device", "status", "message", "kind", "task",
           "axis", "sweep"]
NUMBERS = ["order", "n", "n_points", "digits", "eval_s", "q1", "q3", "setup_s", "cost_ratio", "timing_rounds"]


def cell_table(cells: pd.DataFrame, metas) -> dict:
    """Every cell, as the page's script reads it: {"strings": [...], "columns": {name: [...]}} with
    each string column as indices into ``strings``."""
    from harness.read.report.plots import sample_quartiles, task_label

    kinds = cell_kinds(cells, metas)
    n, axis = _size_axes(cells, kinds)
    q1, q3 = (np.vectorize(_short, otypes=[object])(q) for q in sample_quartiles(cells))
    frame = {
        **{c: cells[c].astype(object).where(cells[c].notna(), "").astype(str).tolist()
           for c in STRINGS if c in cells},
        "kind": kinds,
        "task": [task_label((r.case, r.size, r.quantity, r.order)) for r in cells.itertuples()],
        "sweep": [task_label((r.case, "", r.quantity, r.order)) for r in cells.itertuples()],
        "n": [_short(v) for v in n], "axis": axis,
        "q1": list(q1), "q3": list(q3),
    }
    for c in NUMBERS:
        if c not in frame:
            values = (pd.to_numeric(cells[c], errors="coerce") if c in cells
                      else pd.Series([np.nan] * len(cells)))
            frame[c] = [_short(v) for v in values]
    # flags as 0 and 1: a third of the bytes of false and true
    frame["noisy"] = [int(bool(v)) if v == v and v is not None else 0
                      for v in (cells["noisy"] if "noisy" in cells else [False] * len(cells))]
    largest = cells.drop_duplicates(["case", "size"]).groupby("case", sort=False)["size"].last()
    frame["largest"] = (cells["size"] == cells["case"].map(largest)).astype(int).tolist()
    frame["front"] = _fronts(cells).astype(int).tolist()
    # a task measured ok at two sizes or more of one kind: what the workload charts draw against size
    # (gmm's 30 parameters are a low-dimensional gradient, its 1,650 a high-dimensional one)
    ok = pd.Series(frame["n"], index=cells.index).where(cells["status"] == "ok")
    task = [pd.Series(kinds, index=cells.index), cells["case"], cells["quantity"], cells["order"].fillna(0)]
    sizes = ok.groupby(task).transform("nunique")
    frame["swept"] = (sizes >= 2).astype(int).tolist()
    index: dict = {}
    columns = {}
    for name, values in frame.items():
        if name in STRINGS:
            columns[name] = [index.setdefault(v, len(index)) for v in values]
        else:
            columns[name] = values
    strings = list(index)
    families = dict(zip(cells["method"], cells["family"]))  # once a method: the page adds it to each row
    return {"strings": strings, "strings_columns": [c for c in columns if c in STRINGS], "columns": columns,
            "families": families}


def _size_axes(cells: pd.DataFrame, kinds: list[str]) -> tuple[list, list]:
    """Each cell's position on its task's size axis, and the axis's name: points per call for an
    elementwise derivative, else the parameters, or the size parameter that grows where they do
    not (llsq's n rows, at 128 parameters)."""
    from harness.read.analysis import size_axis

    n = pd.Series(np.nan, index=cells.index)
    axis = pd.Series("", index=cells.index, dtype=object)
    elementwise = pd.Series([k == "elementwise derivatives" for k in kinds], index=cells.index, dtype=bool)
    n[elementwise] = cells.loc[elementwise, "n_points"].astype(float)
    axis[elementwise] = "points"
    for _, g in cells[~elementwise].groupby(["case", "quantity"], sort=False):
        values, name = size_axis(g)
        n[g.index] = values.astype(float)
        axis[g.index] = name
    return n.tolist(), axis.tolist()


def _fronts(cells: pd.DataFrame) -> pd.Series:
    """Whether each cell is on its task's Pareto front of time and digits (ok cells only)."""
    from harness.read.report.pareto import front

    eval_s = pd.to_numeric(cells["eval_s"], errors="coerce")
    digits = pd.to_numeric(cells["digits"], errors="coerce")
    on = pd.Series(False, index=cells.index)
    ok = (cells["status"] == "ok") & (eval_s > 0) & digits.notna()
    for _, g in cells[ok].groupby(["case", "size", "quantity", "order", "dtype", "device"], sort=False):
        on.loc[g.index] = front(eval_s.loc[g.index].to_numpy(float), digits.loc[g.index].to_numpy(float))
    return on


def to_json(value) -> str:
    """JSON safe inside a <script> element, whatever its strings hold: only `</script` or `<!--`
    could end or change the element, so none of `<`, `>` and `&` is left raw but written as a
    \\u escape (all of them are inside strings), as are U+2028 and U+2029 (``ensure_ascii``)."""
    text = json.dumps(value, separators=(",", ":"), allow_nan=False, ensure_ascii=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")  # 3 passes: fast


def _encoding(styles: dict, x: dict, y: dict, tooltip: list) -> dict:
    methods = list(styles)
    return {"x": x, "y": y,
            "color": {"field": "method", "type": "nominal", "legend": {"columns": 2, **FONT},
                      "scale": {"domain": methods, "range": [styles[m]["color"] for m in methods]}},
            "shape": {"field": "method", "type": "nominal",
                      "scale": {"domain": methods, "range": [styles[m]["shape"] for m in methods]}},
            "tooltip": tooltip}


TOOLTIP = [{"field": "method"}, {"field": "task"}, {"field": "size"}, {"field": "dtype"},
           {"field": "eval_s", "title": "time per call [s]", "format": ".3g"},
           {"field": "digits", "format": ".1f"}, {"field": "setup_s", "title": "setup [s]", "format": ".3g"},
           {"field": "cost_ratio", "title": "derivative / f", "format": ".3g"}]


def _base(filters: list[str], **shown) -> dict:
    """A chart of the cells that pass ``filters`` (Vega expressions: diffbench's own text only).  A
    value read from the results (a dtype, a device) is never spliced into an expression, where a
    quote in it would be code: each of ``shown`` is a parameter, ``{name}_shown``, that a filter
    names (``datum.device === device_shown``)."""
    return {"$schema": "https://vega.github.io/schema/vega-lite/v6.json", "data": {"name": "cells"},
            "params": [{"name": "hidden", "value": []},
                       *({"name": f"{name}_shown", "value": value} for name, value in shown.items())],
            "transform": [{"filter": " && ".join(["indexof(hidden, datum.method) < 0", *filters])}],
            "config": {"axis": FONT, "header": {"labelFontSize": 12, "titleFontSize": 12},
                       "legend": FONT, "view": {"stroke": "#ddd"}}}


LOG_AXIS = {"format": "~s", "labelOverlap": True}  # 10µ, 1m, 1k: short labels, none over another

MEASURES = {
    "time": ("eval_s", "time per call [s]", "log"),
    "ratio": ("cost_ratio", "derivative / function", "log"),
    "digits": ("digits", "correct digits", "linear"),
}


def sweep_spec(kind: str, measure: str, styles: dict, dtype: str = "float64", device: str = "cpu") -> dict:
    """One measure against size, per task of ``kind`` swept over sizes, a panel per task."""
    field, title, scale = MEASURES[measure]
    spec = _base(["datum.kind === kind_shown", "datum.status === 'ok'", "datum.swept",
                  "datum.dtype === dtype_shown", "datum.device === device_shown",
                  f"isValid(datum.{field})" + (f" && datum.{field} > 0" if scale == "log" else "")],
                 kind=kind, dtype=dtype, device=device)
    spec["transform"].append({"calculate": "datum.sweep + ' against ' + datum.axis", "as": "panel"})
    spec["facet"] = {"field": "panel", "type": "nominal", "title": None, "header": {"labelFontSize": 12}}
    spec["columns"] = 3
    layer_encoding = _encoding(styles, {"field": "n", "type": "quantitative", "scale": {"type": "log"},
                                        "title": "size", "axis": LOG_AXIS},
                               {"field": field, "type": "quantitative", "scale": {"type": scale},
                                "title": title, **({"axis": LOG_AXIS} if scale == "log" else {})}, TOOLTIP)
    spec["spec"] = {"width": 250, "height": 170, "encoding": layer_encoding,
                    "layer": [{"mark": {"type": "line", "strokeWidth": 1.2, "opacity": 0.7},
                               "encoding": {"shape": None, "detail": {"field": "method"}}},
                              {"mark": {"type": "point", "filled": True, "size": 45}}]}
    spec["resolve"] = {"scale": {"x": "independent", "y": "independent"}}
    return spec


def timing_spec(dtype: str, device: str, tasks: list[str], styles: dict) -> dict:
    """Every task's time per call, a row per task: the median, its quartiles as a bar, noisy
    cells ringed."""
    spec = _base(["datum.dtype === dtype_shown", "datum.device === device_shown", "datum.status === 'ok'",
                  "datum.eval_s > 0"], dtype=dtype, device=device)
    y = {"field": "task", "type": "nominal", "sort": tasks, "title": None, "axis": {"labelLimit": 260}}
    x = {"field": "eval_s", "type": "quantitative", "scale": {"type": "log"},
         "title": "time per call [s] (median; bar: quartiles; ringed: noisy)"}
    spec.update(width=620, height={"step": 15})
    spec["layer"] = [
        {"mark": {"type": "rule", "opacity": 0.6},
         "encoding": {"y": y, "x": {"field": "q1", "type": "quantitative", "scale": {"type": "log"}},
                      "x2": {"field": "q3"}, "color": _encoding(styles, x, y, [])["color"]}},
        {"mark": {"type": "point", "filled": True, "size": 40}, "encoding": _encoding(styles, x, y, TOOLTIP)},
        {"transform": [{"filter": "datum.noisy"}],
         "mark": {"type": "point", "size": 160, "stroke": "#c0392b", "strokeWidth": 1, "filled": False,
                  "shape": "circle"},
         "encoding": {"x": x, "y": y}},
    ]
    return spec


def accuracy_cost_spec(dtype: str, device: str, styles: dict) -> dict:
    """Digits against time per call, a panel per task (of a swept case, its largest size), the
    Pareto front (no method both faster and more accurate) joined by a line."""
    spec = _base(["datum.dtype === dtype_shown", "datum.device === device_shown", "datum.status === 'ok'",
                  "datum.eval_s > 0", "isValid(datum.digits)", "datum.largest"], dtype=dtype, device=device)
    spec["facet"] = {"field": "task", "type": "nominal", "title": None, "header": {"labelFontSize": 12}}
    spec["columns"] = 4
    x = {"field": "eval_s", "type": "quantitative", "scale": {"type": "log"}, "title": "time per call [s]"}
    y = {"field": "digits", "type": "quantitative", "scale": {"domain": [0, 17]}, "title": "digits"}
    spec["spec"] = {"width": 190, "height": 140, "layer": [
        {"transform": [{"filter": "datum.front"}],
         "mark": {"type": "line", "color": "#999", "strokeDash": [3, 2]},
         "encoding": {"x": x, "y": y, "order": {"field": "eval_s"}}},
        {"mark": {"type": "point", "filled": True, "size": 45},
         "encoding": _encoding(styles, x, y, TOOLTIP)}]}
    spec["resolve"] = {"scale": {"x": "independent"}}
    return spec


CURVE_POINTS = 40  # per task and method: enough to see where the error grows


def curve_table(points: pd.DataFrame, methods: list[str]) -> dict:
    """The elementwise derivatives' points (float64, CPU; of a swept case its largest size), at most
    CURVE_POINTS a task: x, the reference f (signed) and f′, and each method's relative error."""
    from harness.read.report.plots import task_label

    p = points[(points["quantity"] == "derivative") & (points["dtype"] == "float64")
               & (points["device"] == "cpu")]
    largest = p.drop_duplicates(["case", "size"]).groupby("case", sort=False)["size"].last()
    p = p[p["size"] == p["case"].map(largest)]
    tasks = []
    for (case, size, order), g in p.groupby(["case", "size", "order"], sort=False):
        xs = np.sort(g["x"].unique())
        keep = xs[np.unique(np.linspace(0, len(xs) - 1, min(CURVE_POINTS, len(xs))).astype(int))]
        g = g[g["x"].isin(keep)]
        first = g.drop_duplicates("x").set_index("x").reindex(keep)
        errors = {}
        for m, gm in g.groupby("method", sort=False):
            rel = gm.drop_duplicates("x").set_index("x")["rel_err"].reindex(keep).astype(float)
            # two digits: the error is drawn on a log scale
            errors[m] = [None if not np.isfinite(v) else float(f"{max(v, 1e-17):.2g}") for v in rel]
        tasks.append({"label": task_label((case, size, "derivative", order)), "x": [_short(v) for v in keep],
                      "f": [_short(v) for v in first["f"].astype(float)],
                      "ref": [_short(v) for v in first["ref"].astype(float)],
                      "errors": {m: errors[m] for m in methods if m in errors}})
    return {"tasks": tasks}


def curves_spec(labels: list[str], styles: dict) -> dict:
    """One task at a time (a menu): the reference f and f′ above, each method's relative error below."""
    base = _base([])
    spec = {k: v for k, v in base.items() if k not in ("transform", "params")}
    spec["data"] = {"name": "curves"}
    spec["params"] = [{"name": "hidden", "value": []},
                      {"name": "task", "value": labels[0] if labels else "",
                       "bind": {"input": "select", "options": labels, "name": "task "}}]
    spec["transform"] = [{"filter": "datum.task === task"}]
    x = {"field": "x", "type": "quantitative", "title": "x"}
    spec["vconcat"] = [
        {"width": 700, "height": 160,
         "transform": [{"filter": "datum.series === 'f' || datum.series === 'f′'"}],
         "mark": {"type": "line", "strokeWidth": 1.5},
         "encoding": {"x": x, "y": {"field": "value", "type": "quantitative", "title": "reference"},
                      "color": {"field": "series", "type": "nominal", "title": None,
                                "scale": {"range": ["#444", "#c0392b"]}, "legend": FONT},
                      "tooltip": [{"field": "series"}, {"field": "x"}, {"field": "value", "format": ".6g"}]}},
        {"width": 700, "height": 220,
         "transform": [{"filter": "datum.series === 'error' && indexof(hidden, datum.method) < 0"}],
         "mark": {"type": "line", "point": {"filled": True, "size": 18}, "strokeWidth": 1},
         "encoding": {**_encoding(styles, x, {"field": "value", "type": "quantitative",
                                               "scale": {"type": "log"}, "title": "relative error"},
                                  [{"field": "method"}, {"field": "x"},
                                   {"field": "value", "title": "relative error", "format": ".2e"}])}},
    ]
    spec["resolve"] = {"scale": {"color": "independent"}, "legend": {"color": "independent"}}
    return spec


STEP_TOOLTIP = [{"field": "method"}, {"field": "h", "format": ".2g"},
                {"field": "err", "title": "error", "format": ".2g"}]


def steps_spec(styles: dict) -> dict:
    """Each finite difference's largest relative error against its step, log-log, a panel per case
    and dtype: the V of truncation against rounding."""
    spec = {k: v for k, v in _base([]).items() if k != "transform"}
    spec["data"] = {"name": "steps"}
    spec["transform"] = [{"filter": "indexof(hidden, datum.method) < 0"},
                         {"calculate": "datum.case + ', ' + datum.dtype", "as": "panel"}]
    spec["facet"] = {"field": "panel", "type": "nominal", "title": None, "header": {"labelFontSize": 12}}
    spec["columns"] = 4
    x = {"field": "h", "type": "quantitative", "scale": {"type": "log"}, "title": "step h"}
    y = {"field": "err", "type": "quantitative", "scale": {"type": "log"}, "title": "largest relative error"}
    colour = _encoding(styles, x, y, [])["color"]
    spec["spec"] = {"width": 190, "height": 150, "layer": [
        {"transform": [{"filter": "!datum.mark"}],
         "mark": {"type": "line", "point": {"filled": True, "size": 14}, "strokeWidth": 1},
         "encoding": _encoding(styles, x, y, STEP_TOOLTIP)},
        # h* = ε^(1/(p+1)), the textbook optimum, as a dotted line in the method's colour
        {"transform": [{"filter": "datum.mark"}], "mark": {"type": "rule", "strokeDash": [2, 2]},
         "encoding": {"x": {**x, "field": "optimal"}, "color": colour,
                      "tooltip": [{"field": "method"},
                                  {"field": "optimal", "title": "h*", "format": ".2g"}]}},
        # the step the method chooses, on its curve: a large outlined diamond
        {"transform": [{"filter": "datum.mark && isValid(datum.chosen_err)"}],
         "mark": {"type": "point", "shape": "diamond", "size": 110, "filled": True, "stroke": "#000",
                  "strokeWidth": 0.7},
         "encoding": {"x": {**x, "field": "chosen"}, "y": {**y, "field": "chosen_err"}, "color": colour,
                      "tooltip": [{"field": "method"},
                                  {"field": "chosen", "title": "chosen h", "format": ".2g"},
                                  {"field": "chosen_err", "title": "error there", "format": ".2g"}]}}]}
    return spec
