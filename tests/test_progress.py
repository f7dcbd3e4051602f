"""The progress bar shows on a terminal only; the end summary counts and names what it should."""

import dataclasses
import io

import pandas as pd

from harness.runner import progress
from harness.store.schema import CellRow


class Terminal(io.StringIO):
    def isatty(self):
        return True


ROW = dict(case="tanh", size="grid=100", method="central", dtype="float64", device="cpu",
           quantity="derivative", order=1, status="failed", message="ValueError: boom", cell_s=0.5)
CELL = CellRow(run_id="r", family="numerical", mode="none", batched="", dim=1, n_points=101, **ROW)


def _feed(stream, monkeypatch, ci):
    monkeypatch.setenv("CI", ci)
    with progress.bar(stream, 2) as done:
        done(CELL)
        done(dataclasses.replace(CELL, status="ok", message=""))
    return stream.getvalue()


def test_bar_on_a_terminal_prints_failures(monkeypatch):
    shown = _feed(Terminal(), monkeypatch, "")
    assert "failed: tanh[grid=100]/central/float64/cpu derivative 1: ValueError: boom" in shown


def test_quiet_under_ci_and_off_a_terminal(monkeypatch):
    assert _feed(Terminal(), monkeypatch, "true") == ""
    assert _feed(io.StringIO(), monkeypatch, "") == ""  # a pipe or a log file
    for ci, shown in (("1", False), ("yes", False), ("false", True), ("0", True)):
        monkeypatch.setenv("CI", ci)
        assert progress.interactive(Terminal()) is shown


def test_log_lines_anywhere(monkeypatch):
    monkeypatch.setenv("CI", "true")
    log = io.StringIO()
    with progress.bar(log, 2, lines=True) as done:
        done(dataclasses.replace(CELL, message="ValueError: boom\n[last output]\nsomething it printed"))
        done(dataclasses.replace(CELL, status="ok", digits=10.2, eval_s=2e-6))
    first, second = log.getvalue().splitlines()
    assert first.startswith("[1/2] tanh[grid=100]/central/float64/cpu derivative 1")
    assert first.endswith("failed: ValueError: boom")
    assert second.startswith("[2/2]") and "10.2 digits" in second and "2.0 µs" in second


def test_summary_counts_statuses_and_lists_the_slowest_first():
    times = [0.1, 9.0, 3.0, 0.2, 5.0, 7.0, 0.3]
    cells = pd.DataFrame([dict(ROW, method=f"m{i}", cell_s=t, status="ok" if i % 2 else "timeout")
                          for i, t in enumerate(times)])
    cells.attrs["points"] = cells.copy()  # as harness.run returns it
    text = progress.summary(cells, 90.0, [("results", "results/x.parquet")]).splitlines()
    assert text[0] == "7 cells in 1.5 min: 4 timeout, 3 ok"
    slowest = [line.split()[0] for line in text[2:7]]
    assert slowest == ["9.0", "7.0", "5.0", "3.0", "0.3"]
    assert text[-1] == "results: results/x.parquet"
