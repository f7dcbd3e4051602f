"""An interruption never loses a finished cell (issue: Ctrl-C, a scheduler's SIGTERM or SIGUSR2,
a kill during a resume's start; harness.host.limits, harness.runner.loop, harness.runner.journal)."""

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from harness.cli import main
from harness.runner import journal
from harness.runner.journal import Journal
from harness.store.meta import RunMeta
from harness.store.schema import JOURNAL_SUFFIX, KEY, CellRow
from tests.conftest import ROOT

SLEEPY = Path(__file__).parent / "plugins" / "sleepy.py"


def _start(*args, out, env=None):
    return subprocess.Popen([sys.executable, "-m", "harness", "run", *map(str, args), "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            env={**os.environ, **(env or {})})


def _finished_lines(proc, n: int) -> list[str]:
    """The first ``n`` per-cell log lines (`--log`), as they come."""
    seen = []
    for line in proc.stderr:
        if line.startswith("["):
            seen.append(line)
            if len(seen) == n:
                break
    return seen


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM", "SIGUSR2"])
def test_a_stop_while_a_worker_is_busy_keeps_every_finished_cell(sig, tmp_path):
    """central's cell finishes, then sleepy's is in flight in its worker (2 s) when the signal comes:
    the run writes what finished and exits 130 (it read the busy worker's late answer as the answer
    to its question about the backends, and failed, before)."""
    proc = _start("--plugin", SLEEPY, "--cases", "tanh,cubic", "--methods", "central,sleepy", "--dtypes",
                  "float64", "--orders", "1", "--sizes", "quick", "--no-step-sweep", "--log", out=tmp_path,
                  env={"DIFFBENCH_TEST_SLEEP": "0.5"})
    logged = _finished_lines(proc, 1)
    time.sleep(0.5)  # sleepy's cell is now being measured
    proc.send_signal(getattr(signal, sig))
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted: keeping" in err and "Traceback" not in err
    cells = pd.read_parquet(out.strip().splitlines()[0])
    assert len(cells) >= len(logged) and (cells.status == "ok").all()
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*.tmp"))


def test_a_stop_before_the_first_cell_writes_a_results_file_of_no_cells(tmp_path):
    proc = _start("--plugin", SLEEPY, "--cases", "tanh", "--methods", "sleepy", "--dtypes", "float64",
                  "--orders", "1", "--sizes", "quick", "--no-step-sweep", out=tmp_path,
                  env={"DIFFBENCH_TEST_SLEEP": "2"})
    time.sleep(3)  # started, its first cell not finished
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    path = out.strip().splitlines()[0]
    assert len(pd.read_parquet(path)) == 0
    _readable_by_every_reader(path, tmp_path)


def test_an_empty_shard_is_a_results_file_of_no_cells(tmp_path, capsys):
    assert main(["run", "--cases", "cubic", "--methods", "central", "--dtypes", "float64", "--orders", "1",
                 "--sizes", "quick", "--shard", "10/10", "--no-step-sweep", "--out", str(tmp_path),
                 "--in-process", "--quiet"]) == 0
    (path,) = [p for p in tmp_path.glob("*.parquet") if p.name.count(".") == 1]
    assert len(pd.read_parquet(path)) == 0
    assert not list(tmp_path.glob("*.journal.jsonl"))
    _readable_by_every_reader(path, tmp_path)


def _readable_by_every_reader(path, tmp_path):
    path = str(path)
    assert main(["report", path, "-o", str(tmp_path / "empty.html")]) == 0
    assert "0 cells" in (tmp_path / "empty.html").read_text(encoding="utf-8")
    assert main(["merge", path, "-o", str(tmp_path / "merged" / "m.parquet")]) == 0
    assert len(pd.read_parquet(tmp_path / "merged" / "m.parquet")) == 0
    assert main(["compare", path, path, "--fail-on-regression"]) == 0


def _row(i: int) -> CellRow:
    return CellRow(run_id="r", case="tanh", size=f"grid={i}", method="central", family="numerical",
                   mode="", batched="", quantity="derivative", order=1, dtype="float64", device="cpu",
                   status="ok", message="", dim=1, n_points=3, eval_s=1e-6)


def test_resuming_appends_to_its_journal_and_never_rewrites_it(tmp_path):
    """The journal a run resumes from is opened for appending: its bytes stay as they were (it was
    reopened with "w" and written anew, which a signal or kill at that moment cut to one line)."""
    path = tmp_path / f"r{JOURNAL_SUFFIX}"
    rows = [_row(i) for i in range(300)]
    first = Journal(path, RunMeta(run_id="r"), rows)
    first.close()
    before, inode = path.read_bytes(), path.stat().st_ino
    again = Journal(path, RunMeta(run_id="r"), rows, resumed=path)
    assert path.read_bytes() == before and path.stat().st_ino == inode
    again.add(_row(300), [])
    again.close()
    assert path.read_bytes().startswith(before)
    assert [r.size for r in journal.read(path)[1]] == [f"grid={i}" for i in range(301)]


def test_a_torn_last_line_is_cut_before_the_resumed_run_appends(tmp_path):
    path = tmp_path / f"r{JOURNAL_SUFFIX}"
    Journal(path, RunMeta(run_id="r"), [_row(0), _row(1)]).close()
    whole = path.read_bytes()
    path.write_bytes(whole + b'{"cell": {"run_id": "r", "ca')  # killed halfway through a line
    resumed = Journal(path, RunMeta(run_id="r"), [], resumed=path)
    resumed.add(_row(2), [])
    resumed.close()
    assert [r.size for r in journal.read(path)[1]] == ["grid=0", "grid=1", "grid=2"]


def test_a_new_journal_appears_whole_or_not_at_all(tmp_path, monkeypatch):
    """Written beside and renamed: a failure halfway leaves no journal and no temporary file."""
    path = tmp_path / f"r{JOURNAL_SUFFIX}"
    rows = [_row(i) for i in range(5)]
    calls = {"n": 0}
    real = journal._line

    def fails_on_the_fourth(record):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return real(record)

    monkeypatch.setattr(journal, "_line", fails_on_the_fourth)
    with pytest.raises(KeyboardInterrupt):
        Journal(path, RunMeta(run_id="r"), rows)
    assert list(tmp_path.iterdir()) == []


def test_a_signal_while_a_cell_is_recorded_is_acted_on_after_it(tmp_path):
    """The row and its journal line go together: a stop that comes while they are written is raised
    once both are there."""
    from harness.host.limits import StopRun, StopSignals

    path = tmp_path / f"r{JOURNAL_SUFFIX}"
    log = Journal(path, RunMeta(run_id="r"))
    rows = []
    with StopSignals() as stop, pytest.raises(StopRun):
        with stop.held():
            rows.append(_row(0))
            os.kill(os.getpid(), signal.SIGTERM)
            log.add(rows[-1], [])
    log.close()
    assert stop.received == "SIGTERM" and len(journal.read(path)[1]) == 1 == len(rows)


def test_sigusr2_stops_a_run_like_sigterm():
    from harness.host.limits import StopRun, StopSignals

    with StopSignals() as stop, pytest.raises(StopRun):
        os.kill(os.getpid(), signal.SIGUSR2)
        time.sleep(1)  # the handler runs between bytecodes: at once
    assert stop.received == "SIGUSR2"


def test_a_resumed_run_finishes_with_the_cells_of_an_uninterrupted_one(tmp_path):
    """Half a run's cells in its journal (as a kill leaves it), resumed: the same cells as the run
    that was never stopped, and the journal gone."""
    selection = ["--cases", "tanh,cubic", "--methods", "central,forward", "--dtypes", "float64",
                 "--sizes", "quick", "--no-step-sweep", "--in-process", "--quiet"]
    assert main(["run", *selection, "--out", str(tmp_path / "whole")]) == 0
    (whole,) = [p for p in (tmp_path / "whole").glob("*.parquet") if p.name.count(".") == 1]
    expected = pd.read_parquet(whole)
    from harness.store.results import read

    cells, points, [meta] = read([whole])
    rows = [CellRow(**r) for r in cells.to_dict("records")][: len(cells) // 2]
    left = tmp_path / "killed" / f"{meta.run_id}{JOURNAL_SUFFIX}"
    Journal(left, replace(meta, complete=False), rows).close()
    assert main(["run", "--resume", str(left), "--quiet"]) == 0
    (done,) = [p for p in left.parent.glob("*.parquet") if p.name.count(".") == 1]
    assert not left.exists()
    got = pd.read_parquet(done)
    assert sorted(map(tuple, got[KEY + ["status"]].astype(str).values)) == \
        sorted(map(tuple, expected[KEY + ["status"]].astype(str).values))
    assert replace(rows[0]).key in {CellRow(**r).key for r in got.to_dict("records")}


def test_a_stop_as_the_command_starts_leaves_a_file_every_reader_reads(tmp_path, monkeypatch):
    """Recorded before the run had its selection (record_stops, as `diffbench run` starts): a results
    file of no cells, with the selection it was given, that report, merge and compare read."""
    from harness.host import limits

    monkeypatch.setattr(limits, "_pending", "SIGINT")
    assert main(["run", "--cases", "cubic", "--methods", "central", "--dtypes", "float64", "--orders", "1",
                 "--sizes", "quick", "--no-step-sweep", "--out", str(tmp_path), "--in-process",
                 "--quiet"]) == 130
    (path,) = [p for p in tmp_path.glob("*.parquet") if p.name.count(".") == 1]
    assert len(pd.read_parquet(path)) == 0
    _readable_by_every_reader(path, tmp_path)


def test_a_stop_while_the_run_sets_up_is_acted_on_with_its_files_written(tmp_path, monkeypatch):
    """A signal between the plan and the first cell (here: while the load is read) is held, then
    acted on before the first cell: a results file, exit 130."""
    from harness.runner import loop

    real = loop.load_average

    def interrupted():
        os.kill(os.getpid(), signal.SIGTERM)
        return real()

    monkeypatch.setattr(loop, "load_average", interrupted)
    assert main(["run", "--cases", "cubic", "--methods", "central", "--dtypes", "float64", "--orders", "1",
                 "--sizes", "quick", "--no-step-sweep", "--out", str(tmp_path), "--in-process",
                 "--quiet"]) == 130
    (path,) = [p for p in tmp_path.glob("*.parquet") if p.name.count(".") == 1]
    assert len(pd.read_parquet(path)) == 0


def test_a_journal_that_cannot_be_written_stops_the_run_with_its_cells_written(tmp_path, monkeypatch, capsys):
    """No room for a journal line: one line says so, and the cells measured are written as results."""
    import errno

    calls = {"n": 0}
    real = os.write

    def full_on_the_third_line(fd, data):
        if data.endswith(b"\n") and data.startswith(b'{"cell"'):
            calls["n"] += 1
            if calls["n"] == 3:
                raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd, data)

    monkeypatch.setattr(journal.os, "write", full_on_the_third_line)
    status = main(["run", "--cases", "tanh,cubic", "--methods", "central,forward", "--dtypes", "float64",
                   "--orders", "1", "--sizes", "quick", "--no-step-sweep", "--out", str(tmp_path),
                   "--in-process", "--quiet"])
    err = capsys.readouterr().err
    assert status == 2 and "No space left on device" in err and "Traceback" not in err
    (path,) = [p for p in tmp_path.glob("*.parquet") if p.name.count(".") == 1]
    assert len(pd.read_parquet(path)) == 3  # the two journalled, and the one whose line failed


def test_a_resume_never_writes_outside_its_folder(tmp_path, capsys):
    """A journal edited to hold run id "../../y" is refused: its files would land elsewhere."""
    folder = tmp_path / "a" / "b"
    path = folder / f"x{JOURNAL_SUFFIX}"
    Journal(path, RunMeta(run_id="../../y", selection={"cases": "cubic"})).close()
    assert main(["run", "--resume", str(path)]) == 2
    assert "run id" in capsys.readouterr().err
    assert not list(tmp_path.rglob("y*"))


def test_a_resume_does_not_write_a_new_journal_over_another(tmp_path, capsys):
    """`--resume A/x.journal.jsonl --out B` where B holds that run's journal already (a resume of it
    that was killed): refused, B's journal as it was."""
    first = tmp_path / "a" / f"r{JOURNAL_SUFFIX}"
    second = tmp_path / "b" / f"r{JOURNAL_SUFFIX}"
    Journal(first, RunMeta(run_id="r"), [_row(0)]).close()
    Journal(second, RunMeta(run_id="r"), [_row(0), _row(1)]).close()
    before = second.read_bytes()
    with pytest.raises(Exception, match="exists already"):
        Journal(second, RunMeta(run_id="r"), [_row(0)], resumed=first)
    assert second.read_bytes() == before


def test_a_stop_sent_to_every_process_of_the_job_crashes_no_cell(tmp_path):
    """A scheduler's SIGTERM reaches the workers too: they ignore it, the run stops, and no cell is
    recorded as crashed for it (a crashed cell is not measured again by --resume)."""
    proc = _start("--plugin", SLEEPY, "--cases", "tanh,cubic", "--methods", "central,sleepy", "--dtypes",
                  "float64", "--orders", "1", "--sizes", "quick", "--no-step-sweep", "--log", out=tmp_path,
                  env={"DIFFBENCH_TEST_SLEEP": "0.5"})
    _finished_lines(proc, 1)
    time.sleep(0.5)  # sleepy's cell in its worker
    workers = [int(p) for f in Path(f"/proc/{proc.pid}/task").glob("*/children")
               for p in f.read_text().split()]
    assert workers
    for pid in workers:
        os.kill(pid, signal.SIGTERM)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    cells = pd.read_parquet(out.strip().splitlines()[0])
    assert "crashed" not in set(cells.status)
