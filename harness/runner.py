"""Enumerate case × method × order × dtype × device and measure every cell.

Each cell ends in one status of ``results.STATUSES`` with a message; an
exception inside a method is a result, never the end of the run.  The order of
work in a cell is fixed: reference, prepare (derive / trace), input moved to
the device, first call (compile, warm-up), checks, then the steady-state
timing loop.  Only the last is ``eval_s``.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import signal
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from harness import accuracy as acc
from harness import memory
from harness.environment import backend_devices, gpus, run_metadata
from harness.extend import PROFILES, SWELL_KEYS, CaseSweep, Cell, Unavailable, Unsupported
from harness.primal import measure_primal
from harness.progress import bar as progress_bar
from harness.quantities import QUANTITIES, tasks, value_shape
from harness.reference import reference
from harness.registry import CASES, METHODS, UsageError
from harness.results import CELL_COLUMNS, POINT_COLUMNS, new_run_id
from harness.timing import measure

DTYPES = ("float64", "float32")
DEVICES = ("cpu", "gpu")
DEFAULT_TIMEOUT_S = 120.0
# The quick profile is a smoke run, not for publishing: every case at its smallest sizes, but
# only float64, one method per family and main backend, and a shorter timing loop
QUICK_TIMING = {"repeats": 3, "min_batch_s": 0.002}
QUICK_METHODS = ("sympy", "central", "dual", "jax", "torch")
QUICK_DTYPES = ("float64",)
GRADED_POINTS = 1000  # mpmath references per cell at most; a 10⁷-point sweep is graded on a sample


class CellTimeout(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds: float | None):
    """Raise CellTimeout in the main thread after ``seconds`` (Python code only)."""
    main = threading.current_thread() is threading.main_thread()
    usable = seconds and hasattr(signal, "setitimer") and main
    if not usable:
        yield
        return

    def expire(signum, frame):
        raise CellTimeout(f"cell exceeded its {seconds:g} s budget")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def default_devices() -> list[str]:
    return ["cpu", "gpu"] if gpus() else ["cpu"]


def device_names(devices) -> list[str]:
    """``--devices``: names from DEVICES, or ``all`` (without a GPU, gpu cells say unavailable);
    by default the CPU, and the GPU when one is present."""
    if devices == "all" or (not isinstance(devices, str) and devices and "all" in devices):
        return list(DEVICES)
    return _names(devices or default_devices(), DEVICES, "device")


def _names(value, known, what) -> list[str]:
    if value is None:
        return list(known)
    items = [v.strip() for v in (value.split(",") if isinstance(value, str) else value)]
    for item in items:
        if item not in known:
            raise UsageError(f"unknown {what} {item!r} (choose from {', '.join(known)})")
    return items


def expand(entries, profile: str) -> list:
    """Cases, with each sweep expanded to the sizes of ``profile``."""
    if profile not in PROFILES:
        raise UsageError(f"unknown sizes profile {profile!r} (choose from {', '.join(PROFILES)})")
    return [c for e in entries for c in (e.cases(profile) if isinstance(e, CaseSweep) else [e])]


def plan(cases=None, methods=None, dtypes=None, devices=None, orders=None,
         quantities=None, sizes="default") -> list[tuple]:
    """The (method, Cell) pairs to measure, in a stable order."""
    case_list = expand(CASES.select(cases), sizes)
    quick = sizes == "quick"
    method_list = METHODS.select(QUICK_METHODS if quick and methods is None else methods)
    if methods is None:  # opt-in methods (slow to set up) only when asked for by name or pattern
        method_list = [m for m in method_list if m.default]
    dtype_list = _names(QUICK_DTYPES if quick and dtypes is None else dtypes, DTYPES, "dtype")
    device_list = device_names(devices)
    if orders is not None:
        try:
            orders = {int(o) for o in (orders.split(",") if isinstance(orders, str) else orders)}
        except ValueError:
            raise UsageError(f"orders must be whole numbers, got {orders!r}") from None
    quantity_list = _names(quantities, QUANTITIES, "quantity")
    cells = [
        (method, Cell(case, order, dtype, device, quantity))
        for case in case_list
        for quantity, order in tasks(case)
        if (orders is None or order in orders) and quantity in quantity_list
        for method in method_list
        for dtype in dtype_list
        for device in device_list
    ]
    if not cells:
        raise UsageError("the selection has no cells (no case has the orders or quantities asked for)")
    return cells


def availability(method) -> str:
    """'available', or 'unavailable: <the import error>' for a missing backend."""
    for module in method.requires:
        try:
            importlib.import_module(module)
        except Exception as exc:  # any import failure: the backend is not usable here
            hint = f" ({method.hint})" if method.hint else ""
            return f"unavailable: cannot import {module}: {exc}{hint}"
    return "available"


def _check_method(method, cell: Cell):
    status = availability(method)
    if status != "available":
        raise Unavailable(status.removeprefix("unavailable: "))
    reason = method.unsupported_reason(cell)
    if reason:
        raise Unsupported(reason)


def _measure_training(method, cell: Cell) -> dict:
    """Gradient descent driven by the method's gradient, against the closed-form trajectory."""
    from harness import workloads

    spec = cell.case.training
    result = workloads.train(method, cell.case, cell.dtype, cell.device, spec.steps, spec.lr,
                             spec.start, loss_samples=0)
    ref = workloads.reference_training(cell.case, spec.steps, spec.lr, spec.start, spec.gradient(),
                                       loss_samples=0)
    dev = workloads.compare(result, ref.final)
    score = spec.accuracy(result.final) if spec.accuracy else None
    detail = {"steps": spec.steps, "lr": spec.lr, "final": result.final.tolist(),
              "reference_final": ref.final.tolist(), "accuracy": score,
              "reference_accuracy": spec.accuracy(ref.final) if spec.accuracy else None,
              "first_step_s": result.first_step_s}
    return dict(
        eval_s=result.wall_s, setup_s=result.setup_s, first_call_s=result.first_step_s,
        max_abs_err=dev["max_abs_dev"], max_rel_err=dev["max_rel_dev"],
        digits=acc.digits_of(dev["max_rel_dev"]), n_points=1, timing_number=spec.steps, timing_repeats=1,
        reference="closed-form gradient descent in float64", detail=json.dumps(detail),
        message=f"{spec.steps} steps in {result.wall_s:.3g} s; final θ off the reference by "
                f"{dev['max_abs_dev']:.2g}" + (f"; accuracy {score:.3f}" if score is not None else ""),
    )


