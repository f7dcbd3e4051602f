"""No script injection anywhere: strings diffbench did not write itself — a plugin's names,
descriptions, exception messages and printed output, a results file edited by hand, an
``--input`` file's path — reach every HTML page as text, and every terminal line without its
escape sequences and control characters.

The pages are also opened in headless Chromium by tests/test_report_browser_injection.py.
"""

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

import harness
from harness.read.report import write_report
from tests.conftest import PLUGINS, run_cli

HOSTILE_PLUGIN = PLUGINS / "hostile.py"
# what tests/plugins/hostile.py puts in its strings (not imported: importing registers them)
SCRIPT = "</script><script>document.title='pwned'</script>"
IMG = "<img src=x onerror=alert(1)>"
COMMENT = "--><!--<script>"
QUOTE = "\" onmouseover=\"document.title='pwned'\" x=\""
SVG = "<svg onload=document.title='pwned'>"
ANSI = "\x1b[2J\x1b[31mred\x1b[0m\r\x07"
PAYLOAD = f"{SCRIPT}{IMG}{COMMENT}{QUOTE}"
# what must never appear in a page outside the vendored Vega: markup that runs
ACTIVE = ["<script>document.title", "<img src=x", "<svg onload", "<!--<script>", 'onmouseover="document']
FAST = {"rounds": 5, "min_batch_s": 0.002}
TERMINAL_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # \n ends lines, nothing else


# --- building the hostile results and pages (tests/test_report_browser_injection.py reuses these)

def hostile_run(folder: Path) -> Path:
    """A run of tests/plugins/hostile.py: its case under a correct, a failing (raising and
    printing) and an unavailable method; returns the results file."""
    df = harness.run(cases="hostile*", methods="evil*,broken*,missing*,central", plugins=[HOSTILE_PLUGIN],
                     dtypes="float64", out=folder, timing=FAST)
    assert set(df["status"]) == {"ok", "failed", "unavailable"}
    return Path(df.attrs["path"])


def plain_run(folder: Path) -> Path:
    """A tiny ordinary run with a failed cell (SymPy on |x|); returns the results file."""
    df = harness.run(cases="abs,tanh", methods="sympy,central", dtypes="float64", orders="1", out=folder,
                     timing=FAST, sizes="quick")
    assert "failed" in set(df["status"])
    return Path(df.attrs["path"])


