"""The HTML report: self-contained, every section present, built from files alone."""

import re

import numpy as np
import pandas as pd
import pytest

import harness
from harness.report import build_context, fmt_time, render, write_report
from harness.report.pareto import front
from harness.report.verdict import verdicts
from harness.schema import CELL_COLUMNS, META_KEY, POINT_COLUMNS
from tests.conftest import run_python
from tests.test_analysis import cells as synthetic_cells
from tests.test_analysis import dim_sweep

MEASUREMENT_SECTIONS = ["cost", "scaling", "setup", "swell", "memory", "seed-001"]
# the sections (verdict, accuracy vs cost, step-size V-curve, scaling, swell, derivative
# curves, kink conventions, failures, environment) and the others
SECTIONS = ["reading", "cases", "verdict", "summary", "accuracy", "accuracy-cost", "timing", "step-size",
            *MEASUREMENT_SECTIONS, "training", "curves", "kinks", "failures", "skipped", "environment"]
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


def test_every_section_is_there(html):
    for section in SECTIONS:
        assert f'id="{section}"' in html and f'href="#{section}"' in html
    assert html.count("<svg") >= 4 + 2  # timing, accuracy vs cost, steps, the curves' legend; 2 curves
    assert 'id="curve-tanh-derivative-1"' in html and 'id="curve-abs-derivative-1"' in html
    for section in ("verdict", "accuracy-cost", "step-size"):
        assert "Omitted:" not in _section(html, section), section
    assert "<svg" in _section(html, "accuracy-cost") and "<svg" in _section(html, "step-size")
    assert 'class="heatmap"' in _section(html, "accuracy")  # a table, readable without images


def test_step_sweep_is_written_and_drawn(results_file, html):
    from harness.results import read_steps

    steps = read_steps([results_file])
    assert set(steps["case"]) == {"tanh"} and set(steps["method"]) == {"central"}  # what the run measured
    assert set(steps["dtype"]) == {"float64", "float32"}
    body = _section(html, "step-size")
    assert "tanh, float64" in body and "tanh, float32" in body  # one panel per case × dtype
    assert re.search(r"<td>tanh</td><td>central</td><td>float64</td>", body)  # the best-step table


def test_verdict_section_states_thresholds_and_winners(html):
    body = _section(html, "verdict")
    assert "≥ 10 digits in float64" in body and "≥ 5 digits in float32" in body
    assert body.count("<tr><td>") == 2 * 2  # tanh and abs, in float64 and float32, on the CPU
    # abs: sympy fails there; central and jax are exact away from the kink (17 digits), jax in float32 too
    row = r"<tr><td>abs \(derivative 1\)</td><td>float32</td><td>cpu</td><td><b>(central|jax)</b>"
    assert re.search(row, body)


def test_self_contained(html):
    # nothing to fetch: every reference is to the page itself or inline data
    assert not re.search(r'(src|href)="(?!#|data:)', html)
    assert not re.search(r"url\((?!#)", html) and "@import" not in html
    assert "<link" not in html


def test_content(html):
    assert "UnevaluatedDerivative" in html  # sympy's failure on abs, with its message
    assert re.search(r"<td>abs</td><td>1</td><td>float64</td><td>0.0</td>", html)  # kink row