def graded_points(case, x: np.ndarray) -> np.ndarray:
    """Indices of the points graded against the reference: all of them up to GRADED_POINTS,
    else the seed points and GRADED_POINTS evenly spaced ones (the timing still covers all)."""
    if len(x) <= GRADED_POINTS:
        return np.arange(len(x))
    spread = np.linspace(0, len(x) - 1, GRADED_POINTS).astype(int)
    return np.unique(np.concatenate([np.flatnonzero(case.seed_mask(x)), spread]))


def graded_x(cell: Cell, x64: np.ndarray, graded: np.ndarray | None = None) -> np.ndarray:
    """The points the cell is graded at, as the method sees them (rounded to its dtype)."""
    graded = graded_points(cell.case, x64) if graded is None else graded
    return x64[graded].astype(cell.dtype).astype(np.float64)


def cell_reference(cell: Cell):
    """The cell's reference, as its measurement computes (and caches) it."""
    return reference(cell.case, cell.order, graded_x(cell, cell.case.points()), cell.quantity)


@dataclass
class RunContext:
    """What the cells of one run share: the primal timings (per case, backend, dtype and
    device) and the measured copy bandwidth per device."""

    primal_cache: dict = field(default_factory=dict)
    bandwidth: dict = field(default_factory=dict)


