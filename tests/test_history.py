"""``diffbench history``: headline figures across the runs in a folder.

One real short run, and a second built from it with known changes (central twice
as slow, forward failed), written with a later time but a run id that sorts first.
"""

import pytest

import harness
from harness import history, results
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def folder(tmp_path_factory, fast):
    out = tmp_path_factory.mktemp("history")
    first = harness.run(cases="tanh,square", methods="central,forward", dtypes="float64", orders="1",
                        out=out, timing=fast, sizes="quick")
    second = first.copy()
    second.loc[second["method"] == "central", "eval_s"] *= 2
    second.loc[second["method"] == "forward", "status"] = "failed"
    later = "2999-01-01T00:00:00+00:00"
    meta = {**first.attrs["meta"], "run_id": "0-sorts-first-by-name", "timestamp": later}
    results.write(second, first.attrs["points"], meta, out)
    return out, first


def test_runs_sorted_by_time_and_headline_figures(folder):
    out, first = folder
    runs = history.load_runs(out)
    assert [m["run_id"] for m, _ in runs] == [first.attrs["meta"]["run_id"], "0-sorts-first-by-name"]
    table = history.headline(runs).set_index(["run", "method"])
    central = first[first["method"] == "central"]
    forward = first[first["method"] == "forward"]
    assert table.loc[(0, "central"), "eval_s"] == pytest.approx(central["eval_s"].median())
    assert table.loc[(1, "central"), "eval_s"] == pytest.approx(2 * central["eval_s"].median())
    assert table.loc[(0, "forward"), "digits"] == pytest.approx(forward["digits"].median())
    assert (1, "forward") not in table.index  # no ok cell left in the second run
    counts = history.status_counts(runs)
    n = len(first)
    k = len(forward)
    assert counts.to_dict("records") == [{"ok": n, "failed": 0}, {"ok": n - k, "failed": k}]


def test_history_page(folder, tmp_path):
    out, _ = folder
    proc = run_cli("history", out, cwd=tmp_path)  # default output: reports/history.html
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "reports/history.html"
    html = (tmp_path / "reports" / "history.html").read_text()
    assert html.count("<svg") == html.count("<figure>") == 3  # time, digits, statuses
    assert "0-sorts-first-by-name" in html
    assert "http://" not in html.replace("http://www.w3.org/", "")  # nothing fetched


def test_history_of_a_missing_folder(tmp_path):
    proc = run_cli("history", tmp_path / "nope", "-o", tmp_path / "h.html")
    assert proc.returncode == 2 and "no such folder" in proc.stderr
