"""The HTML report: self-contained, every section present, built from files alone."""

import re

import pandas as pd
import pytest

import harness
from harness.report import build_context, fmt_time, render, write_report
from harness.results import CELL_COLUMNS, META_KEY, POINT_COLUMNS
from tests.conftest import run_python
from tests.test_analysis import cells as synthetic_cells
from tests.test_analysis import dim_sweep

MEASUREMENT_SECTIONS = ["cost", "scaling", "setup", "swell", "memory", "seed-001"]
SECTIONS = ["reading", "cases", "summary", "accuracy", "timing", *MEASUREMENT_SECTIONS, "training", "curves",
            "kinks", "failures", "skipped", "environment"]
SCHEMA_3_COLUMNS = CELL_COLUMNS[CELL_COLUMNS.index("derive_s"):]


@pytest.fixture(scope="module")
def results_file(tmp_path_factory, fast):
    out = tmp_path_factory.mktemp("run")
    df = harness.run(cases="abs,tanh", methods="sympy,central,jax", dtypes="float64,float32",
                     orders="1", out=out, timing=fast)
    return df.attrs["path"]


@pytest.fixture(scope="module")
def html(results_file, tmp_path_factory):
    path = write_report([results_file], tmp_path_factory.mktemp("rep") / "r.html")
    return path.read_text()


def test_every_section_is_there(html):
    for section in SECTIONS:
        assert f'id="{section}"' in html and f'href="#{section}"' in html
    assert html.count("<svg") >= 2 + 2  # heatmap, timing, a curve per case
    assert 'id="curve-tanh-derivative-1"' in html and 'id="curve-abs-derivative-1"' in html


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
