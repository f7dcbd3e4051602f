"""A task's methods timed side by side: each prepared in turn, then all timed in shared rounds.

A task is a case × size × quantity × order × dtype × device (:data:`harness.store.schema.TASK`).
Each of its methods is prepared, compiled, called once, checked and graded in its backend's worker
(or in this process), which then holds it (:class:`harness.measure.pipeline.Held`).  Then the
rounds: in each, one calibrated batch of every method (its derivative's, then its f's) in an
order shuffled afresh, until each has :attr:`~harness.measure.timing.TimingSettings.rounds` of
them or the rounds have taken :attr:`~harness.measure.timing.TimingSettings.rounds_max_s`.  Every
method of the task gets the same rounds; a sample's round id is recorded beside it
(``eval_round_ids``), so that any two methods' paired ratio can be computed from the results file
(:func:`harness.stats.noise.paired_ratio`).  After the rounds each held cell's memory and sizes
are measured (:meth:`~harness.measure.pipeline.Held.finish`) and its row is recorded.

A method that fails in a round, runs out of its budget or loses its worker (a crash of a method
sharing it, or one that left something behind) keeps the rounds it had, and its row says why
it has no more.  A stop keeps every prepared cell with the rounds it had.
"""

from __future__ import annotations

import dataclasses
import random
import time
import zlib
from dataclasses import dataclass, field

import numpy as np

from harness.host.limits import StopRun, armed
from harness.measure.outcomes import Measured
from harness.measure.pipeline import RunContext, prepare_cell, skeleton, timed_row
from harness.measure.timing import TimingSettings
from harness.runner.worker import Broke, Prepared, held_answer
from harness.store.schema import CellKey, CellRow, PointRow


@dataclass
class Entrant:
    """One method's prepared cell in its task's rounds."""

    method: object
    cell: object
    measured: Measured  # its row so far (status ok) and per-point rows
    numbers: tuple[int, ...]  # calls per batch: the derivative's, then f's
    budget: float | None
    held: object = None  # the live cell where this process holds it; None: its worker does
    samples: list = field(default_factory=list)  # per round: [derivative, f] per-call times
    round_ids: list = field(default_factory=list)
    spent_s: float = 0.0  # since it was prepared
    failure: tuple[str, str] | None = None  # (status, message) of a failed batch or finish
    note: str = ""  # why it has fewer rounds than its task, or no finish
    active: bool = True
    finished: dict = field(default_factory=dict)  # what its finish measured (memory, sizes)

    def left(self) -> float | None:
        """Seconds of its budget left."""
        return None if self.budget is None else self.budget - self.measured.row.cell_s - self.spent_s


def task_order(cells) -> list[list]:
    """A plan's (method, cell) pairs grouped by task, in the order each task first appears."""
    tasks: dict[tuple, list] = {}
    for method, cell in cells:
        tasks.setdefault(CellKey.of_cell(method, cell).task, []).append((method, cell))
    return list(tasks.values())


def _seed(cells) -> int:
    """A task's fixed seed for its rounds' orders: a rerun shuffles the same way."""
    return zlib.crc32(repr(CellKey.of_cell(*cells[0]).task).encode())


def run_task(cells, run_id: str, timing: TimingSettings, timeout: float | None, pool, context: RunContext,
             record, first_round: int = 0) -> None:
    """Measure one task's cells (``cells``: its (method, cell) pairs), calling ``record(row, points)``
    for each as it ends: a cell that ends before its rounds (any status but ok, an untimed run, a
    workload) at once, the others after the rounds.  ``pool``: the workers (None: this process).
    ``first_round``: the first round's id (a resumed run's task whose first part had rounds: ids
    that never meet those, so that its cells pair only with the cells timed beside them)."""
    entrants: list[Entrant] = []
    try:
        for method, cell in cells:
            entrant = _prepare(method, cell, run_id, timing, cell.case.budget(timeout), pool, context, record)
            if entrant is not None:
                entrants.append(entrant)
        if pool is not None:
            _prepare_lost_again(entrants, run_id, timing, pool, context)
        rounds = _rounds(entrants, timing, pool, context, random.Random(_seed(cells)), first_round)
        for entrant in entrants:
            _finish(entrant, pool, context)
    except StopRun:
        done = max((len(e.samples) for e in entrants), default=0)
        for entrant in entrants:
            rounds_had = len(entrant.samples)
            entrant.note = entrant.note or f"the run was stopped after {rounds_had} of its task's rounds"
            record(*_row(entrant, done))
        raise
    for entrant in entrants:
        record(*_row(entrant, rounds))


def _prepare(method, cell, run_id, timing, budget, pool, context, record) -> Entrant | None:
    """Prepare one cell: an Entrant for the rounds, or None where its row is final (recorded)."""
    started = time.perf_counter()
    outcome = pool.measure(method, cell, run_id, budget) if pool else None  # arms its waits
    held = None
    if outcome is None:  # in this process
        with armed():
            measured, held = prepare_cell(method, cell, run_id, budget, timing, context)
        outcome = measured if held is None else Prepared(measured, tuple(held.numbers))
    if isinstance(outcome, Prepared):
        return Entrant(method, cell, outcome.measured, outcome.numbers, budget, held)
    if not isinstance(outcome, Measured):  # lost: what the cell was and why, no figures
        outcome = Measured(skeleton(method, cell, run_id, outcome.status, outcome.message,
                                    cell_s=time.perf_counter() - started), [])
    record(outcome.row, outcome.points)
    return None


