"""The loop: measure a plan's cells one after another, and keep every finished one.

Each cell is measured in its backend's worker process (:mod:`harness.runner.pool`) or, with
``isolate=False`` or for a cell no worker can rebuild, in this process
(:func:`harness.measure.pipeline.measure_cell`).  As each cell ends its row is appended to the
journal (:mod:`harness.runner.journal`) and shown by the progress display
(:mod:`harness.runner.progress`).  Ctrl-C, SIGTERM or SIGUSR2 stops after the finished cells, which
are kept (the metadata's ``complete`` is then False); a cell is recorded with the signals held, so
a stop never comes between a cell's row and its journal line.  Once every cell has run, the cells timed
ok are timed again (:data:`harness.measure.timing.PASSES` passes in all, where a pass costs at most
:data:`harness.measure.timing.LATER_PASS_MAX_S`), in fresh worker processes.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from dataclasses import dataclass

from harness.host import threads
from harness.host.capture import Capture
from harness.host.environment import backend_devices, load_average, run_metadata
from harness.host.limits import StopRun, StopSignals, armed
from harness.measure import memory
from harness.measure.outcomes import Measured, Retimed
from harness.measure.pipeline import RunContext, measure_cell, skeleton, time_again, with_pass
from harness.runner.journal import Journal, JournalError
from harness.runner.plan import Plan, describe_cases, describe_methods
from harness.runner.pool import Pool
from harness.runner.progress import bar as progress_bar
from harness.runner.progress import first_line
from harness.runner.worker import WorkerSettings
from harness.store.meta import RunMeta
from harness.store.results import new_run_id
from harness.store.schema import CellKey, CellRow, PointRow, RunFiles


@dataclass
class Finished:
    """What a run measured: every cell's row (those of a resumed run's first part too), their
    per-point rows, and the run's metadata."""

    rows: list[CellRow]
    points: list[PointRow]
    meta: RunMeta
    error: str | None = None  # what stopped the run other than a signal (a journal that could not be written)


def new_meta(plan: Plan) -> RunMeta:
    """A run's metadata: its id, the machine, its selection, the cases and methods, and the
    measured copy bandwidth of the devices its timed elementwise cells run on (what their
    ``bandwidth_share`` is a share of)."""
    shared = {cell.device for _, cell in plan.cells if memory.elementwise(cell)} if plan.timing.timed else ()
    bandwidth = memory.bandwidth(sorted(shared))
    return RunMeta(run_id=new_run_id(), **run_metadata(), selection=plan.selection.to_dict(),
                   cases=describe_cases(plan.cells), methods=describe_methods(plan.cells),
                   bandwidth_bytes_per_s=bandwidth, shard=plan.selection.shard)


def unmeasured(selection, resumed=None) -> Finished:
    """A run stopped before its first cell: a resumed run's rows as they were, else none, under
    metadata that says it is not complete (a results file of zero cells is still a results file)."""
    if resumed is not None:
        meta, rows, points = dataclasses.replace(resumed.meta), list(resumed.rows), list(resumed.points)
    else:
        meta, rows, points = RunMeta(run_id=new_run_id(), **run_metadata(), selection=selection.to_dict(),
                                     shard=selection.shard), [], []
    meta.complete, meta.n_cells = False, len(rows)
    print(f"interrupted: keeping {len(rows)} finished cells", file=sys.stderr)
    return Finished(rows, points, meta)


def later_pass_due(row: CellRow) -> bool:
    """Whether a finished cell is timed again: timed ok in fewer passes than its first pass planned
    (:meth:`harness.measure.timing.TimingSettings.passes_for`)."""
    return (row.status == "ok" and row.eval_samples_s is not None
            and len(row.eval_pass_s or [None]) < (row.timing_passes or 1))


def _later_passes(plan: Plan, rows: list[CellRow], pool, context, progress, log, journal, stop):
    """Each cell its first pass planned more passes for, timed again once every cell has run
    (last first, so that neighbours differ too), in a fresh process; its row in ``rows`` (changed
    in place, so that a stop keeps the passes done) then pools the passes
    (harness.measure.pipeline.with_pass)."""
    found = {CellKey.of_cell(method, cell): (method, cell) for method, cell in plan.cells + plan.done}
    due = [i for i, row in enumerate(rows) if later_pass_due(row) and row.key in found]
    total = sum(rows[i].timing_passes - len(rows[i].eval_pass_s) for i in due)
    with progress_bar(progress, total, log) as shown:
        while due:
            for i in reversed(due):
                method, cell = found[rows[i].key]
                budget = cell.case.budget(plan.selection.timeout)
                started = time.perf_counter()
                n = rows[i].timing_passes
                again = pool.time_again(method, cell, budget, n) if pool else None  # arms its waits
                if again is None:
                    with armed():
                        again = time_again(method, cell, plan.timing, n, budget, context)
                row = rows[i]
                if isinstance(again, Retimed):
                    row = with_pass(row, again)
                else:  # the passes so far stand, and say why no more
                    note = f"timed in {len(row.eval_pass_s)} pass(es): {first_line(again.message)}"
                    row = dataclasses.replace(row, message="; ".join(filter(None, [row.message, note])),
                                              timing_passes=len(row.eval_pass_s))
                # the cell's time is all the time spent on it
                rows[i] = dataclasses.replace(row, cell_s=row.cell_s + time.perf_counter() - started)
                if journal:
                    journal.replace(rows[i])
                shown(rows[i])
                if stop.received:  # recorded while the pass was measured or recorded: acted on now
                    raise StopRun(stop.received)
            due = [i for i in due if later_pass_due(rows[i])]


