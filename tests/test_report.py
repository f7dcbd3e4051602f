"""The HTML report: self-contained, every section present, built from files alone."""

import math
import re

import numpy as np
import pandas as pd
import pytest

import harness
from harness.read.report import build_context, fmt_time, render, write_report
from harness.read.report.pareto import front
from harness.store.meta import RunMeta
from harness.store.schema import CELL_COLUMNS, META_KEY, POINT_COLUMNS
from tests.conftest import run_python
from tests.test_analysis import cells as synthetic_cells
from tests.test_analysis import dim_sweep

MEASUREMENT_SECTIONS = ["cost", "scaling", "setup", "swell", "memory", "seed-001"]
# what the small real run below has: the findings first, then each section with something to show
PRESENT = ["findings", "contents", "timing", "accuracy", "accuracy-cost", "summary", "step-size", "cost",
           "setup", "memory", "curves", "kinks", "failures", "reading", "cases", "environment"]
# ... and what it has not: a section with nothing to show is left out, and out of the contents
ABSENT = ["comparison", "workloads-charts", "scaling", "workloads", "swell", "seed-001", "training",
          "skipped"]
SCHEMA_3_COLUMNS = CELL_COLUMNS[CELL_COLUMNS.index("derive_s"):]


@pytest.fixture(scope="module")
def results_file(tmp_path_factory, fast):
    out = tmp_path_factory.mktemp("run")
    df = harness.run(cases="abs,tanh", methods="sympy,central,jax", dtypes="float64,float32",
                     orders="1", out=out, timing=fast, step_sweep=True, sizes="quick")
    return df.attrs["path"]


@pytest.fixture(scope="module")
def html(results_file, tmp_path_factory):
    path = write_report([results_file], tmp_path_factory.mktemp("rep") / "r.html")
    return path.read_text()


def test_every_section_with_content_is_there_and_no_other(html):
    contents = _section(html, "contents")
    for section in PRESENT:
        assert f'id="{section}"' in html, section
        assert section == "contents" or f'href="#{section}"' in contents, section
    for section in ABSENT:
        assert f'id="{section}"' not in html and f'href="#{section}"' not in html, section
    assert html.index('id="findings"') < html.index('id="contents"')  # the findings come first
    assert 'class="heatmap"' in _section(html, "accuracy")  # a table, readable without images
    for spec in ("timing-float64-cpu", "accuracy-cost-float32-cpu", "steps", "curves"):
        assert f'data-spec="{spec}"' in html, spec  # a chart the page draws from the inlined data


def _json(html: str, element: str):
    import json

    return json.loads(re.search(rf'<script id="{element}" type="application/json">(.*?)</script>', html,
                                re.S).group(1))


def test_step_sweep_is_written_and_drawn(results_file, html):
    from harness.store.results import read_steps

    steps = read_steps([results_file])
    assert set(steps["case"]) == {"tanh"} and set(steps["method"]) == {"central"}  # what the run measured
    assert set(steps["dtype"]) == {"float64", "float32"}
    drawn = _json(html, "steps-data")  # every step of the sweep, one panel per case × dtype
    assert len(drawn["h"]) == len(steps) and set(drawn["dtype"]) == {"float64", "float32"}
    # h* = ε^(1/3) for the central difference (p = 2), marked in each panel with the chosen step
    marks = {(m, d): (o, c) for m, d, o, c in zip(drawn["marks"]["method"], drawn["marks"]["dtype"],
                                                  drawn["marks"]["optimal"], drawn["marks"]["chosen"])}
    assert marks[("central", "float64")][0] == pytest.approx((2.0**-52) ** (1 / 3), rel=1e-2)
    assert marks[("central", "float32")][0] == pytest.approx((2.0**-23) ** (1 / 3), rel=1e-2)
    assert all(c is not None and c > 0 for _, c in marks.values())
    assert re.search(r"<td>tanh</td><td>central</td><td>float64</td>", _section(html, "step-size"))


