"""The journal (harness.runner.journal): each finished cell's row read back as it was written, its
rounds with it; a row written again for the same cell is the one read back, in the first one's place."""

from dataclasses import replace

from harness.runner import journal
from harness.store.meta import RunMeta
from harness.store.schema import CellRow


def _row(method, eval_s, rounds=3):
    return CellRow(run_id="r", case="cubic", size="", method=method, family="numerical", mode="",
                   batched="yes", quantity="derivative", order=1, dtype="float64", device="cpu", status="ok",
                   message="", dim=1, n_points=3, eval_s=eval_s, eval_samples_s=[eval_s] * rounds,
                   eval_round_ids=list(range(rounds)), timing_rounds=rounds, timing_repeats=rounds)


def test_a_cells_rounds_are_read_back_as_written(tmp_path):
    path = tmp_path / "r.journal.jsonl"
    lost = replace(_row("forward", 1.0, rounds=2), timing_rounds=3,  # its worker lost in round 2
                   message="its worker was lost (crashed): timed in 2 of its task's rounds")
    log = journal.Journal(path, RunMeta(run_id="r"), [_row("central", 3.0), lost])
    log.close()
    _, rows, _ = journal.read(path)
    assert rows == [_row("central", 3.0), lost]
    assert (rows[1].eval_round_ids, rows[1].timing_rounds) == ([0, 1], 3)


def test_a_replaced_row_is_read_back_in_its_place(tmp_path):
    path = tmp_path / "r.journal.jsonl"
    first, second = _row("central", 3.0), _row("forward", 1.0)
    log = journal.Journal(path, RunMeta(run_id="r"), [first, second])
    again = replace(first, eval_s=2.0, eval_samples_s=[3.0, 2.0, 2.0])
    log.replace(again)
    log.close()
    meta, rows, points = journal.read(path)
    assert rows == [again, second]
    assert meta == RunMeta(run_id="r") and points == []