def run_cells(plan: Plan, meta: RunMeta, progress=None, log: bool = False, isolate: bool = False,
              journal_dir=None, done_rows=(), done_points=(), memory_limit: int | None = None,
              resumed_journal=None) -> Finished:
    """Measure ``plan``'s cells under ``meta`` (from :func:`new_meta`, or a resumed run's, with
    the rows it already has: ``done_rows``, ``done_points``).

    ``isolate`` measures each cell in a worker process per backend (a crash is then a
    ``crashed`` row; ``memory_limit`` bytes caps each worker's address space).  With
    ``journal_dir`` each finished cell is appended to ``<run-id>.journal.jsonl`` there at once;
    ``resumed_journal`` (the journal a resumed run was read from) is appended to, never rewritten.
    ``progress`` is a stream: a progress bar when it is a terminal (not under ``CI``), with
    ``log`` one line per cell.
    """
    run_id, timing, timeout = meta.run_id, plan.timing, plan.selection.timeout
    rows, points = list(done_rows), list(done_points)
    journal = pool = error = None
    # held throughout: a stop is acted on only where the run waits for a cell (armed) or between
    # cells, never between a finished cell and its record, nor while the run sets up or closes
    with StopSignals(held=True) as stop, stop.held(then_stop=False):
        context = RunContext(bandwidth=meta.bandwidth_bytes_per_s, output=Capture(),
                             reference_cache=plan.selection.reference_cache)
        meta.complete = False
        n_threads = plan.selection.threads
        meta.load_start = load_average()
        try:
            with progress_bar(progress, len(plan.cells), log) as shown, threads.in_process(n_threads):
                if journal_dir is not None:  # opened whole or not at all (harness.runner.journal)
                    journal = Journal(RunFiles.of(journal_dir, run_id).journal, meta, rows, points,
                                      resumed=resumed_journal)
                if isolate:
                    pool = Pool(WorkerSettings(backend=None, plugins=plan.selection.plugins,
                                               bandwidth=context.bandwidth, timing=timing,
                                               memory_limit=memory_limit, threads=n_threads,
                                               reference_cache=plan.selection.reference_cache))
                for method, cell in plan.cells:
                    if stop.received:  # a stop recorded since the last cell: the run ends here
                        raise StopRun(stop.received)
                    budget = cell.case.budget(timeout)
                    started = time.perf_counter()
                    outcome = pool.measure(method, cell, run_id, budget) if pool else None  # arms its waits
                    if outcome is None:  # in this process
                        with armed():
                            outcome = measure_cell(method, cell, run_id, budget, timing, context)
                    if not isinstance(outcome, Measured):  # lost: what the cell was and why, no figures
                        outcome = Measured(skeleton(method, cell, run_id, outcome.status, outcome.message,
                                                    cell_s=time.perf_counter() - started), [])
                    rows.append(outcome.row)
                    points += outcome.points
                    if journal:
                        journal.add(outcome.row, outcome.points)
                    shown(outcome.row)
                if stop.received:
                    raise StopRun(stop.received)
                if any(later_pass_due(row) for row in rows):
                    if pool:  # fresh workers: each pass in a process of its own
                        pool.close()
                    _later_passes(plan, rows, pool, context, progress, log, journal, stop)
                meta.complete = True
        except StopRun:
            print(f"interrupted: keeping {len(rows)} finished cells", file=sys.stderr)
        except JournalError as exc:  # e.g. a full disk: the run stops, its cells are written as results
            error = str(exc)
            print(f"diffbench: {exc}: the run stops here, keeping {len(rows)} finished cells",
                  file=sys.stderr)
        finally:
            meta.backends = _close(meta, n_threads, pool, journal, context)
        meta.n_cells = len(rows)
        meta.passes = timing.passes if timing.timed else 0
        return Finished(rows, points, meta, error)


def _close(meta: RunMeta, n_threads: threads.Threads, pool, journal, context) -> dict:
    """The run's end: what the backends saw, into ``meta``; the workers stopped, the journal closed."""
    try:
        backends = backend_devices()
        meta.threads = {"setting": n_threads,
                           "this process": threads.settings()}
        if pool:
            meta.worker_starts_s = pool.starts
            seen = pool.backends()
            meta.threads["workers"] = seen.pop("threads", {})
            backends.update(seen)
    finally:
        if pool:
            pool.close()
        meta.load_end = load_average()
        if journal:
            journal.close()
        context.output.close()
    return backends
