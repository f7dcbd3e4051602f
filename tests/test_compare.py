"""Run-to-run comparison: a method made slower on purpose is flagged, and nothing else is.

Three short real runs (square, order 1, float64: central, forward and the plugin method
``throttled``) differ only in ``DIFFBENCH_TEST_SLOWDOWN``, which makes ``throttled``
take SLOWDOWN times its own time per call.  Accuracy changes, status changes and
unmatched cells are built by editing a copy of a results table.
"""

import math
import os
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from harness.model.registry import UsageError
from harness.read import compare as cmp
from harness.stats.noise import median_interval
from harness.store import results
from tests.conftest import PLUGINS, ROOT, run_cli

PLUGIN = PLUGINS / "throttled.py"
METHODS = ("central", "forward", "throttled")
SLOWDOWN = 200  # ~10 µs a call becomes ~2 ms
# This machine is shared: six runs of the same code gave one cell's 10 µs median from 8.9 to
# 31 µs (3.5×), all of a cell's batches slowed alike, so the tests count only a change beyond
# 11× (the default 10% suits a quiet, dedicated runner).
THRESHOLD = "1000%"
# the exact two-sided p when all 10 new batches (one a round, 10 rounds) exceed all 10 old
P_SEPARATED = 2 / math.comb(20, 10)


def p_separated(n_old: int, n_new: int) -> float:
    """The exact two-sided Mann–Whitney p when every new batch exceeds every old one: 2 / C(n, k).
    A cell's batch count is its task's rounds (10, fewer where they reach their time limit first:
    a 200× slower call on a busy machine may)."""
    return 2 / math.comb(n_old + n_new, n_new)