def measure_cell(method, cell: Cell, run_id: str, timeout: float | None = DEFAULT_TIMEOUT_S,
                 timing: dict | None = None, context: RunContext | None = None):
    """One cell's row (a dict) and its per-point rows (a list of dicts)."""
    case = cell.case
    x64 = case.points()  # once: a 10⁷-point sweep sorts its points to build them
    row = _new_row(method, cell, run_id, n_points=len(x64), message="")
    measured = Measured()
    started = time.perf_counter()
    try:
        # NaN and overflow are results (checked below), not warnings to print mid-run
        with time_limit(timeout), np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _check_method(method, cell)
            if cell.quantity == "training":
                row.update(_measure_training(method, cell))
            else:
                _measure_values(method, cell, x64, row, timing, measured, context or RunContext())
            row["status"] = "ok"
    except Unavailable as exc:
        row.update(status="unavailable", message=str(exc))
    except Unsupported as exc:
        row.update(status="unsupported", message=str(exc))
    except CellTimeout as exc:
        row.update(status="timeout", message=str(exc))
    except Exception as exc:  # the method's failure is a result
        row.update(status="failed", message=f"{type(exc).__name__}: {exc}".strip())
    row["cell_s"] = time.perf_counter() - started
    points = []
    if measured.values is not None and measured.ref is not None:
        points = _point_rows(row, measured.x, measured.values, measured.ref, measured.seed_mask)
    return row, points


@dataclass
class Measured:
    """What a cell computed before it ended (kept for the per-point table even on failure)."""

    x: np.ndarray | None = None
    values: np.ndarray | None = None
    ref: object = None
    seed_mask: np.ndarray | None = None


def _measure_values(method, cell: Cell, x64: np.ndarray, row: dict, timing, measured: Measured,
                    context: RunContext) -> None:
    """Reference, prepare, first call, checks, then the steady-state timing loop."""
    case = cell.case
    x = x64.astype(cell.dtype)
    graded = graded_points(case, x64)  # all points, or a fixed sample of a huge sweep
    measured.x, measured.seed_mask = x[graded], case.seed_mask(x64)[graded]
    ref = measured.ref = reference(case, cell.order, graded_x(cell, x64, graded), cell.quantity)
    sampled = f" at {len(graded)} of {len(x)} points" if len(graded) < len(x) else ""
    row["reference"] = ref.kind + sampled
    t0 = time.perf_counter()
    evaluator = method.prepare(cell)
    t1 = time.perf_counter()
    xd = evaluator.to_device(x)
    t2 = time.perf_counter()
    phases = dict(evaluator.phases)
    if evaluator.compile is not None:  # ahead of time; a hook that traces first reports derive_s
        found = dict(evaluator.compile(xd) or {})
        hook_s = time.perf_counter() - t2
        traced_s = found.pop("derive_s", 0.0)
        evaluator.info.update(found)
        if traced_s:
            phases["derive_s"] = phases.get("derive_s", 0.0) + traced_s
        phases["compile_s"] = phases.get("compile_s", 0.0) + hook_s - traced_s
    t3 = time.perf_counter()
    out = evaluator.call(xd)
    t4 = time.perf_counter()
    # setup: prepare, compile and the first call, plus work done once per run and reused here
    row.update(setup_s=(t1 - t0) + (t4 - t2) + phases.get("reused_s", 0.0), first_call_s=t4 - t3,
               transfer_s=t2 - t1,
               derive_s=phases.get("derive_s"), compile_s=phases.get("compile_s"))
    row["detail"] = json.dumps(evaluator.info, default=str) if evaluator.info else None
    shape = value_shape(case, cell.quantity, len(x))
    values = measured.values = acc.check_result(evaluator.to_numpy(out), shape)[graded]
    a = acc.accuracy(values, ref, measured.seed_mask)
    row.update(max_abs_err=a.max_abs_err, max_rel_err=a.max_rel_err, digits=a.digits,
               seed_digits=a.seed_digits, n_undefined=a.n_undefined)
    if a.n_undefined:
        where = ", ".join(_point_text(v) for v in measured.x[~ref.defined])
        row["message"] = f"derivative undefined at {where}: no error computed there"
    steady = measure(lambda: evaluator.call(xd), **(timing or {}))
    row.update(eval_s=steady.median_s, eval_iqr_s=steady.iqr_s, timing_number=steady.number,
               timing_repeats=steady.repeats, eval_samples_s=steady.samples_s)
    with memory.host_peak() as host:
        evaluator.call(xd)
    row.update(peak_host_bytes=host.peak_bytes,
               peak_device_bytes=memory.device_peak(method, cell, evaluator, xd))
    if evaluator.describe is not None:  # swell and graph sizes: gathered outside every clock
        evaluator.info.update(evaluator.describe())
    row.update({k: evaluator.info.get(k) for k in SWELL_KEYS})
    row["detail"] = json.dumps(evaluator.info, default=str) if evaluator.info else None
    row.update(measure_primal(method, cell, evaluator, x, xd, timing, context.primal_cache))
    row["cost_ratio"] = row["eval_s"] / row["primal_s"] if row["primal_s"] else None
    row.update(memory.bandwidth_share(cell, len(x), row["eval_s"], context.bandwidth))


