"""diffbench's engine: compare ways of differentiating functions in Python.

``import harness`` needs only NumPy; every backend is imported by the method
that uses it.  Extending: see :mod:`harness.extend`.
"""

from __future__ import annotations

__version__ = "0.1.0"


def run(cases=None, methods=None, dtypes=None, devices=None, orders=None, quantities=None,
        sizes="default", out=None, plugins=(), timeout=None, progress=None, timing=None, preset=None,
        step_sweep=False, shard=None):
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
    of ≥ 2 ms, a smoke run); ``progress`` is a stream for one line per cell.
    ``preset`` (e.g. ``"seed-001"``, see :mod:`harness.presets`) fixes the cases, sizes,
    methods, dtypes and orders instead; only ``devices`` may then be given.
    ``shard`` (``"i/N"``) measures only the i-th of N balanced parts of the plan
    (:mod:`harness.shard`); the metadata records it.
    ``step_sweep=True`` adds the finite differences' error against their step
    (:mod:`harness.step_sweep`, on its chosen cases that the run measures, a second or so) as
    ``df.attrs["steps"]``, written as ``<run-id>.steps.parquet``; a list of case names sweeps those.
    """
    from harness import results, runner
    from harness.registry import load_plugin

    for plugin in plugins:
        load_plugin(plugin)
    if preset is None:
        pairs = runner.plan(cases, methods, dtypes, devices, orders, quantities, sizes)
    else:
        from harness import presets

        pairs = presets.plan(preset, devices, cases=cases, methods=methods, dtypes=dtypes, orders=orders,
                             quantities=quantities, sizes=None if sizes == "default" else sizes)
    if shard is not None:  # one balanced part of the plan
        from harness import shard as sharding

        pairs = sharding.select(pairs, shard)
    timeout = runner.DEFAULT_TIMEOUT_S if timeout is None else timeout
    if timing is None and sizes == "quick" and preset is None:  # a smoke run: shorter timing loops
        timing = runner.QUICK_TIMING
    chosen = None
    if step_sweep:
        from harness import step_sweep as sweep

        chosen = sweep.selection(pairs, step_sweep)  # before the run: a bad case name fails at once
    cells, points, meta = runner.run_cells(pairs, timeout=timeout, progress=progress, timing=timing)
    if shard is not None:
        meta["shard"] = sharding.label(shard)
    steps = sweep.step_sweep(**chosen, run_id=meta["run_id"]) if chosen and meta["complete"] else None
    if out is not None:
        cells.attrs["path"] = str(results.write(cells, points, meta, out, steps=steps))
    cells.attrs.update(points=points, meta=meta, steps=steps)
    return cells
