"""diffbench's engine: compare ways of differentiating functions in Python.

``import harness`` needs only NumPy; every backend is imported by the method
that uses it.  Extending: see :mod:`harness.extend`.
"""

from __future__ import annotations

from pathlib import Path

from harness.registry import UsageError

__version__ = "0.1.0"

# what a run measures, kept in its metadata so that ``resume`` redoes the same plan
SELECTION = ("cases", "methods", "dtypes", "devices", "orders", "quantities", "sizes", "preset", "shard",
             "plugins", "timeout", "timing", "step_sweep")


def run(cases=None, methods=None, dtypes=None, devices=None, orders=None, quantities=None,
        sizes="default", out=None, plugins=(), timeout=None, progress=None, timing=None, preset=None,
        step_sweep=False, shard=None, log=False, isolate=False, resume=None, memory_limit=None):
    """Measure a matrix and return its cells as a pandas DataFrame.

    ``cases``/``methods`` are lists or comma-separated strings of names or glob
    patterns (default: all); ``dtypes`` float64/float32 (default both);
    ``devices`` cpu/gpu (default: the CPU and a GPU if present); ``orders`` and
    ``quantities`` narrow what each case is measured on; ``sizes`` is the profile
    (quick / default / full) that picks the sizes of swept cases.  The per-point
    table is ``df.attrs["points"]`` and the run metadata ``df.attrs["meta"]``.
    With ``out`` (a folder) the run is also written there; ``df.attrs["path"]``
    is the results file.  ``timing`` (e.g. ``{"repeats": 5, "min_batch_s": 0.01}``)
    tunes the timing loop (``sizes="quick"`` defaults to ``runner.QUICK_TIMING``: 3 batches
    of ≥ 2 ms, a smoke run); ``progress`` is a stream: a progress bar when it is a terminal
    (not under ``CI``), with ``log`` one line per cell.
    ``preset`` (e.g. ``"seed-001"``, see :mod:`harness.presets`) fixes the cases, sizes,
    methods, dtypes and orders instead; only ``devices`` may then be given.
    ``shard`` (``"i/N"``) measures only the i-th of N balanced parts of the plan
    (:mod:`harness.shard`); the metadata records it.
    ``timeout`` is each cell's budget in seconds (default: the case's own, else 120).
    ``isolate`` measures each cell in a worker process per backend (a crash is then a
    ``crashed`` row; ``memory_limit`` bytes caps each worker's address space).  With ``out``
    every finished cell is also appended to ``<run-id>.journal.jsonl`` there at once;
    ``resume`` (that journal, or the results file of an interrupted run) measures only the
    cells that run lacks, with its selection, and writes the whole run under its run id.
    """
    from harness import results, runner
    from harness.registry import load_plugin

    selection = dict(cases=cases, methods=methods, dtypes=dtypes, devices=devices, orders=orders,
                     quantities=quantities, sizes=sizes, preset=preset, shard=shard,
                     plugins=[str(Path(p).resolve()) for p in plugins], timeout=timeout, timing=timing,
                     step_sweep=step_sweep)
    meta, done_rows, done_points = None, [], []
    if resume is not None:
        from harness import journal

        given = [k for k, v in selection.items() if v not in (None, False, [], "default")]
        if given:
            raise UsageError(f"a resumed run keeps its own selection: drop {', '.join(given)}")
        meta, done_rows, done_points, out_dir = journal.resume_state(resume)
        selection = meta["selection"]
        out = out_dir if out is None else out
    (cases, methods, dtypes, devices, orders, quantities, sizes, preset, shard, plugins, timeout,
     timing, step_sweep) = (selection[k] for k in SELECTION)
    for plugin in plugins:
        load_plugin(plugin)
    if preset is None:
        pairs = runner.plan(cases, methods, dtypes, devices, orders, quantities, sizes)
    else:
        from harness import presets

        pairs = presets.plan(preset, devices, cases=cases, methods=methods, dtypes=dtypes, orders=orders,
                             quantities=quantities, sizes=None if sizes == "default" else sizes)
    if timing is None and sizes == "quick" and preset is None:  # a smoke run: shorter timing loops
        timing = runner.QUICK_TIMING
    chosen = None
    if step_sweep:
        from harness import step_sweep as sweep

        chosen = sweep.selection(pairs, step_sweep)  # before the run: a bad case name fails at once
    if shard is not None:  # one balanced part of the plan; the step sweep goes with the first
        from harness import shard as sharding

        pairs = sharding.select(pairs, shard)
        chosen = chosen if sharding.parse(shard)[0] == 1 else None
    if done_rows:  # resumed: the cells the interrupted run finished are kept as they are
        from harness.journal import KEY

        finished = {tuple(r[k] for k in KEY) for r in done_rows}
        pairs = [(m, c) for m, c in pairs if _key(m, c) not in finished]
    if meta is None:
        meta = runner.new_meta(pairs)
        meta["selection"] = selection
    cells, points, meta = runner.run_cells(pairs, timeout=timeout, progress=progress, timing=timing,
                                           log=log, isolate=isolate, plugins=plugins, journal_dir=out,
                                           meta=meta, done_rows=done_rows, done_points=done_points,
                                           memory_limit=memory_limit)
    if shard is not None:
        meta["shard"] = sharding.label(shard)
    steps = sweep.step_sweep(**chosen, run_id=meta["run_id"]) if chosen and meta["complete"] else None
    if out is not None:
        cells.attrs["path"] = str(results.write(cells, points, meta, out, steps=steps))
    cells.attrs.update(points=points, meta=meta, steps=steps)
    if out is not None and meta["complete"]:
        from harness import journal

        journal.path_for(out, meta["run_id"]).unlink(missing_ok=True)  # all of it is in Parquet now
    return cells


def _key(method, cell) -> tuple:
    """A cell's identity, as the results' (case, size, method, quantity, order, dtype, device)."""
    c = cell.case
    return (c.name, c.size_label, method.name, cell.quantity, cell.order, cell.dtype, cell.device)