def _point_text(v) -> str:
    return f"x={v:g}" if np.ndim(v) == 0 else f"x=({', '.join(f'{c:g}' for c in v)})"


def _point_rows(row: dict, x, values, ref, seed_mask) -> list[dict]:
    """One row per point; a vector point or value is summarised by its first
    coordinate (``x``) and its largest magnitude (``value``, ``ref``)."""
    abs_err, rel_err = acc.point_errors(values, ref)
    n = len(x)
    scalar = values.ndim == 1
    if scalar:
        summary, ref_lo = (lambda a: a.tolist()), ref.lo.tolist()
    else:
        summary, ref_lo = (lambda a: np.abs(a).reshape(n, -1).max(axis=1).tolist()), [np.nan] * n
    keys = {k: row[k] for k in ("run_id", "case", "size", "method", "quantity", "order", "dtype", "device")}
    columns = dict(
        point=range(n), x=(x if x.ndim == 1 else x[:, 0]).astype(float).tolist(),
        value=summary(values), ref=summary(ref.hi), ref_lo=ref_lo, ref_text=ref.text,
        f=ref.f.tolist(), abs_err=abs_err.tolist(), rel_err=rel_err.tolist(),
        seed=seed_mask.tolist(), defined=ref.defined.tolist(),
    )
    return [dict(keys, **{k: v[i] for k, v in columns.items()}) for i in range(n)]


@contextlib.contextmanager
def _sigterm_interrupts():
    """Treat SIGTERM (a job killed by a scheduler) like Ctrl-C: keep what is finished."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _describe_cases(pairs) -> dict:
    cases = {cell.case.name: cell.case for _, cell in pairs}  # a sweep: described by its first size
    return {n: {"formula": c.formula, "domain": list(c.domain), "grid": c.grid, "dim": c.dim,
                "out_dim": c.out_dim, "quantities": list(c.quantities),
                "seed_points": len(c.seed_points), "kinks": list(c.kinks),
                "source": c.source, "note": c.note} for n, c in cases.items()}


def _describe_methods(pairs) -> dict:
    methods = {m.name: m for m, _ in pairs}
    return {n: {"family": m.family, "mode": m.mode, "backend": m.backend, "batched": m.batched,
                "description": m.description} for n, m in methods.items()}


def new_meta(pairs) -> dict:
    """A run's metadata: its id, the machine, the cases and methods, the measured bandwidth."""
    bandwidth = memory.bandwidth(sorted({cell.device for _, cell in pairs}))
    return {"run_id": new_run_id(), **run_metadata(), "cases": _describe_cases(pairs),
            "methods": _describe_methods(pairs), "bandwidth_bytes_per_s": bandwidth}