def craft(results: Path, folder: Path, meta=None, cells=None, name=None) -> Path:
    """A copy of a run's files in ``folder``, its cells file rewritten as by hand: ``meta`` (a dict)
    updates the metadata, ``cells`` ({row: {column: value}}) sets values; returns the cells file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from harness.store.schema import META_KEY

    folder.mkdir(parents=True, exist_ok=True)
    run_id = results.name.removesuffix(".parquet")
    for f in results.parent.glob(f"{run_id}.*"):
        if f.name.endswith(".parquet"):
            shutil.copy(f, folder / f.name)
    target = folder / (name or results.name)
    table = pq.read_table(results)
    columns = {}
    for row, values in (cells or {}).items():
        for column, value in values.items():
            columns.setdefault(column, table.column(column).to_pylist())[row] = value
    for column, values in columns.items():
        i = table.schema.get_field_index(column)
        table = table.set_column(i, column, pa.array(values, type=table.schema.field(column).type))
    metadata = dict(table.schema.metadata)
    metadata[META_KEY] = json.dumps({**json.loads(metadata[META_KEY]), **(meta or {})}).encode()
    pq.write_table(table.replace_schema_metadata(metadata), target)
    if name and name != results.name:
        (folder / results.name).unlink()
    return target


def failed_row(results: Path) -> int:
    import pyarrow.parquet as pq

    return pq.read_table(results).column("status").to_pylist().index("failed")


def crafted_run(plain: Path, folder: Path) -> Path:
    """The plain run's file with a hostile host and a failed cell's hostile message."""
    return craft(plain, folder, meta={"host": f"host {PAYLOAD}{ANSI}", "os": f"os {SCRIPT}"},
                 cells={failed_row(plain): {"message": f"message {PAYLOAD}{ANSI}"}})


def gmm_input(folder: Path) -> Path:
    """A gradbench gmm input file under folders named as markup (no `/` in a file's name)."""
    from cases.gradbench import f32, gmm_generate

    where = folder / IMG / SVG
    where.mkdir(parents=True)
    data = {k: (f32(v).tolist() if isinstance(v, np.ndarray) else v)
            for k, v in gmm_generate(2, 5, 10).items()}
    path = where / "gmm.json"
    path.write_text(json.dumps({"kind": "evaluate", "module": "gmm", "function": "objective", "input": data}))
    return path


def input_run(folder: Path) -> Path:
    df = harness.run(input=str(gmm_input(folder)), methods="central", dtypes="float64", out=folder / "run",
                     timing=FAST)
    assert list(df["status"]) == ["ok"] and IMG in df["size"].iloc[0]
    return Path(df.attrs["path"])


def history_folder(plain: Path, folder: Path) -> Path:
    """Four runs of the crafted file, the method of one cell renamed with escape sequences and
    slowed threefold from the third: a step the history page and its terminal line report."""
    import pyarrow.parquet as pq

    eval_s = pq.read_table(plain).column("eval_s").to_pylist()
    row = pq.read_table(plain).column("status").to_pylist().index("ok")
    for i in range(4):
        cells = {row: {"method": f"central{ANSI}", "eval_s": eval_s[row] * (3 if i >= 2 else 1)},
                 failed_row(plain): {"message": f"message {PAYLOAD}{ANSI}"}}
        craft(plain, folder, name=f"run{i}.parquet", cells=cells,
              meta={"host": f"host {PAYLOAD}{ANSI}", "run_id": f"run{i}{IMG}{ANSI}",
                    "timestamp": f"2030-01-0{i + 1}T00:00:00 {IMG}"})
    return folder


# --- fixtures

@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Path:
    return hostile_run(tmp_path_factory.mktemp("hostile"))


@pytest.fixture(scope="module")
def plain(tmp_path_factory) -> Path:
    return plain_run(tmp_path_factory.mktemp("plain"))


@pytest.fixture(scope="module")
def crafted(plain, tmp_path_factory) -> Path:
    return crafted_run(plain, tmp_path_factory.mktemp("crafted"))


def assert_inert(page: str, scripts: int) -> str:
    """No markup from the data in ``page`` (its vendored Vega aside), and only its own
    ``scripts`` script elements; returns the page without the vendored code."""
    start = page.find("<script>")
    if start >= 0 and "vega" in page[start:start + 5000]:
        page = page[:start] + page[page.index("</script>", start) + len("</script>"):]
    for active in ACTIVE:
        assert active not in page, (active, page[max(0, page.index(active) - 200):page.index(active) + 100])
    assert len(re.findall(r"<script\b", page, re.I)) == scripts
    assert len(re.findall(r"</script", page, re.I)) == scripts
    return page


def inline_json(page: str) -> dict:
    """The page's inline JSON, parsed; no `<`, `>` or `&` left raw in it."""
    found = dict(re.findall(r'<script id="([^"]+)" type="application/json">(.*?)</script>', page, re.S))
    assert found
    for name, text in found.items():
        assert not re.search("[<>&\u2028\u2029]", text), name
    return {name: json.loads(text) for name, text in found.items()}


REPORT_SCRIPTS = 5  # besides the vendored Vega: the four JSON blocks and the page's own script


# --- (a) a plugin's strings

def test_a_hostile_plugins_strings_are_text_in_the_report(hostile, tmp_path):
    page = write_report([hostile], tmp_path / "r.html").read_text(encoding="utf-8")
    assert_inert(page, REPORT_SCRIPTS)
    data = inline_json(page)
    strings = data["cells-data"]["strings"]  # the data come back whole, escaped or not
    assert f"hostile{SCRIPT}{IMG}" in strings and f"evil{SCRIPT}{IMG}" in strings
    assert any(s.startswith(f"ValueError: raised {PAYLOAD}") for s in strings)
    # shown as text in the tables: the names, the formula, the description, the failure, the hint
    for text in (f"hostile{SCRIPT}{IMG}", f"tanh(x) {PAYLOAD}", f"described {PAYLOAD}",
                 f"raised {PAYLOAD}", f"printed {PAYLOAD}", f"hint {PAYLOAD}", f"note {PAYLOAD}"):
        assert escaped(text) in page, text


def escaped(text: str) -> str:
    """``text`` as the pages' templates escape it."""
    from markupsafe import escape

    return str(escape(text))


def test_chart_expressions_name_no_data():
    """Vega expressions are code: a dtype or device read from a results file is a parameter's
    value, never spliced into a filter (``datum.device === '…'``)."""
    from harness.read.report import charts

    device = "cpu' || alert(1) || '"
    dtype = "float64\" || alert(1) || \""
    styles = charts.palette(["central"], {"central": "numerical"})
    specs = [charts.timing_spec(dtype, device, ["t"], styles),
             charts.accuracy_cost_spec(dtype, device, styles),
             charts.sweep_spec("elementwise derivatives", "time", styles, dtype=dtype, device=device)]

    def expressions(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("filter", "calculate", "expr", "test") and isinstance(value, str):
                    yield value
                else:
                    yield from expressions(value)
        elif isinstance(node, list):
            for value in node:
                yield from expressions(value)

    for spec in specs:
        found = list(expressions(spec))
        assert found and not [e for e in found if "alert" in e], found
        values = [p.get("value") for p in spec["params"]]
        assert device in values and dtype in values  # each a parameter's value, which a filter names


# --- (b) a results file edited by hand

def test_a_hand_edited_results_file_is_text_in_the_report(crafted, tmp_path):
    page = write_report([crafted], tmp_path / "r.html").read_text(encoding="utf-8")
    assert_inert(page, REPORT_SCRIPTS)
    inline_json(page)
    assert escaped(f"host {PAYLOAD}") in page and escaped(f"message {PAYLOAD}") in page


def test_the_comparison_section_is_text(crafted, hostile, tmp_path):
    page = write_report([crafted], tmp_path / "r.html", baseline=[hostile]).read_text(encoding="utf-8")
    body = assert_inert(page, REPORT_SCRIPTS)
    section = body[body.index('id="comparison"'):body.index("</table>", body.index('id="comparison"'))]
    assert escaped(f"hostile{SCRIPT}{IMG}") in section  # the baseline's cells, in the new run no more


def test_the_history_page_is_text_and_its_step_line_plain(plain, tmp_path):
    folder = history_folder(plain, tmp_path / "runs")
    out = tmp_path / "history.html"
    proc = run_cli("history", folder, "-o", out, "--fail-on-step")
    assert proc.returncode == 1, proc.stderr  # the method's step lasts to the last run
    assert "step: method central" in proc.stderr
    assert not TERMINAL_CONTROL.search(proc.stderr + proc.stdout), repr(proc.stderr)
    page = out.read_text(encoding="utf-8")
    assert_inert(page, 0)
    assert escaped(f"host {PAYLOAD}") in page


# --- (c) an --input file's path

def test_an_input_files_path_is_text_in_the_report(tmp_path):
    page = write_report([input_run(tmp_path)], tmp_path / "r.html").read_text(encoding="utf-8")
    assert_inert(page, REPORT_SCRIPTS)
    assert IMG in inline_json(page)["cells-data"]["strings"][1]
    assert escaped(f"{IMG}/{SVG}/gmm.json") in page


# --- the terminal

def test_compare_prints_no_control_characters(plain, tmp_path):
    row = pq_rows(plain).index("ok")
    method = f"central{ANSI}"
    old = craft(plain, tmp_path / "old", cells={row: {"method": method}})
    new = craft(plain, tmp_path / "new", cells={row: {"method": method, "status": "failed",
                                                     "message": f"boom{ANSI}"}})
    proc = run_cli("compare", old, new)
    assert proc.returncode == 0, proc.stderr
    assert "status changed" in proc.stdout and "centralred" in proc.stdout  # the row is there, plain
    assert not TERMINAL_CONTROL.search(proc.stdout), repr(proc.stdout)


def pq_rows(results: Path, column: str = "status") -> list:
    import pyarrow.parquet as pq

    return pq.read_table(results).column(column).to_pylist()


def test_a_runs_lines_print_no_control_characters(tmp_path):
    proc = run_cli("run", "--plugin", HOSTILE_PLUGIN, "--cases", "hostile*", "--methods", "evil*,broken*",
                   "--dtypes", "float64", "--in-process", "--log", "--out", tmp_path, "--no-step-sweep")
    assert proc.returncode == 0, proc.stderr
    assert "failed: ValueError: raised" in proc.stderr  # the log line of the failed cell
    assert not TERMINAL_CONTROL.search(proc.stderr + proc.stdout), repr(proc.stderr)


def test_progress_and_summary_lines_are_plain():
    import pandas as pd

    from harness.runner import progress

    row = {"case": f"hostile{ANSI}", "size": f"input=/{ANSI}", "method": f"m{ANSI}", "dtype": "float64",
           "device": "cpu", "quantity": "derivative", "order": 1, "status": "failed",
           "message": f"boom{ANSI}\n[last output]\n{ANSI}", "digits": np.nan, "eval_s": np.nan, "cell_s": 1.0}
    lines = [progress.line(1, 1, row), progress.cell_name(row),
             progress.summary(pd.DataFrame([row]), 1.0, [("results", f"x{ANSI}")])]
    for text in lines:
        assert not TERMINAL_CONTROL.search(text), repr(text)
    assert "boomred" in lines[0]


def test_the_progress_bar_shows_names_as_typed(monkeypatch):
    """Rich's markup in a name (a hyperlink, a style) is shown as typed, not turned into escapes."""
    import io

    from harness.runner import progress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    class Row:
        def to_dict(self):
            return {"case": "[link=http://example.com]case[/link]", "size": "", "method": "[bold]m",
                    "dtype": "float64", "device": "cpu", "quantity": "derivative", "order": 1,
                    "status": "failed", "message": f"boom{ANSI}"}

    monkeypatch.delenv("CI", raising=False)
    terminal = Terminal()
    with progress.bar(terminal, 2) as done:
        done(Row())
    shown = terminal.getvalue()
    assert "[link=http://example.com]case[/link]/[bold]m" in shown
    assert "\x1b]8" not in shown and "\x1b[1m" not in shown and "boomred" in shown


def test_merges_message_is_plain(crafted, tmp_path):
    a = craft(crafted, tmp_path / "a")
    b = craft(crafted, tmp_path / "b")
    proc = run_cli("merge", a, b, "-o", tmp_path / "merged")  # the same cells twice from one host
    assert proc.returncode == 2 and "more than once" in proc.stderr
    assert "host host" in proc.stderr and not TERMINAL_CONTROL.search(proc.stderr), repr(proc.stderr)


def test_printable_strips_escapes_and_controls():
    from harness.store.text import printable

    assert printable("\x1b[2J\x1b[31mred\x1b[0m\r\x07!") == "red !"
    assert printable("a\x1b]0;title\x07b\x1b]8;;http://x\x1b\\c") == "abc"
    assert printable("line\nbreak\ttab\u2028end") == "line break tab end"
    assert printable("µs → ∞, 10⁻⁵") == "µs → ∞, 10⁻⁵"  # text itself is kept


def test_a_hand_edited_run_id_names_no_other_folder(plain, tmp_path, monkeypatch):
    """The default report file is named after the run id: one edited to hold "../" still lands in
    reports/, and an error that quotes a file's text is one plain line."""
    evil = craft(plain, tmp_path / "evil", meta={"run_id": "../../escaped\x1b[2J"})
    monkeypatch.chdir(tmp_path)
    proc = run_cli("report", evil)
    assert proc.returncode == 0, proc.stderr
    (page,) = (tmp_path / "reports").iterdir()
    assert page.name == "_.._escaped__2J.html"  # "/", ESC and "[" made plain, no leading dot
    assert not (tmp_path.parent / "escaped.html").exists() and not list(tmp_path.glob("escaped*"))
    bad = craft(plain, tmp_path / "bad", meta={"schema_version": "9\x1b[2J\rX"})
    proc = run_cli("report", bad)
    assert proc.returncode == 2 and "\x1b" not in proc.stderr and "\r" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