def _run(out, slowdown):
    env = dict(os.environ, DIFFBENCH_TEST_SLOWDOWN=str(slowdown))
    proc = subprocess.run(
        [sys.executable, "-m", "harness", "run", "--plugin", str(PLUGIN), "--cases", "square", "--methods",
         ",".join(METHODS), "--dtypes", "float64", "--orders", "1", "--out", str(out), "--quiet"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("runs")
    return {"old": _run(base / "old", 1), "same": _run(base / "same", 1),
            "slow": _run(base / "slow", SLOWDOWN)}


def _cells(path):
    return results.read([path])[0]


def test_the_slowed_method_alone_is_slower(runs):
    threshold = cmp.parse_threshold(THRESHOLD)
    compared = cmp.compare(_cells(runs["old"]), _cells(runs["slow"]), threshold=threshold)
    assert sorted(compared["method"]) == sorted(METHODS)
    by_method = compared.set_index("method")
    assert by_method.loc["throttled", "verdict"] == "slower"
    assert by_method.loc["throttled", "ratio"] > 11
    batches = [len(_cells(runs[r]).set_index("method").loc["throttled", "eval_samples_s"])
               for r in ("old", "slow")]
    assert by_method.loc["throttled", "p_value"] == pytest.approx(p_separated(*batches))
    assert list(compared.loc[compared["verdict"] == "slower", "method"]) == ["throttled"]
    assert list(cmp.regressions(compared)["method"]) == ["throttled"]
    # same computation in both runs: the digits did not move
    assert by_method.loc["throttled", "digits_change"] == 0


def test_gate_fails_on_the_slowdown(runs):
    proc = run_cli("compare", runs["old"], runs["slow"], "--threshold", THRESHOLD, "--fail-on-regression")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    changed = [line.split() for line in proc.stdout.splitlines()[1:]]
    assert [(row[0], row[3]) for row in changed if row[0] == "slower"] == [("slower", "throttled")]
    assert "1 regression" in proc.stderr
    # without the flag the table is the same and the status 0
    assert run_cli("compare", runs["old"], runs["slow"], "--threshold", THRESHOLD).returncode == 0


def test_same_code_passes_the_gate(runs):
    proc = run_cli("compare", runs["old"], runs["same"], "--threshold", THRESHOLD, "--fail-on-regression")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "slower" not in proc.stdout
    assert proc.stdout.strip().splitlines()[-1].endswith(f"(of {len(METHODS)} matched)")


def test_the_slowed_method_is_slower_at_the_default_threshold_and_says_why(runs):
    compared = cmp.compare(_cells(runs["old"]), _cells(runs["slow"])).set_index("method")
    row = compared.loc["throttled"]
    # its derivative slowed, its function (timed alongside, the same NumPy f) did not
    assert row.verdict == "slower" and row.norm_ratio > 11 and "derivative/f" in row.why
    assert "beyond" in row.why and "rounds drifted" in row.why  # the bar: 10%, and the rounds' own drift


def _burst(cells, method, factor, f_too):
    """One cell's batches made ``factor`` slower, and its function too when ``f_too``."""
    at = cells.index[cells["method"] == method]
    cells["eval_samples_s"] = cells["eval_samples_s"].astype(object)
    for i in at:
        cells.at[i, "eval_samples_s"] = [t * factor for t in cells.at[i, "eval_samples_s"]]
    cells.loc[at, "eval_s"] *= factor
    if not f_too:
        cells.loc[at, "cost_ratio"] *= factor
    return cells


def test_a_burst_that_slows_the_function_alike_is_the_machine_not_the_method(runs, tmp_path):
    old, machine = _rewritten(runs["old"], tmp_path / "machine", lambda c: _burst(c, "central", 10.0, True))
    compared = cmp.compare(old, _cells(machine)).set_index("method")
    assert compared.loc["central", "verdict"] == "same" and compared.loc["central", "ratio"] > 9.9
    assert "the machine, not the method" in compared.loc["central", "why"]
    assert run_cli("compare", runs["old"], machine, "--fail-on-regression").returncode == 0
    # the same slowdown of the derivative alone is the method's: a checker that can fail
    _, method = _rewritten(runs["old"], tmp_path / "method", lambda c: _burst(c, "central", 10.0, False))
    compared = cmp.compare(old, _cells(method)).set_index("method")
    assert compared.loc["central", "verdict"] == "slower"
    assert run_cli("compare", runs["old"], method, "--fail-on-regression").returncode == 1


def test_an_aa_calibration_raises_the_bar_by_what_each_cell_moved(runs, tmp_path):
    old, moved = _rewritten(runs["old"], tmp_path / "a2", lambda c: _burst(c, "central", 10.0, False))
    _, new = _rewritten(runs["old"], tmp_path / "new", lambda c: _burst(c, "central", 8.0, False))
    plain = cmp.compare(old, _cells(new)).set_index("method")
    assert plain.loc["central", "verdict"] == "slower"  # 8× beyond 10% and the interval; f did not move
    calibrated = cmp.compare(old, _cells(new), noise=(old, _cells(moved))).set_index("method")
    # central moved 10× between the A runs: 8× is within its noise (1.1 × 10)
    assert calibrated.loc["central", "verdict"] == "same"
    assert calibrated.loc["central", "noise_floor"] == pytest.approx(math.log(10.0))
    assert "A/A noise 10×" in calibrated.loc["central", "why"]
    proc = run_cli("compare", runs["old"], new, "--noise", runs["old"], moved, "--fail-on-regression")
    assert proc.returncode == 0, proc.stdout


def test_overlapping_intervals_are_not_a_change(runs, tmp_path):
    def quick_batches(cells):  # slower 10×, but two batches below the old interval's top
        i = cells.index[cells["method"] == "central"][0]
        top_before = median_interval(cells.at[i, "eval_samples_s"]).hi_s  # of 10: the 9th smallest
        cells = _burst(cells, "central", 10.0, False)
        samples = list(cells.at[i, "eval_samples_s"])
        samples[-2:] = [top_before * 0.999] * 2  # the new interval's bottom (the 2nd smallest) is one
        cells.at[i, "eval_samples_s"] = samples
        return cells

    old, new = _rewritten(runs["old"], tmp_path / "overlap", quick_batches)
    row = cmp.compare(old, _cells(new)).set_index("method").loc["central"]
    assert row.ratio > 9.9 and row.p_value < 0.05 and row.norm_ratio > 9.9  # every other test says slower
    assert row.verdict == "same" and row.why.endswith("the medians' intervals overlap")
    # all ten batches slower: the intervals part, and the same cell is slower (a check that can fail)
    _, apart = _rewritten(runs["old"], tmp_path / "apart", lambda c: _burst(c, "central", 10.0, False))
    assert cmp.compare(old, _cells(apart)).set_index("method").loc["central", "verdict"] == "slower"


def _rewritten(path, out, edit):
    """A copy of the run at ``path`` with ``edit(cells)`` applied, written as a new run."""
    cells, points, metas = results.read([path])
    meta = replace(metas[0], run_id="edited")
    return cells, results.write(edit(cells.copy()), points, meta, out)


def test_lost_digits_are_flagged(runs, tmp_path):
    def lose(cells):
        cells.loc[cells["method"] == "forward", "digits"] -= 3  # beyond the tolerance of 1
        cells.loc[cells["method"] == "central", "digits"] -= 0.5  # within it
        return cells

    old, path = _rewritten(runs["old"], tmp_path, lose)
    compared = cmp.compare(old, _cells(path)).set_index("method")
    # identical timing samples on both sides (a copy): no timing verdict can arise
    assert dict(compared["verdict"]) == {"forward": "less accurate", "central": "same", "throttled": "same"}
    assert compared.loc["forward", "digits_change"] == pytest.approx(-3)
    assert compared.loc["throttled", "p_value"] == 1.0 and compared.loc["throttled", "ratio"] == 1.0
    assert run_cli("compare", runs["old"], path, "--fail-on-regression").returncode == 1
    assert run_cli("compare", runs["old"], path, "--digits-tol", "4", "--fail-on-regression").returncode == 0
    # the other way round: more accurate, not a regression
    back = cmp.compare(_cells(path), old).set_index("method")
    assert back.loc["forward", "verdict"] == "more accurate" and cmp.regressions(back).empty


def test_status_changes_and_unmatched_cells(runs, tmp_path):
    def edit(cells):
        forward = cells["method"] == "forward"
        cells.loc[forward, ["status", "digits", "eval_s"]] = ["failed", math.nan, math.nan]
        return cells[cells["method"] != "central"]

    old, path = _rewritten(runs["old"], tmp_path, edit)
    compared = cmp.compare(old, _cells(path))
    assert dict(zip(compared["method"], compared["verdict"])) == {
        "forward": "status changed", "central": "only old", "throttled": "same"}
    assert list(cmp.regressions(compared)["method"]) == ["forward"]  # ok → failed; a vanished cell is not
    assert set(compared["verdict"]) <= set(cmp.VERDICTS)
    reverse = cmp.compare(_cells(path), old)
    assert dict(zip(reverse["method"], reverse["verdict"]))["central"] == "only new"
    assert cmp.regressions(reverse).empty  # failed → ok is a fix
    # the counts: of the 2 cells in both runs 1 changed; the one in one run only is counted apart
    assert cmp.format_table(compared).splitlines()[-1] == \
        "1 cells changed, 1 unchanged (of 2 matched); 1 only in the old run, 0 only in the new"
    assert "only old" not in cmp.format_table(compared)  # counted, not listed


def test_digits_capped_and_missing():
    import pandas as pd

    def cells(digits, samples):
        return pd.DataFrame({"case": ["c"] * 2, "size": ["", "n=3"], "method": ["m"] * 2,
                             "quantity": ["derivative"] * 2, "order": [1, 1], "dtype": ["float64"] * 2,
                             "device": ["cpu"] * 2, "status": ["ok"] * 2, "eval_s": [1.0, 1.0],
                             "eval_samples_s": [samples, samples], "digits": digits})

    # 17 is the cap (exact): 25 reads as 17; NaN on both sides is no change; no samples, no test
    compared = cmp.compare(cells([17.0, math.nan], math.nan), cells([25.0, math.nan], math.nan))
    assert list(compared["size"]) == ["", "n=3"]
    assert list(compared["digits_change"]) == [0, 0] and list(compared["verdict"]) == ["same", "same"]
    assert compared["p_value"].isna().all()


def test_p_value():
    assert cmp.p_value(list(range(1, 11)), list(range(11, 21))) == pytest.approx(P_SEPARATED)
    assert cmp.p_value([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]) == pytest.approx(2 / math.comb(10, 5))  # quick: 5
    assert cmp.p_value([1, 2, 3], [4, 5, 6]) == pytest.approx(2 / math.comb(6, 3))  # 0.1: never < 0.05
    assert math.isnan(cmp.p_value(math.nan, [1, 2, 3]))
    assert math.isnan(cmp.p_value(None, [1, 2, 3]))


@pytest.mark.parametrize("text, value", [("10%", 0.1), ("0.1", 0.1), (" 250% ", 2.5), ("0", 0.0)])
def test_parse_threshold(text, value):
    assert cmp.parse_threshold(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["ten", "-5%", "%", "nan", "inf"])
def test_bad_threshold(text):
    with pytest.raises(UsageError, match="threshold"):
        cmp.parse_threshold(text)


@pytest.mark.parametrize("args, message", [
    (["--threshold", "lots"], "threshold must be a fraction or a percentage"),
    (["--alpha", "1.5"], "--alpha must lie between 0 and 1"),
    (["--digits-tol", "-1"], "--digits-tol must be a non-negative number"),
])
def test_bad_options_are_one_line_and_status_2(runs, args, message):
    proc = run_cli("compare", runs["old"], runs["same"], *args)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and message in lines[0], proc.stderr


def test_missing_results_are_status_2(tmp_path):
    proc = run_cli("compare", tmp_path / "nope", tmp_path / "nope2")
    assert proc.returncode == 2 and "no such results file or folder" in proc.stderr


def test_report_with_baseline(runs, tmp_path):
    out = tmp_path / "report.html"
    proc = run_cli("report", runs["slow"], "--baseline", runs["old"], "-o", out)
    assert proc.returncode == 0, proc.stderr
    html = out.read_text()
    assert '<h2 id="comparison">Comparison with baseline</h2>' in html
    assert 'href="#comparison"' in html  # in the table of contents
    section = html[html.index('id="comparison"'):html.index('<h2 id="reading"')]
    assert "throttled" in section and ">slower<" in section
    assert f"{len(METHODS)} cells:" in section


def test_a_change_within_how_far_the_methods_own_rounds_drifted_is_not_counted(runs, tmp_path):
    def drifted(cells):  # central 10× slower, and in this run its later rounds 12× its earlier ones
        cells = _burst(cells, "central", 10.0, False)
        i = cells.index[cells["method"] == "central"][0]
        t, n = cells.at[i, "eval_s"], len(cells.at[i, "eval_samples_s"])
        in_rounds = np.argsort(cells.at[i, "eval_round_ids"], kind="stable")  # the samples' rounds, in order
        samples = np.empty(n)
        samples[in_rounds] = [t] * (n // 2) + [12 * t] * (n - n // 2)  # first half t, second 12 t
        cells.at[i, "eval_samples_s"] = samples.tolist()
        return cells

    old, new = _rewritten(runs["old"], tmp_path / "drift", drifted)
    row = cmp.compare(old, _cells(new)).set_index("method").loc["central"]
    # the halves' medians are t and 12 t: a drift of 12×, its method's only cell, so its floor
    assert row.drift_floor == pytest.approx(math.log(12.0))
    assert row.verdict == "same" and "central's rounds drifted 12×" in row.why and "within" in row.why
    # the same 10× with rounds that agreed is slower (test_overlapping_intervals_are_not_a_change)


def test_the_drift_of_a_cell_is_its_halves_medians_apart():
    import pandas as pd

    samples = [[4.0, 1.0, 3.0, 2.0], [1.0, 1.0, 1.0, 1.0, 5.0], [1.0, 9.0, 9.0, 9.0], [1.0, 2.0, 3.0]]
    cells = pd.DataFrame({"method": ["m", "m", "m", "q"], "status": ["ok", "ok", "failed", "ok"],
                          "eval_samples_s": samples,
                          "eval_round_ids": [[3, 0, 2, 1], [0, 1, 2, 3, 4], [0, 1, 2, 3], [0, 1, 2]]})
    floor = cmp.drift_floor(cells)
    # m's first cell, rounds 0–3 at 1, 2, 3, 4 recorded out of order: halves (1, 2) and (3, 4), medians
    # 1.5 and 3.5, log(7/3); its second, the middle of 5 left out: (1, 1) against (1, 5), medians 1 and
    # 3, log 3.  The failed cell is not counted, nor q's of 3 batches.  The 90th percentile of the two:
    assert list(floor.index) == ["m"]
    assert floor["m"] == pytest.approx(math.log(7 / 3) + 0.9 * (math.log(3) - math.log(7 / 3)))


def test_a_change_of_clock_between_the_runs_is_said(runs, tmp_path):
    def by_wall(cells):
        cells["timing_clock"] = "wall"
        return cells
    old, wall = _rewritten(runs["old"], tmp_path / "wall", by_wall)
    assert set(old["timing_clock"].dropna()) == {"cpu"}  # one CPU thread: its CPU time
    compared = cmp.compare(old, _cells(wall)).set_index("method")
    assert "timed by the cpu clock, then the wall clock" in compared.loc["central", "why"]
    same = cmp.compare(old, _cells(runs["same"])).set_index("method")
    assert "clock" not in same.loc["central", "why"]
