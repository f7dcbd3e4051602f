"""The report in a real browser: headless Chromium opens a generated report, finds every
section in the rendered DOM, sees no script or resource error, fetches nothing, and saves a
screenshot (to $REPORT_SCREENSHOT, else a temporary folder).

Needs Debian's ``chromium`` package (``apt-get install chromium``); without it the tests that
open a browser are skipped with that reason (the static check that nothing is fetched still
runs).  ``nox -s report-check`` runs this file alone.
"""

import html as html_lib
import json
import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

import harness
from harness.read.report import write_report

CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser"))), None)
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium found (chromium or chromium-browser on PATH): install Debian's "
                             "chromium package (apt-get install chromium) to run the headless-browser check")

# the sections of the small run below (a section with nothing to show is left out)
SECTIONS = ["findings", "contents", "timing", "accuracy", "accuracy-cost", "summary", "step-size", "cost",
            "setup", "memory", "curves", "kinks", "failures", "reading", "cases", "environment"]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--hide-scrollbars"]
WINDOW = (1300, 4000)

# Put first in <head>: collects uncaught errors, failed resources (an <img> that does not decode,
# a stylesheet that cannot load), console.error/warn and unhandled rejections; once loaded it clicks
# every sortable heading twice, draws every chart, unticks a method's and a family's checkbox, types
# into the cells table's filter and sorts it, then writes what it saw (the charts' hidden methods,
# the table's rows), and every resource the page fetched, into <pre id="__report_check"> for
# --dump-dom to print.
COLLECTOR = """<script>
window.__errors = [];
window.addEventListener("error", function (e) {
  var t = e.target || {};
  window.__errors.push(e.message ? "uncaught: " + e.message + " (line " + e.lineno + ")"
    : "resource failed: <" + (t.tagName || "?") + "> " + (t.src || t.href || ""));
}, true);
window.addEventListener("unhandledrejection", function (e) {
  window.__errors.push("unhandled rejection: " + e.reason);
});
["error", "warn"].forEach(function (level) {
  var original = console[level];
  console[level] = function () {
    window.__errors.push("console." + level + ": " + Array.prototype.join.call(arguments, " "));
    return original.apply(console, arguments);
  };
});
function __finish(seen) {
  var out = document.createElement("pre");
  out.id = "__report_check";
  seen.errors = window.__errors;
  seen.fetched = performance.getEntriesByType("resource").map(function (r) { return r.name; });
  seen.dcl_ms = performance.getEntriesByType("navigation")[0].domContentLoadedEventEnd;
  out.textContent = JSON.stringify(seen);
  document.body.appendChild(out);
}
window.addEventListener("load", function () { setTimeout(function () {
  var seen = {};
  try {
    document.querySelectorAll("table.sortable th").forEach(function (th) { th.click(); th.click(); });
    var rows = function () { return document.querySelectorAll("#cells-table tbody tr"); };
    seen.rows_before = rows().length;
    var filter = document.getElementById("cells-table-filter");
    filter.value = "central float64";
    filter.dispatchEvent(new Event("input"));
    seen.rows_filtered = Array.prototype.map.call(rows(), function (tr) { return tr.textContent; });
    document.querySelector('#cells-table th[data-key="eval_s"]').click();
    seen.rows_sorted = rows().length;
    var other = document.querySelector("input.table-filter");  // the first sortable table's: step sizes
    var table = other.nextElementSibling.tagName === "TABLE" ? other.nextElementSibling
      : other.nextElementSibling.querySelector("table");
    other.value = "float32";
    other.dispatchEvent(new Event("input"));
    var shown = function (tr) { return tr.style.display !== "none"; };
    seen.other_rows = Array.prototype.filter.call(table.tBodies[0].rows, shown)
      .map(function (tr) { return tr.textContent; });
    seen.other_total = table.tBodies[0].rows.length;
    var box = document.querySelector('input.method-toggle[data-method="forward"]');
    box.click();
    var family = document.querySelector('input.family-toggle[data-family="symbolic"]');
    family.click();
    var symbolic = document.querySelectorAll('input.method-toggle[data-family="symbolic"]');
    seen.family_unticked = Array.prototype.filter.call(symbolic, function (b) { return !b.checked; }).length;
  } catch (e) { window.__errors.push("interaction: " + e); }
  var drawn = window.diffbenchDrawAll ? window.diffbenchDrawAll() : Promise.resolve([]);  // a page of ours
  drawn.then(function (views) {
    return new Promise(function (done) { setTimeout(function () { done(views); }, 300); });
  }).then(function (views) {
    seen.charts = views.length;
    seen.hidden = views.map(function (v) { return v.signal("hidden"); });
    seen.svgs = document.querySelectorAll("div.vl svg").length;
    __finish(seen);
  }).catch(function (e) { window.__errors.push("charts: " + e); __finish(seen); });
}, 200); });
</script>"""


def chromium(*args, profile: Path, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)


def dump_dom(page: Path, tmp_path: Path) -> tuple[str, dict]:
    """The DOM of ``page`` after load, with the collector injected into a copy; (DOM, findings)."""
    html = page.read_text(encoding="utf-8")
    checked = tmp_path / f"checked-{page.name}"
    checked.write_text(html.replace("<head>", "<head>" + COLLECTOR, 1), encoding="utf-8")
    proc = chromium("--virtual-time-budget=20000", "--dump-dom", checked.as_uri(),
                    profile=tmp_path / "profile-dom")
    found = re.search(r'<pre id="__report_check">(.*?)</pre>', proc.stdout, re.S)
    assert found, f"the collector did not run: exit {proc.returncode}\n{proc.stderr[-2000:]}"
    return proc.stdout, json.loads(html_lib.unescape(found.group(1)))