def test_report_never_imports_backends(results_file, tmp_path):
    code = f"""
import sys
for name in ("jax", "torch", "sympy"):
    sys.modules[name] = None  # any import of them now raises
from harness.report import write_report
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
    for section in MEASUREMENT_SECTIONS:
        body = _section(html, section)
        assert "Omitted:" in body and "<svg" not in body and "<table" not in body, section


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
    meta = {"run_id": "synthetic", "timestamp": "now", "host": "h", "complete": True, "n_cells": len(cells),
            "versions": {}, "gpus": []}
    points = pd.DataFrame(columns=POINT_COLUMNS)
    return render(build_context(cells, points, [meta]))


def test_measurement_sections_show_the_closed_form_answers(synthetic_html):
    html = synthetic_html
    for section in MEASUREMENT_SECTIONS:
        assert "Omitted:" not in _section(html, section), section
    cost, scaling = _section(html, "cost"), _section(html, "scaling")
    assert "central  k = 1.00" in cost and "jax  k = 0.00" in cost  # cost ratio ∝ n and constant
    assert "central  k = 2.00" in scaling and "jax  k = 1.00" in scaling  # time ∝ n² and ∝ n
    assert "<svg" in _section(html, "swell") and "expr_nodes: sympy" in _section(html, "swell")
    assert "1 MB" in _section(html, "memory")
    seed = _section(html, "seed-001")
    assert "60 ms" in seed and "62.7 ms" in seed  # as the seed timed (50 + 10 ms), and its own figure


def test_shrunk_svg_keeps_labels_and_images():
    import base64
    import io

    from matplotlib.figure import Figure
    from PIL import Image

    from harness.report.plots import to_svg

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


# --- the verdict, by construction ------------------------------------------------------------------


def verdict_cells():
    """Hand-made cells whose verdict is known: a float64 group with a tie on digits, a faster
    method below the threshold and a failure; a float32 group; a group that never reaches 10."""
    rows = [
        # float64: b ties a (16.04 ≈ 16.0 at the tenth shown) and is faster: most accurate;
        # d is fastest but below 10 digits, e failed (no digits) and is faster still:
        # c is the fastest with ≥ 10 digits
        dict(method="a", digits=16.0, eval_s=1e-3),
        dict(method="b", digits=16.04, eval_s=1e-4),
        dict(method="c", digits=12.0, eval_s=1e-6),
        dict(method="d", digits=9.9, eval_s=1e-8),
        dict(method="e", status="failed", digits=np.nan, eval_s=np.nan),
        dict(method="f", status="unsupported"),
        # float32: threshold 5 — g 6.0 slow, h 4.99 fastest but short of it, i exactly 5.0
        dict(method="g", dtype="float32", digits=6.0, eval_s=1e-3),
        dict(method="h", dtype="float32", digits=4.99, eval_s=1e-7),
        dict(method="i", dtype="float32", digits=5.0, eval_s=1e-5),
        # another case: best 8.0 digits, nothing reaches 10
        dict(case="other", method="a", digits=8.0, eval_s=1e-3),
        dict(case="other", method="b", digits=7.0, eval_s=1e-4),
        # a case where only failures: no verdict row at all
        dict(case="broken", method="a", status="failed"),
    ]
    return synthetic_cells([{"case": "c", "quantity": "derivative", **r} for r in rows])


def test_verdict_picks_the_most_accurate_and_the_fastest_accurate():
    table = verdicts(verdict_cells()).set_index(["case", "dtype"])
    assert set(table.index) == {("c", "float64"), ("c", "float32"), ("other", "float64")}
    c64 = table.loc[("c", "float64")]
    assert (c64["best_method"], c64["best_digits"], c64["best_eval_s"]) == ("b", 16.04, 1e-4)
    assert (c64["fastest_method"], c64["fastest_digits"], c64["fastest_eval_s"]) == ("c", 12.0, 1e-6)
    assert (c64["n_ok"], c64["n_cells"], c64["threshold"]) == (4, 6, 10.0)
    c32 = table.loc[("c", "float32")]
    assert (c32["best_method"], c32["fastest_method"], c32["threshold"]) == ("g", "i", 5.0)
    other = table.loc[("other", "float64")]
    assert other["best_method"] == "a" and pd.isna(other["fastest_method"])


def test_verdict_tie_goes_to_the_faster_only_within_a_tenth():
    cells = synthetic_cells([dict(method="slow", digits=15.0, eval_s=1.0),
                             dict(method="fast", digits=14.9, eval_s=1e-3)])
    assert verdicts(cells)["best_method"].iloc[0] == "slow"  # 0.1 digit better is better


def test_verdict_section_renders_without_javascript():
    cells = verdict_cells().fillna({"setup_s": 0.01, "eval_iqr_s": 0.0})
    meta = {"run_id": "v", "timestamp": "now", "host": "h", "complete": True, "n_cells": len(cells),
            "versions": {}, "gpus": []}
    html = render(build_context(cells, pd.DataFrame(columns=POINT_COLUMNS), [meta]))
    body = _section(html, "verdict")
    scriptless = re.sub(r"<script.*?</script>", "", body, flags=re.S)
    assert "<b>b</b>" in scriptless and "<b>c</b>" in scriptless and "none reaches 10" in scriptless
    assert "Omitted:" in _section(html, "step-size")  # made-up cells: no step sweep to draw


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

    from harness.report.plots import sample_quartiles

    cells = pd.DataFrame({"eval_samples_s": [[1e-6, 1e-6, 1e-6, 9e-6, 9e-6], None]})
    q1, q3 = sample_quartiles(cells)
    assert (q1[0], q3[0]) == (1e-6, 9e-6) and q1[0] > 0  # median 1e-6, IQR 8e-6: ± half is below 0
    assert np.isnan(q1[1]) and np.isnan(q3[1])  # no samples (a file before schema 3): no bar