def test_the_findings_name_the_tied_fastest_and_the_tiers(html):
    body = _section(html, "findings")
    assert "elementwise derivatives" in body and "≤ 10³ points" in body
    assert re.search(r'<span class="chip" style="background:#[0-9a-f]{6}">(central|jax|sympy)</span>', body)
    assert "digits</b>: " in body  # the accuracy tiers
    assert "<li>For elementwise derivatives of ≤ 10³ points (" in body  # a sentence read off the run


def test_the_curves_hold_the_signed_function(html):
    tasks = {t["label"]: t for t in _json(html, "curves-data")["tasks"]}
    tanh = next(t for label, t in tasks.items() if label.startswith("tanh [") and "(derivative 1)" in label)
    assert tanh["x"][0] == -5.0 and tanh["f"][0] == pytest.approx(math.tanh(-5.0), rel=1e-3)  # an S, not a V
    assert set(tanh["errors"]) == {"sympy", "central", "jax"}


def test_self_contained(html):
    # nothing to fetch: every reference is to the page itself or inline data; the inlined scripts
    # (Vega's own code, which names url() in its CSS handling) are checked by the browser test
    markup = re.sub(r"<script.*?</script>", "", html, flags=re.S)
    assert "<script" in html and not re.search(r"<script[^>]*\ssrc=", html)
    assert not re.search(r'(src|href)="(?!#|data:)', markup)
    assert not re.search(r"url\((?!#)", markup) and "@import" not in markup
    assert "<link" not in markup


def test_content(html):
    assert "UnevaluatedDerivative" in html  # sympy's failure on abs, with its message
    assert re.search(r"<td>abs</td><td>1</td><td>float64</td><td>0.0</td>", html)  # kink row
    cells = _json(html, "cells-data")
    assert len(cells["columns"]["method"]) == 12  # every cell, for the table and the charts
    timed = sum(t is not None for t in cells["columns"]["eval_s"]) if "eval_s" in cells["columns"] else None
    found = re.search(r"Times per call by the process&#39;s CPU time \(a cell on the CPU on one thread\) "
                      r"\((\d+) cells\)\.", html)  # one thread, the CPU: what timed every cell
    assert found and (timed is None or int(found.group(1)) == timed)


def test_report_never_imports_backends(results_file, tmp_path):
    code = f"""
import sys
for name in ("jax", "torch", "sympy"):
    sys.modules[name] = None  # any import of them now raises
from harness.read.report import write_report
from harness.store.meta import RunMeta
write_report([{str(results_file)!r}], __import__("pathlib").Path({str(tmp_path / "r.html")!r}))
print("ok")
"""
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "r.html").stat().st_size > 10_000


@pytest.mark.parametrize("seconds, text", [(2.5, "2.5 s"), (0.0123, "12.3 ms"), (4.2e-6, "4.2 µs"),
                                           (3e-8, "30 ns"), (float("nan"), "")])
def test_fmt_time(seconds, text):
    assert fmt_time(seconds) == text


def _section(html: str, section: str) -> str:
    start = html.index(f'<h2 id="{section}"')
    return html[start:html.index("<h2", start + 1)]


def test_schema_2_results_omit_the_measurement_sections(results_file, tmp_path):
    import json

    import pyarrow.parquet as pq

    table = pq.read_table(results_file)
    meta = json.loads(table.schema.metadata[META_KEY])
    old = table.drop_columns(SCHEMA_3_COLUMNS).replace_schema_metadata(
        {META_KEY: json.dumps({**meta, "schema_version": 2}).encode()})
    pq.write_table(old, tmp_path / "old.parquet")
    html = write_report([tmp_path / "old.parquet"], tmp_path / "old.html").read_text()
    for section in MEASUREMENT_SECTIONS:  # nothing to show: not on the page, not in the contents
        assert f'id="{section}"' not in html and f'href="#{section}"' not in html, section
    assert 'id="findings"' in html and 'id="summary"' in html
    assert "Times per call by the wall clock" in html  # a file before schema 8 was timed by it


