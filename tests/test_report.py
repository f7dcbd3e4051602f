"""The HTML report: self-contained, every section present, built from files alone."""

import re

import pytest

import harness
from harness.report import fmt_time, write_report
from tests.conftest import run_python

SECTIONS = ["reading", "cases", "summary", "accuracy", "timing", "training", "curves", "kinks", "failures",
            "skipped", "environment"]


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
