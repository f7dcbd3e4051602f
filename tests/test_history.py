"""``diffbench history``: headline figures across the runs in a folder.

One real short run, and a second built from it with known changes (central twice
as slow, forward failed), written with a later time but a run id that sorts first.
"""

from dataclasses import replace

import numpy as np
import pytest

import harness
from harness.read import history
from harness.store import results
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
    meta = replace(first.attrs["meta"], run_id="0-sorts-first-by-name", timestamp=later)
    results.write(second, first.attrs["points"], meta, out)
    return out, first


def test_runs_sorted_by_time_and_headline_figures(folder):
    out, first = folder
    runs = history.load_runs(out)
    assert [m.run_id for m, _ in runs] == [first.attrs["meta"].run_id, "0-sorts-first-by-name"]
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


def _six_runs(base, first, step: bool):
    """Six runs built from one, in time order, each cell's time moved by a few per cent of noise;
    with ``step``, central twice as slow from the fourth run (index 3) on."""
    rng = np.random.default_rng(1)
    for i in range(6):
        cells = first.copy()
        cells["eval_s"] = cells["eval_s"] * np.exp(rng.normal(0, 0.03, len(cells)))
        if step and i >= 3:
            cells.loc[cells["method"] == "central", "eval_s"] *= 2
        meta = replace(first.attrs["meta"], run_id=f"run-{i}", timestamp=f"2999-01-0{i + 1}T00:00:00+00:00")
        results.write(cells, first.attrs["points"], meta, base)
    return base


@pytest.mark.parametrize("step", [True, False])
def test_a_step_at_run_4_is_marked_there_and_nowhere_else(folder, tmp_path, step):
    _, first = folder
    runs_dir = _six_runs(tmp_path / "runs", first, step)
    steps = history.detect_steps(history.load_runs(runs_dir))
    if step:
        central_cells = (first["method"] == "central") & (first["status"] == "ok")
        assert {s["at"] for s in steps} == {3} and all(s["ratio"] == pytest.approx(2, rel=0.1) for s in steps)
        assert sorted(s["what"] for s in steps if s["what"].startswith("method")) == ["method central"]
        assert sum(s["what"].startswith("cell ") for s in steps) == central_cells.sum()
        assert all(" central " in s["what"] for s in steps if s["what"].startswith("cell "))
    else:
        assert steps == []
    out = tmp_path / "history.html"
    proc = run_cli("history", runs_dir, "-o", out, "--fail-on-step")
    assert proc.returncode == (1 if step else 0), proc.stdout + proc.stderr
    html = out.read_text()
    assert ("run-3" in html.split("<h2>Steps</h2>")[1].split("<figure>")[0]) == step