@pytest.fixture(scope="module")
def synthetic_html():
    """A report of made-up cells with known answers: central differences cost 2n calls of f
    (time ∝ n² when f costs ∝ n), reverse mode 4 calls; swell 4ᵈ; seed 001's square in float32."""
    primal = lambda n: 1e-7 * n  # noqa: E731
    rows = dim_sweep("central", lambda n: 2 * n * primal(n), primal, derive_s=None, first_call_s=1e-3)
    rows += dim_sweep("jax", lambda n: 4 * primal(n), primal, derive_s=0.05, compile_s=0.1, first_call_s=1e-3,
                      transfer_s=1e-5)
    rows += [dict(case="nested_polynomial", size=f"depth={d}", quantity="derivative", method="sympy",
                  eval_s=1e-5, expr_nodes=4**d, cse_ops=5 * d, peak_host_bytes=2**20) for d in (1, 2, 3)]
    rows.append(dict(case="square", size="points=1000000", quantity="derivative", method="jax-nojit",
                     dtype="float32", n_points=10**6, setup_s=0.05, transfer_s=0.01, eval_s=0.02, digits=7.0))
    cells = synthetic_cells(rows).fillna({"setup_s": 0.01, "eval_iqr_s": 0.0})  # for the timing chart
    cells.loc[cells["case"].isin(["square"]) & (cells["n_points"] == 10**6), "run_id"] = "seed"
    meta = RunMeta(run_id="synthetic", timestamp="now", host="h", complete=True, n_cells=len(cells))
    seed = RunMeta(run_id="seed", selection={"preset": "seed-001"})  # its cells make seed 001's table
    points = pd.DataFrame(columns=POINT_COLUMNS)
    return render(build_context(cells, points, [meta, seed]))


def test_measurement_sections_show_the_closed_form_answers(synthetic_html):
    html = synthetic_html
    for section in MEASUREMENT_SECTIONS:
        assert "Omitted:" not in _section(html, section), section
    scaling = _section(html, "scaling")
    fits = re.findall(r"<td>(central|jax)</td><td>float64</td><td>cpu</td><td>dim</td><td>[^<]*</td>\s*"
                      r'<td class="num">([0-9.]+) ± [0-9.]+</td><td class="num">([0-9.]+) ±', scaling)
    # time ∝ n² and ∝ n; the cost ratio ∝ n and constant
    assert sorted(fits) == [("central", "2.00", "1.00"), ("jax", "1.00", "0.00")]
    assert "<svg" in _section(html, "swell") and "expr_nodes: sympy" in _section(html, "swell")
    assert "1 MB" in _section(html, "memory")
    seed = _section(html, "seed-001")
    assert "60 ms" in seed and "62.7 ms" in seed  # as the seed timed (50 + 10 ms), and its own figure


def test_shrunk_svg_keeps_labels_and_images():
    import base64
    import io

    from matplotlib.figure import Figure
    from PIL import Image

    from harness.read.report.plots import to_svg

    fig = Figure(figsize=(3, 2))
    ax = fig.subplots()
    ax.plot(range(50), [v * v for v in range(50)], rasterized=True)
    ax.set_title("k = 1.23456")  # text keeps every digit; coordinates lose theirs
    svg = to_svg(fig)
    assert "k = 1.23456" in svg and "<metadata" not in svg and "\n" not in svg
    assert not re.search(r'="[^"]*\d\.\d{3}', svg)
    png = base64.b64decode(re.search(r"data:image/png;base64,([^\"]+)", svg).group(1))
    image = Image.open(io.BytesIO(png))
    assert image.size[0] > 100 and image.size[1] > 50  # a real raster, not a stub


# --- the Pareto front, by construction -------------------------------------------------------------