def cell_budget(cell: Cell, timeout: float | None) -> float:
    """Seconds a cell may take: the run's ``timeout`` if given, else its case's, else the default."""
    return timeout if timeout is not None else (cell.case.timeout_s or DEFAULT_TIMEOUT_S)


def _new_row(method, cell: Cell, run_id: str, **values) -> dict:
    """A cell's row: what was measured (case, method, dtype, …), then ``values``; the rest None."""
    case = cell.case
    row = dict.fromkeys(CELL_COLUMNS)
    row.update(run_id=run_id, case=case.name, size=case.size_label, method=method.name,
               family=method.family, mode=method.mode, batched=method.batched, quantity=cell.quantity,
               order=cell.order, dtype=cell.dtype, device=cell.device, dim=case.dim, **values)
    return row


def run_cells(pairs, timeout=None, progress=None, timing=None, log=False, isolate=False, plugins=(),
              journal_dir=None, meta=None, done_rows=(), done_points=(), memory_limit=None):
    """Measure ``pairs`` from :func:`plan`; (cells, points, metadata) as DataFrames.

    ``timing`` passes ``repeats`` / ``min_batch_s`` to :func:`harness.timing.measure`;
    ``timeout`` is every cell's budget (default: the case's own, else DEFAULT_TIMEOUT_S).
    ``isolate`` measures each cell in its backend's worker process (:mod:`harness.workers`),
    which also loads ``plugins``; a crash is then a ``crashed`` row.  With ``journal_dir``
    each finished cell is appended to ``<run-id>.journal.jsonl`` there at once
    (:mod:`harness.journal`).  A resumed run passes its ``meta`` and the rows already
    measured (``done_rows``, ``done_points``).  Ctrl-C or SIGTERM stops after the finished
    cells, which are kept (metadata ``complete`` is then False).
    """
    import pandas as pd

    from harness import journal, workers

    meta = new_meta(pairs) if meta is None else meta
    bandwidth = meta["bandwidth_bytes_per_s"]
    context = RunContext(bandwidth=bandwidth)
    meta["complete"] = False
    rows, points = list(done_rows), list(done_points)
    log_file = None
    if journal_dir is not None:
        log_file = journal.Journal(journal.path_for(journal_dir, meta["run_id"]), meta, rows, points)
    pool = workers.Pool(plugins, bandwidth, timing, memory_limit) if isolate else None
    with _sigterm_interrupts(), progress_bar(progress, len(pairs), log) as done:
        try:
            for method, cell in pairs:
                budget = cell_budget(cell, timeout)
                started = time.perf_counter()
                outcome, value = pool.measure(method, cell, meta["run_id"], budget) if pool else ("local", 0)
                if outcome == "local":
                    row, pts = measure_cell(method, cell, meta["run_id"], budget, timing, context)
                elif outcome == "measured":
                    row, pts = value
                else:
                    # its worker was stopped or died: nothing but what the cell was and why
                    row, pts = _new_row(method, cell, meta["run_id"], status=outcome, message=value,
                                        cell_s=time.perf_counter() - started), []
                rows.append(row)
                points += pts
                if log_file:
                    log_file.add(row, pts)
                done(row)
            meta["complete"] = True
        except KeyboardInterrupt:
            print(f"interrupted: keeping {len(rows)} finished cells", file=sys.stderr)
        finally:
            backends = backend_devices()
            if pool:
                backends.update(pool.backends())
                pool.close()
            if log_file:
                log_file.close()
    meta["n_cells"] = len(rows)
    meta["backends"] = backends
    cells = pd.DataFrame(rows, columns=CELL_COLUMNS)
    points = pd.DataFrame(points, columns=POINT_COLUMNS)
    return cells, points, meta
