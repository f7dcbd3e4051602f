"""No command destroys its own input, and every output appears whole or not at all (issue: merge,
report and history onto their inputs; a full disk; compare's gate on lost cells)."""

import errno
import shutil
from pathlib import Path

import pandas as pd
import pytest

from harness.cli import main
from harness.store.schema import RunFiles


def _run(out: Path, cases: str) -> Path:
    assert main(["run", "--cases", cases, "--methods", "central,forward", "--dtypes", "float64",
                 "--orders", "1,2", "--sizes", "quick", "--out", str(out), "--in-process", "--quiet"]) == 0
    (cells,) = [p for p in out.glob("*.parquet") if p.name.count(".") == 1]
    return cells


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two small runs, A with a step sweep (tanh) and B without (cubic): copied afresh per test."""
    base = tmp_path_factory.mktemp("runs")
    return _run(base / "a", "tanh"), _run(base / "b", "cubic")


@pytest.fixture
def ab(runs, tmp_path):
    copies = []
    for path, name in zip(runs, "ab"):
        shutil.copytree(path.parent, tmp_path / name)
        copies.append(tmp_path / name / path.name)
    return copies


def _bytes(folder: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("diffbench: ")
    return err


def test_merge_into_one_of_its_inputs_is_refused(ab, capsys):
    a, b = ab
    before = _bytes(a.parent)
    assert RunFiles(a).steps.exists()
    assert main(["merge", str(a), str(b), "-o", str(a)]) == 2
    assert "one of the inputs" in _one_line(capsys)
    assert _bytes(a.parent) == before  # A's 6 cells and its step sweep as they were
    assert main(["merge", str(a.parent), str(b), "-o", str(RunFiles(a).points)]) == 2  # a companion
    assert _bytes(a.parent) == before


def test_a_page_never_overwrites_a_results_file(ab, capsys):
    a, b = ab
    before = _bytes(a.parent), _bytes(b.parent)
    assert main(["report", str(a), "-o", str(a)]) == 2
    assert "one of the inputs" in _one_line(capsys)
    assert main(["report", str(a), "-o", str(b)]) == 2  # another run's results file
    assert "is a results file" in _one_line(capsys)
    assert main(["history", str(a.parent), "-o", str(a)]) == 2
    _one_line(capsys)
    assert main(["history", str(b.parent), "-o", str(RunFiles(b).points)]) == 2
    _one_line(capsys)
    assert (_bytes(a.parent), _bytes(b.parent)) == before


def test_a_full_disk_leaves_the_old_page_whole(ab, tmp_path, capsys, monkeypatch):
    a, _ = ab
    page = tmp_path / "report.html"
    assert main(["report", str(a), "-o", str(page)]) == 0
    old = page.read_bytes()
    capsys.readouterr()
    real = Path.write_text

    def half_then_full(self, text, *args, **kwargs):  # as a disk that fills halfway through
        real(self, text[: len(text) // 2], *args, **kwargs)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", half_then_full)
    assert main(["report", str(a), "-o", str(page)]) == 2
    err = _one_line(capsys)
    assert "No space left on device" in err and str(page) in err
    assert page.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == []


def test_a_full_disk_leaves_the_old_results_whole(ab, tmp_path, capsys, monkeypatch):
    import pyarrow.parquet as pq

    a, b = ab
    merged = tmp_path / "m" / "merged.parquet"
    assert main(["merge", str(a), "-o", str(merged)]) == 0
    before = _bytes(merged.parent)
    capsys.readouterr()
    real = pq.write_table

    def half_then_full(table, where, *args, **kwargs):
        real(table.slice(0, len(table) // 2), where, *args, **kwargs)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pq, "write_table", half_then_full)
    assert main(["merge", str(a), str(b), "-o", str(merged)]) == 2
    err = _one_line(capsys)
    assert "No space left on device" in err and "merged" in err
    assert _bytes(merged.parent) == before  # no half file, no temporary one


def test_compare_fails_the_gate_when_the_new_run_lost_cells(ab, tmp_path, capsys):
    import pyarrow.parquet as pq

    a, _ = ab
    table = pq.read_table(a)
    lost = tmp_path / "lost.parquet"
    pq.write_table(table.slice(0, 1), lost)  # the same run, all but one of its cells gone
    n = len(table)
    assert main(["compare", str(a), str(a), "--fail-on-regression"]) == 0
    assert main(["compare", str(a), str(lost)]) == 0  # without the gate: reported, not failed
    assert main(["compare", str(a), str(lost), "--fail-on-regression"]) == 1
    assert f"{n - 1} cell{'s' if n > 2 else ''} of {a} missing from {lost}" in capsys.readouterr().err


def test_the_report_folder_is_checked_before_anything_is_measured(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Path("reports").write_text("a file where the reports folder goes")
    assert main(["run", "--cases", "cubic", "--methods", "central", "--dtypes", "float64", "--orders", "1",
                 "--sizes", "quick", "--out", "results", "--report", "--in-process", "--quiet"]) == 2
    assert "cannot write the report" in _one_line(capsys)
    assert not Path("results").exists()  # refused before measuring: no run at all


def test_results_are_readable_after_merging_into_a_folder_of_parts(ab):
    a, b = ab
    shutil.copy(b, a.parent / b.name)
    shutil.copy(RunFiles(b).points, a.parent / RunFiles(b).points.name)
    assert main(["merge", str(a.parent), "-o", str(a.parent)]) == 0  # a new file: a new run id
    parts = (a, a.parent / b.name)
    merged = [p for p in a.parent.glob("*.parquet") if p.name.count(".") == 1 and p not in parts]
    assert len(merged) == 1 and len(pd.read_parquet(merged[0])) == len(pd.read_parquet(a)) + len(
        pd.read_parquet(b))


def test_a_full_disk_at_the_runs_end_keeps_every_cell_in_the_journal(tmp_path, capsys, monkeypatch):
    """The results cannot be written: one line says where the cells are, and --resume writes them."""
    import pyarrow.parquet as pq

    from harness.runner import journal

    real = pq.write_table

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pq, "write_table", full)
    args = ["run", "--cases", "cubic", "--methods", "central,forward", "--dtypes", "float64", "--orders", "1",
            "--sizes", "quick", "--no-step-sweep", "--out", str(tmp_path), "--in-process", "--quiet"]
    assert main(args) == 2
    err = capsys.readouterr().err
    (kept,) = tmp_path.glob("*.journal.jsonl")
    assert "No space left on device" in err and f"every finished cell is kept in {kept}" in err
    assert len(journal.read(kept)[1]) == 2 and not list(tmp_path.glob("*.parquet"))
    monkeypatch.setattr(pq, "write_table", real)
    assert main(["run", "--resume", str(kept), "--quiet"]) == 0
    assert len(pd.read_parquet(kept.with_name(kept.name.replace(".journal.jsonl", ".parquet")))) == 2
    assert not kept.exists()
