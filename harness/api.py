"""``harness.run()``: measure a selection and return its cells, the one entry point of the API.

The command line (:mod:`harness.cli`) calls it too.  Every module it needs is imported inside
it, so that ``import harness`` needs only NumPy.
"""

from __future__ import annotations

from harness.errors import UsageError


def run(cases=None, methods=None, dtypes=None, devices=None, orders=None, quantities=None,
        sizes="default", out=None, plugins=(), timeout=None, progress=None, timing=None, preset=None,
        step_sweep=False, shard=None, log=False, isolate=False, resume=None, memory_limit=None,
        input=None, threads=None, rounds=None, reference_cache=True):  # noqa: A002
    """Measure a matrix and return its cells as a pandas DataFrame.

    Every choice is read and checked once, here (:meth:`harness.runner.plan.Selection.of`): a bad
    one is a :class:`~harness.errors.UsageError` before anything is measured.

    ``cases``/``methods`` are lists or comma-separated strings of names or glob
    patterns (default: all); ``dtypes`` float64/float32 (default both);
    ``devices`` cpu/gpu (default: the CPU and a GPU if present); ``orders`` and
    ``quantities`` narrow what each case is measured on; ``sizes`` is the profile
    (quick / default / full) that picks the sizes of swept cases.  The per-point
    table is ``df.attrs["points"]`` and the run metadata ``df.attrs["meta"]``
    (a :class:`harness.store.meta.RunMeta`).
    With ``out`` (a folder) the run is also written there; ``df.attrs["path"]``
    is the results file.  ``timing`` (e.g. ``{"rounds": 5, "min_batch_s": 0.01}``, or a
    :class:`harness.measure.timing.TimingSettings`) tunes the timing rounds (``sizes="quick"``
    defaults to ``plan.QUICK_TIMING``: 5 rounds of batches of ≥ 2 ms, a smoke run; ``{"rounds": 0}``
    checks and grades every cell without timing it, as the capability matrix's test does;
    ``{"clock": "wall"}`` times by the wall clock where a CPU cell on one thread would be timed by
    the process's CPU time);
    ``progress`` is a stream: a progress bar when it is a terminal (not under ``CI``), with
    ``log`` one line per cell.
    ``preset`` (e.g. ``"seed-001"``, see :mod:`harness.model.presets`) fixes the cases, sizes,
    methods, dtypes and orders instead; only ``devices`` may then be given.
    ``shard`` (``"i/N"``) measures only the i-th of N balanced parts of the plan
    (:mod:`harness.runner.shard`); the metadata records it.
    ``input`` (a gradbench-format JSON file) measures its one workload on that input instead
    (:mod:`cases.gradbench_input`).
    ``timeout`` is each cell's budget in seconds (default: the case's own, else 120).
    ``threads`` (N, or "all") is every backend's thread count where the cells are measured
    (default 1: :mod:`harness.host.threads`); the metadata records what each library reported.
    ``rounds`` is how many rounds the methods of each task are timed in, side by side, one batch of
    each per round (default 10, the quick profile 5; fewer where a task's rounds pass 3 s:
    :mod:`harness.runner.rounds`).
    ``reference_cache`` (default True) takes each cell's reference from the disk cache where an
    earlier run computed it (:mod:`harness.truth.cache`); False computes every one afresh (and
    caches that in its place); each row's ``reference_cached`` says which.
    ``isolate`` measures each cell in a worker process per backend (a crash is then a
    ``crashed`` row; ``memory_limit`` bytes caps each worker's address space).  With ``out``
    every finished cell is also appended to ``<run-id>.journal.jsonl`` there at once;
    ``resume`` (that journal, or the results file of an interrupted run) measures only the
    cells that run lacks, with its selection, and writes the whole run under its run id.
    """
    from harness.host.limits import StopRun, StopSignals, armed

    # held throughout: a stop is acted on only where the run computes or waits (armed: the plan, each
    # cell, the step sweep) or between cells; whenever it comes, what was measured is written
    with StopSignals(held=True) as stop, stop.held(then_stop=False):
        from harness.runner import journal, loop, plan
        from harness.store import results
        from harness.store.schema import RunFiles

        resumed = planned = None
        selection = plan.Selection.of(cases=cases, methods=methods, dtypes=dtypes, devices=devices,
                                      orders=orders, quantities=quantities, sizes=sizes, preset=preset,
                                      shard=shard, plugins=plugins, timeout=timeout, timing=timing,
                                      step_sweep=step_sweep, input=input, threads=threads, rounds=rounds,
                                      reference_cache=reference_cache)
        if resume is not None:
            given = [name for name in selection.given() if name != "plugins"]  # plugins: compared
            if given:
                raise UsageError("a resumed run keeps its own selection: drop " + ", ".join(given))
            resumed = journal.resume_state(resume)
            recorded = plan.Selection.from_dict(resumed.meta.selection)
            selection = recorded.resumed_with(selection.plugins)  # never a plugin not named here
            out = resumed.folder if out is None else out
        try:  # until the first cell: a stop here still leaves a (cell-less) results file
            with armed():
                done = {row.key for row in resumed.rows} if resumed else frozenset()
                planned = plan.build(selection, done=done)
                meta = resumed.meta if resumed else loop.new_meta(planned)
        except StopRun:
            planned = None
        if planned is None:
            finished = loop.unmeasured(selection, resumed)
        else:
            finished = loop.run_cells(planned, meta, progress=progress, log=log, isolate=isolate,
                                      journal_dir=out, memory_limit=memory_limit,
                                      done_rows=resumed.rows if resumed else (),
                                      done_points=resumed.points if resumed else (),
                                      resumed_journal=resumed.journal if resumed else None)
        meta = finished.meta
        steps = None
        if planned is not None and planned.step_sweep and meta.complete:
            from harness.measure import step_sweep

            try:
                with armed():
                    sweep = planned.step_sweep
                    steps = step_sweep.step_sweep(sweep.cases, sweep.methods, sweep.dtypes,
                                                  run_id=meta.run_id, reuse=selection.reference_cache)
            except StopRun:  # the cells stand; the run is not complete without its sweep
                meta.complete = False
        cells, points = results.cells_frame(finished.rows), results.points_frame(finished.points)
        if out is not None:
            kept = RunFiles.of(out, meta.run_id).journal
            try:
                cells.attrs["path"] = str(results.write(cells, points, meta, out, steps=steps))
            except UsageError as exc:  # e.g. a full disk: the journal still holds the cells
                if not kept.exists():
                    raise
                raise UsageError(f"{exc}; every finished cell is kept in {kept} (diffbench run "
                                 "--resume it once there is room)") from exc
            if meta.complete:  # all of it is in Parquet now
                kept.unlink(missing_ok=True)
        if finished.error:  # the run stopped for want of its journal: say so, its results written
            where = f"; the {len(cells)} finished cells are in {cells.attrs['path']}" if out else ""
            raise UsageError(finished.error + where)
    cells.attrs.update(points=points, meta=meta, steps=steps)
    return cells
