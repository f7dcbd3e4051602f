"""The journal (harness.runner.journal): a row written again by a later timing pass is the one read back."""

from dataclasses import replace

from harness.runner import journal
from harness.store.meta import RunMeta
from harness.store.schema import CellRow


def _row(method, eval_s):
    return CellRow(run_id="r", case="cubic", size="", method=method, family="numerical", mode="",
                   batched="yes", quantity="derivative", order=1, dtype="float64", device="cpu", status="ok",
                   message="", dim=1, n_points=3, eval_s=eval_s, eval_pass_s=[eval_s])


def test_a_replaced_row_is_read_back_in_its_place(tmp_path):
    path = tmp_path / "r.journal.jsonl"
    first, second = _row("central", 3.0), _row("forward", 1.0)
    log = journal.Journal(path, RunMeta(run_id="r"), [first, second])
    log.replace(replace(first, eval_s=2.0, eval_pass_s=[3.0, 2.0]))
    log.close()
    meta, rows, points = journal.read(path)
    assert [(r.method, r.eval_s, r.eval_pass_s) for r in rows] == [("central", 2.0, [3.0, 2.0]),
                                                                  ("forward", 1.0, [1.0])]
    assert meta == RunMeta(run_id="r") and points == []