def test_pareto_front_of_hand_made_points():
    #            time  digits
    points = [(1.0, 5.0),    # fastest: on the front
              (2.0, 5.0),    # as accurate as (1, 5), slower: dominated
              (2.0, 8.0),    # on
              (3.0, 7.0),    # dominated by (2, 8)
              (4.0, 12.0),   # on
              (4.0, 11.0),   # same time as (4, 12), fewer digits: dominated
              (5.0, 12.0),   # dominated by (4, 12)
              (0.5, np.nan),  # no digits: never on it
              (6.0, 16.0),   # on
              (6.0, 16.0)]   # an identical point is on it too
    t, d = zip(*points)
    assert front(t, d).tolist() == [True, False, True, False, True, False, False, False, True, True]


def test_pareto_front_matches_its_definition_on_random_points():
    rng = np.random.default_rng(1)
    for _ in range(50):
        t = rng.choice([1e-6, 1e-5, 1e-4, 1e-3], size=12) * rng.choice([1, 2], size=12)
        d = np.round(rng.uniform(0, 16, size=12))
        dominated = [any(t2 <= t1 and d2 >= d1 and (t2 < t1 or d2 > d1) for t2, d2 in zip(t, d))
                     for t1, d1 in zip(t, d)]
        assert front(t, d).tolist() == [not x for x in dominated]


def test_timing_bars_are_the_batches_quartiles_and_stay_above_zero():
    """A skewed cell (one slow batch) has median − IQR/2 below zero; its bar is its quartiles."""
    import pandas as pd

    from harness.read.report.plots import sample_quartiles

    cells = pd.DataFrame({"eval_samples_s": [[1e-6, 1e-6, 1e-6, 9e-6, 9e-6], None]})
    q1, q3 = sample_quartiles(cells)
    assert (q1[0], q3[0]) == (1e-6, 9e-6) and q1[0] > 0  # median 1e-6, IQR 8e-6: ± half is below 0
    assert np.isnan(q1[1]) and np.isnan(q3[1])  # no samples (a file before schema 3): no bar


def test_the_heatmap_scale_reaches_full_precision_at_each_dtypes_digits():
    from harness.read.report.plots import DIGITS_MAX, digit_shade, precision_digits

    assert precision_digits("float32") == pytest.approx(23 * math.log10(2))  # ε = 2⁻²³: 6.92 digits
    assert precision_digits("float64") == pytest.approx(52 * math.log10(2))  # ε = 2⁻⁵²: 15.65
    assert digit_shade(6.92, "float32") == DIGITS_MAX  # full float32 precision is green ...
    assert digit_shade(6.92, "float64") < DIGITS_MAX / 2  # ... and only half way in float64
    assert digit_shade(15.65, "float64") == DIGITS_MAX and digit_shade(17.0, "float32") == DIGITS_MAX
    assert digit_shade(0.0, "float32") == 0 == digit_shade(float("nan"), "float64")
    assert digit_shade(23 * math.log10(2) / 2, "float32") == DIGITS_MAX // 2


def test_a_gpu_run_gets_its_own_workload_charts():
    primal = lambda n: 1e-7 * n  # noqa: E731
    rows = [dict(r, device=device) for device in ("cpu", "gpu")
            for r in dim_sweep("jax", lambda n: 4 * primal(n), primal, setup_s=0.05, digits=15.0)]
    cells = synthetic_cells(rows)
    context = build_context(cells, pd.DataFrame(columns=POINT_COLUMNS), [RunMeta(run_id="g")])
    (section,) = context["workload_sections"]
    assert sorted({device for _, device in section["charts"]}) == ["cpu", "gpu"]
    specs = __import__("json").loads(context["specs_json"])
    gpu_time = next(chart for chart, device in section["charts"]
                    if device == "gpu" and chart.endswith("-time"))
    assert "datum.device === device_shown" in specs[gpu_time]["transform"][0]["filter"]
    assert {"name": "device_shown", "value": "gpu"} in specs[gpu_time]["params"]
    assert {f["device"] for f in context["findings"]} == {"cpu", "gpu"}  # a finding per device too
