"""No script injection, in a real browser: headless Chromium opens the report of a hostile plugin's
run, of a results file edited by hand (with a comparison), of an ``--input`` file under folders
named as markup, and the history page of hand-edited runs; none runs a script of theirs, fires a
dialog, changes the title or adds an element, and each shows the strings as text.

The runs and files are tests/test_injection.py's; the browser is tests/test_report_browser.py's
(Debian's ``chromium``: without it these tests are skipped, and say why).
"""

import html as html_lib
import json
import re

import pytest

from harness.read.report import write_report
from tests.test_injection import (
    COMMENT,
    IMG,
    QUOTE,
    SCRIPT,
    SVG,
    crafted_run,
    history_folder,
    hostile_run,
    input_run,
    plain_run,
)
from tests.test_report_browser import chromium, needs_chromium

pytestmark = needs_chromium

# First in <head>: every dialog recorded instead of shown (an injected onerror=alert(1) is seen
# here), every uncaught error kept; once loaded and every chart drawn, what the page holds is
# written into <pre id="__injection_check"> for --dump-dom to print.
PROBE = """<script>
window.__dialogs = []; window.__errors = [];
["alert", "confirm", "prompt", "print", "open"].forEach(function (name) {
  window[name] = function (m) { window.__dialogs.push(name + "(" + m + ")"); };
});
window.addEventListener("error", function (e) {
  window.__errors.push(e.message ? e.message : "resource failed: <" + (e.target || {}).tagName + ">");
}, true);
window.addEventListener("load", function () { setTimeout(function () {
  var drawn = window.diffbenchDrawAll ? window.diffbenchDrawAll() : Promise.resolve([]);
  drawn.catch(function (e) { window.__errors.push("charts: " + e); return []; }).then(function (views) {
    var filter = document.getElementById("cells-table-filter");  // the cells table, drawn again
    if (filter) { filter.value = "hostile"; filter.dispatchEvent(new Event("input")); }
    var handlers = Array.prototype.filter.call(document.querySelectorAll("*"), function (el) {
      return Array.prototype.some.call(el.attributes, function (a) { return /^on/i.test(a.name); });
    });
    var seen = {title: document.title, dialogs: window.__dialogs, errors: window.__errors,
                images: document.querySelectorAll("img, image, iframe, object, embed").length,
                handlers: handlers.map(function (el) { return el.outerHTML.slice(0, 200); }),
                scripts: document.scripts.length, charts: views.length,
                svgs: document.querySelectorAll("div.vl svg").length,
                cells: Array.prototype.map.call(document.querySelectorAll("#cells-table tbody tr"),
                                                function (tr) { return tr.textContent; }),
                text: document.body.innerText};
    var out = document.createElement("pre");
    out.id = "__injection_check";
    out.textContent = JSON.stringify(seen);
    document.body.appendChild(out);
  });
}, 200); });
</script>"""


def open_page(page, tmp_path) -> dict:
    """What ``page`` holds once loaded, its charts drawn, in headless Chromium."""
    probed = tmp_path / f"probed-{page.name}"
    html = page.read_text(encoding="utf-8")
    probed.write_text(html.replace("<head>", "<head>" + PROBE, 1), encoding="utf-8")
    proc = chromium("--virtual-time-budget=20000", "--dump-dom", probed.as_uri(),
                    profile=tmp_path / "profile")
    found = re.search(r'<pre id="__injection_check">(.*?)</pre>', proc.stdout, re.S)
    assert found, f"the probe did not run: exit {proc.returncode}\n{proc.stderr[-2000:]}"
    return json.loads(html_lib.unescape(found.group(1)))


def assert_inert(seen: dict, title: str, scripts: int, shown: list[str]) -> None:
    assert seen["title"] == title
    assert seen["dialogs"] == [] and seen["errors"] == [], (seen["dialogs"], seen["errors"])
    assert seen["images"] == 0 and seen["handlers"] == [], seen["handlers"]
    assert seen["scripts"] == scripts + 1  # the page's own and the probe
    assert seen["svgs"] == seen["charts"]  # every chart drawn
    for text in shown:
        assert text in seen["text"], text


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs")
    plain = plain_run(folder / "plain")
    return {"hostile": hostile_run(folder / "hostile"), "plain": plain,
            "crafted": crafted_run(plain, folder / "crafted")}


REPORT_SCRIPTS = 6  # Vega, the four JSON blocks and the page's own script


def title(results) -> str:
    return f"diffbench report — {results.name.removesuffix('.parquet')}"


def test_a_hostile_plugins_report(runs, tmp_path):
    page = write_report([runs["hostile"]], tmp_path / "hostile.html")
    seen = open_page(page, tmp_path)
    assert_inert(seen, title(runs["hostile"]), REPORT_SCRIPTS,
                 [f"hostile{SCRIPT}{IMG}", f"evil{SCRIPT}{IMG}", f"described {SCRIPT}{IMG}{COMMENT}{QUOTE}",
                  f"raised {SCRIPT}{IMG}", f"hint {SCRIPT}{IMG}"])
    assert seen["charts"] >= 3
    # the cells table (drawn by the page's script) shows the names and the messages as text
    assert len(seen["cells"]) == 4 and any(f"raised {SCRIPT}{IMG}" in row for row in seen["cells"])


def test_a_hand_edited_results_file_with_a_comparison(runs, tmp_path):
    page = write_report([runs["crafted"]], tmp_path / "crafted.html", baseline=[runs["hostile"]])
    seen = open_page(page, tmp_path)
    assert_inert(seen, title(runs["crafted"]), REPORT_SCRIPTS,
                 [f"host {SCRIPT}{IMG}{COMMENT}{QUOTE}", f"message {SCRIPT}{IMG}", f"os {SCRIPT}",
                  f"hostile{SCRIPT}{IMG}"])  # the comparison's rows: the baseline's cells


def test_an_input_files_path(tmp_path):
    results = input_run(tmp_path)
    seen = open_page(write_report([results], tmp_path / "input.html"), tmp_path)
    assert_inert(seen, title(results), REPORT_SCRIPTS, [f"{IMG}/{SVG}/gmm.json"])


def test_the_history_page(runs, tmp_path):
    from harness.read.history import write_history

    page, _ = write_history(history_folder(runs["plain"], tmp_path / "history"), tmp_path / "history.html")
    seen = open_page(page, tmp_path)
    assert_inert(seen, "diffbench history — 4 runs", 0, [f"host {SCRIPT}{IMG}{COMMENT}{QUOTE}", f"run3{IMG}"])