def _prepare_lost_again(entrants: list[Entrant], run_id, timing, pool, context) -> None:
    """Cells whose worker was lost while a later method of the task was prepared (a crash, or a cell
    that left something behind) prepared once more in a fresh worker, so that one method's crash
    does not leave its backend's other methods untimed; where that fails too, they stay lost."""
    for i, entrant in enumerate(entrants):
        if entrant.held is not None or pool.holds(entrant.method, entrant.cell):
            continue
        why = pool.lost_why.get(entrant.method.backend, "its worker was lost")
        left = entrant.left()
        fits = left is None or left > 0
        outcome = pool.measure(entrant.method, entrant.cell, run_id, left) if fits else None
        if isinstance(outcome, Prepared):
            row = outcome.measured.row
            spent = entrant.measured.row.cell_s
            note = f"prepared again: {why} before the rounds"
            row = dataclasses.replace(row, cell_s=row.cell_s + spent,
                                      message="; ".join(filter(None, [row.message, note])))
            entrants[i] = Entrant(entrant.method, entrant.cell, Measured(row, outcome.measured.points),
                                  outcome.numbers, entrant.budget)


def _rounds(entrants: list[Entrant], timing: TimingSettings, pool, context, rng: random.Random,
            first_round: int = 0) -> int:
    """Time the task's rounds; how many it ran."""
    started, done = time.perf_counter(), 0
    while any(e.active for e in entrants) and timing.more_rounds(done, time.perf_counter() - started):
        order = list(entrants)
        rng.shuffle(order)
        for entrant in order:
            if entrant.active:
                _one_batch(entrant, first_round + done, pool, context)
        done += 1
    return done


def _one_batch(entrant: Entrant, round_id: int, pool, context) -> None:
    if not _still_held(entrant, pool):
        return
    left = entrant.left()
    if left is not None and left <= 0:
        entrant.active = False
        entrant.note = f"its budget ran out after {len(entrant.samples)} of its task's rounds"
        return
    started = time.perf_counter()
    answer = _ask(entrant, pool, context, lambda held: held.batch(),
                  lambda: pool.round(entrant.method, entrant.cell, left), left)
    entrant.spent_s += time.perf_counter() - started
    if isinstance(answer, list):
        entrant.samples.append(answer)
        entrant.round_ids.append(round_id)
    else:
        entrant.active = False
        entrant.failure = _failure(answer)


def _finish(entrant: Entrant, pool, context) -> None:
    """After the rounds: the cell's memory and sizes measured where it is still held and was timed
    without failure, within what is left of its budget; else only let go (which takes no budget:
    a budget spent is never sent as a limit)."""
    if not _still_held(entrant, pool):
        return
    left = entrant.left()
    spent = left is not None and left <= 0
    if spent and entrant.failure is None and not entrant.note:
        entrant.note = "its budget ran out before its memory was measured"
    ok = entrant.failure is None and entrant.samples and not spent
    median = float(np.median([s[0] for s in entrant.samples])) if ok else None
    budget = left if ok else None
    started = time.perf_counter()
    answer = _ask(entrant, pool, context, lambda held: held.finish(median, context) if ok else {},
                  lambda: pool.finish(entrant.method, entrant.cell, median, budget), budget)
    entrant.spent_s += time.perf_counter() - started
    entrant.held = None
    if isinstance(answer, dict):
        entrant.finished = answer
    elif ok:
        entrant.failure = _failure(answer)


def _ask(entrant: Entrant, pool, context, here, there, budget: float | None):
    """A held cell's answer: from this process (``here(held)`` within ``budget`` s, its failure a
    Broke) or its worker (``there()``)."""
    if entrant.held is None:
        return there()  # arms its waits
    with armed():
        return held_answer(lambda: here(entrant.held), budget, context)


def _still_held(entrant: Entrant, pool) -> bool:
    """Whether the cell's worker (or this process) still holds it; if not, its row says why."""
    if entrant.held is not None or (pool is not None and pool.holds(entrant.method, entrant.cell)):
        return True
    if entrant.failure is None and not entrant.note:
        why = pool.lost_why.get(entrant.method.backend, "its worker was lost") if pool else "it was lost"
        entrant.note = f"{why}: timed in {len(entrant.samples)} of its task's rounds"
    entrant.active = False
    return False


def _failure(answer) -> tuple[str, str]:
    """(status, message) of a batch's or finish's answer that is not its figures."""
    if isinstance(answer, Broke):
        return answer.status, answer.message
    return getattr(answer, "status", "failed"), getattr(answer, "message", f"unexpected answer {answer!r}")


def _row(entrant: Entrant, rounds: int) -> tuple[CellRow, list[PointRow]]:
    row = timed_row(entrant.measured.row, list(entrant.numbers), entrant.samples, entrant.round_ids, rounds,
                    entrant.finished, entrant.failure, entrant.spent_s, entrant.note)
    return row, entrant.measured.points
