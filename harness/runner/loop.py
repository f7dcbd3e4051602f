"""The loop: measure a plan's cells one after another, and keep every finished one.

Each cell is measured in its backend's worker process (:mod:`harness.runner.pool`) or, with
``isolate=False`` or for a cell no worker can rebuild, in this process
(:func:`harness.measure.pipeline.measure_cell`).  As each cell ends its row is appended to the
journal (:mod:`harness.runner.journal`) and shown by the progress display
(:mod:`harness.runner.progress`).  Ctrl-C, SIGTERM or SIGUSR2 stops after the finished cells, which
are kept (the metadata's ``complete`` is then False); a cell is recorded with the signals held, so
a stop never comes between a cell's row and its journal line.  The cells are measured task by task
(:mod:`harness.runner.rounds`): every method of a task is prepared, then all are timed side by side in
the same rounds.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass

from harness.host import threads
from harness.host.capture import Capture
from harness.host.environment import backend_devices, load_average, run_metadata
from harness.host.limits import StopRun, StopSignals
from harness.measure import memory
from harness.measure.pipeline import RunContext
from harness.runner.journal import Journal, JournalError
from harness.runner.plan import Plan, describe_cases, describe_methods
from harness.runner.pool import Pool
from harness.runner.progress import bar as progress_bar
from harness.runner.rounds import run_task, task_order
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


def rounds_before(rows) -> dict:
    """Per task, the id after the last round a resumed run's first part timed it in (its cells
    measured now get round ids beyond it: they were not timed beside those)."""
    found: dict = {}
    for row in rows:
        if row.eval_round_ids:
            task = row.key.task
            found[task] = max(found.get(task, 0), int(max(row.eval_round_ids)) + 1)
    return found


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
                def record(row: CellRow, cell_points: list[PointRow]) -> None:
                    rows.append(row)
                    points.extend(cell_points)
                    if journal:
                        journal.add(row, cell_points)
                    shown(row)

                after = rounds_before(rows)
                for task in task_order(plan.cells):
                    if stop.received:  # a stop recorded since the last task: the run ends here
                        raise StopRun(stop.received)
                    first = after.get(CellKey.of_cell(*task[0]).task, 0)
                    run_task(task, run_id, timing, timeout, pool, context, record, first_round=first)
                if stop.received:
                    raise StopRun(stop.received)
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
        meta.rounds = timing.rounds
        return Finished(rows, points, meta, error)


def _close(meta: RunMeta, n_threads: threads.Threads, pool, journal, context) -> dict:
    """The run's end: what the backends saw, into ``meta``; the workers stopped, the journal closed."""
    try:
        backends = backend_devices()
        meta.threads = {"setting": n_threads,
                           "this process": threads.settings()}
        if pool:
            meta.worker_starts_s = pool.starts
            meta.reference_s = round(pool.reference_s, 3)
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