def console_errors(stderr: str) -> list[str]:
    """Chromium's own log of the page's console (--enable-logging=stderr): uncaught errors."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line and re.search(r"Uncaught|Error", line)]


@pytest.fixture(scope="module")
def report(tmp_path_factory, fast) -> Path:
    """The report of a small real run: a failure (SymPy on |x|), a kink, a step sweep."""
    out = tmp_path_factory.mktemp("run")
    df = harness.run(cases="abs,tanh", methods="sympy,central,forward", dtypes="float64,float32", orders="1",
                     out=out, timing=fast, step_sweep=True, sizes="quick")
    return write_report([df.attrs["path"]], out / "report.html")


@needs_chromium
def test_every_section_is_in_the_rendered_dom_without_errors(report, tmp_path):
    dom, found = dump_dom(report, tmp_path)
    ids = set(re.findall(r'\bid="([^"]+)"', dom))
    missing = [s for s in SECTIONS if s not in ids]
    assert not missing, f"sections missing from the rendered page: {missing}"
    links = set(re.findall(r'<a href="#([^"]+)"', dom))
    assert set(SECTIONS) - {"contents"} <= links  # the table of contents links them
    assert not (links - ids), f"links to nothing: {sorted(links - ids)}"
    assert found["errors"] == [], found["errors"]
    assert not [url for url in found["fetched"] if not url.startswith("data:")], found["fetched"]
    assert found["svgs"] == found["charts"] >= 5  # every chart drawn, by Vega, as inline SVG


@needs_chromium
def test_the_method_toggles_and_the_table_filter_work(report, tmp_path):
    _, found = dump_dom(report, tmp_path)
    assert found["errors"] == [], found["errors"]
    # every chart hides the unticked method and the unticked family's methods
    hidden = found["hidden"]
    assert hidden and all(sorted(h) == ["forward", "sympy"] for h in hidden), hidden
    assert found["family_unticked"] == 1  # sympy, the run's one symbolic method
    # the filter keeps the rows holding every word typed: central's float64 cells (abs and tanh)
    assert found["rows_before"] == 12 and len(found["rows_filtered"]) == 2 == found["rows_sorted"]
    assert all("central" in row and "float64" in row for row in found["rows_filtered"])
    # the other tables' filters: the first (the best steps: central and forward in two dtypes)
    assert found["other_total"] == 4 and len(found["other_rows"]) == 2
    assert all("float32" in row for row in found["other_rows"])


@needs_chromium
def test_screenshot_and_console(report, tmp_path):
    shot = Path(os.environ.get("REPORT_SCREENSHOT") or tmp_path / "report.png")
    shot.parent.mkdir(parents=True, exist_ok=True)
    shot.unlink(missing_ok=True)
    size = f"--window-size={WINDOW[0]},{WINDOW[1]}"
    proc = chromium("--enable-logging=stderr", "--v=0", f"--screenshot={shot}", size, report.as_uri(),
                    profile=tmp_path / "profile-shot")
    assert shot.exists(), f"no screenshot: exit {proc.returncode}\n{proc.stderr[-2000:]}"
    assert console_errors(proc.stderr) == []
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    assert struct.unpack(">II", png[16:24]) == WINDOW
    from PIL import Image

    with Image.open(shot) as image:  # something was drawn: not one flat colour
        low, high = image.convert("L").getextrema()
    assert high - low > 100 and len(png) > 20_000


def test_nothing_is_fetched_from_the_network(report):
    # Vega's own code (inlined, first) has a loader for specs that name URLs; ours name none, and
    # the browser tests check that nothing is fetched
    html = report.read_text(encoding="utf-8")
    vendored = html.index("<script>"), html.index("</script>") + len("</script>")
    assert "vega" in html[vendored[0]:vendored[1]][:5000]
    html = html[:vendored[0]] + html[vendored[1]:]
    remote = r"""(?:https?:)?//"""
    attribute = r"""\b(?:src|href|xlink:href|srcset|poster|data|action)\s*=\s*["']?\s*"""
    assert not re.search(attribute + remote, html, re.I)
    assert not re.search(rf"""url\(\s*["']?\s*{remote}""", html, re.I)
    assert not re.search(r"@import|@font-face|<link\b|<iframe\b|<object\b|<embed\b", html, re.I)
    assert not re.search(r"\bfetch\(|XMLHttpRequest|import\(", html)  # no script loads anything


@needs_chromium
def test_the_checks_catch_errors(tmp_path):
    """A control: a page with a broken script, console.error and a broken image must fail them."""
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><html><head><title>x</title></head><body><p>text</p>"
                    '<img src="data:image/png;base64,iVBORw0KGgo=">'
                    "<script>noSuchFunction()</script><script>console.error('boom')</script></body></html>")
    _, found = dump_dom(page, tmp_path)
    assert any("noSuchFunction" in e for e in found["errors"])
    assert any("console.error: boom" in e for e in found["errors"])
    assert any(e.startswith("resource failed: <IMG>") for e in found["errors"])
    proc = chromium("--enable-logging=stderr", "--v=0", "--dump-dom", page.as_uri(), profile=tmp_path / "p2")
    assert any("noSuchFunction" in line for line in console_errors(proc.stderr))
