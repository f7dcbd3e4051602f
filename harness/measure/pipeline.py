"""One cell, measured as a straight pipeline into one typed row.

prepare → to_device → compile → first call → values → accuracy → timing (with the primal) →
memory: only the timing loop is ``eval_s`` (a run with ``timing={"repeats": 0}`` stops after the
accuracy: a capability check).  Each stage hands on the columns it measured as
soon as it has them, so a cell that fails half-way keeps what came before.  Every cell ends
in one status with a true message: ``out_of_range`` where the true values exceed the dtype's
largest number (no result could be right), ``unavailable`` and ``unsupported`` from the method's
declaration or its ``prepare``, ``timeout`` when its budget was spent, and ``failed`` for
any exception the method raises — ``SystemExit`` and ``KeyboardInterrupt`` included (a
user's Ctrl-C is :class:`~harness.host.limits.StopRun`, which stops the run instead).  What the
method prints goes into the run's output file (:mod:`harness.host.capture`), never to diffbench's
own output; a failed cell's message ends with its last lines.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from harness.host import threads
from harness.host.capture import Capture, with_output
from harness.host.environment import load_average
from harness.host.limits import CellTimeout, StopRun, time_limit
from harness.measure import memory, primal, workloads
from harness.measure.outcomes import Failed, Measured, Retimed
from harness.measure.timing import DEFAULT as DEFAULT_TIMING
from harness.measure.timing import (
    LoopSettings,
    Timing,
    TimingSettings,
    measure_interleaved,
    paired_ratio,
    pooled,
)
from harness.model.method import Cell, Method, Unavailable, Unsupported, availability
from harness.model.quantities import value_shape
from harness.stats import noise
from harness.store.schema import SWELL_KEYS, CellKey, CellRow, PointRow
from harness.truth import accuracy as acc
from harness.truth.reference import reference

# each workload quantity (harness.store.schema.WORKLOADS) and how one cell of it is measured
WORKLOAD_MEASURES = {"training": workloads.measure_training}

GRADED_POINTS = 1000  # mpmath references per cell at most; a 10⁷-point sweep is graded on a sample


@dataclass
class RunContext:
    """What the cells of one run (in one process) share: the measured copy bandwidth per device,
    the file the cells' output goes into (None: left where it is), and whether a reference cached
    on disk by an earlier run may be taken (False: ``--no-cache``, each computed afresh)."""

    bandwidth: dict = field(default_factory=dict)
    output: Capture | None = None
    reference_cache: bool = True


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


def cell_reference(cell: Cell, reuse: bool = True):
    """The cell's reference, as its measurement computes (and caches) it; ``reuse=False``: not
    taken from the disk cache (:func:`harness.truth.reference.reference`)."""
    return reference(cell.case, cell.order, graded_x(cell, cell.case.points()), cell.quantity, reuse=reuse)


def skeleton(method: Method, cell: Cell, run_id: str, status: str, message: str, **figures) -> CellRow:
    """A cell's row: what was measured (case, method, dtype, …) and how it ended, then
    ``figures``; every other figure None."""
    case = cell.case
    figures.setdefault("n_points", case.n_points)  # a training cell is one point
    return CellRow(run_id=run_id, case=case.name, size=case.size_label, method=method.name,
                   family=method.family, mode=method.mode, batched=method.batched, quantity=cell.quantity,
                   order=cell.order, dtype=cell.dtype, device=cell.device, status=status, message=message,
                   dim=case.dim, **figures)


def describe(exc: BaseException) -> str:
    """``Type: message`` of an exception a method raised (``Type`` alone without a message)."""
    if isinstance(exc, RuntimeError) and isinstance(exc.__cause__, StopIteration) \
            and str(exc) == "generator raised StopIteration":
        exc = exc.__cause__  # the method's own StopIteration, renamed inside the pipeline (PEP 479)
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def check_declared(method: Method, cell: Cell) -> None:
    """Unavailable (its libraries do not import) or Unsupported (outside its declaration)."""
    status = availability(method)
    if status != "available":
        raise Unavailable(status.removeprefix("unavailable: "))
    reason = method.unsupported_reason(cell)
    if reason:
        raise Unsupported(reason)


def measure_cell(method: Method, cell: Cell, run_id: str, budget: float | None = None,
                 timing: TimingSettings = DEFAULT_TIMING, context: RunContext | None = None) -> Measured:
    """One cell's row and its per-point rows.  ``budget``: seconds before it is ``timeout``;
    ``timing``: how its timing loop runs (:class:`harness.measure.timing.TimingSettings`)."""
    context = context or RunContext()
    threads.enforce()  # a backend loaded by an earlier cell gets this process's thread setting
    started = time.perf_counter()
    found: dict = {"load_start": load_average()}
    points: list[PointRow] = []
    status, message = "ok", ""
    output = context.output.cell() if context.output else contextlib.nullcontext()
    try:
        # NaN and overflow are results (checked below), not warnings to print mid-run; the alarm
        # is innermost, so that it is off before the output is put back
        with output, np.errstate(all="ignore"), warnings.catch_warnings(), time_limit(budget):
            warnings.simplefilter("ignore")
            check_declared(method, cell)
            whole = WORKLOAD_MEASURES.get(cell.quantity)  # a workload, measured as a whole
            if whole is not None:
                found.update(whole(method, cell))
            else:
                for part in _stages(method, cell, run_id, timing, context):
                    if isinstance(part, list):
                        points = part
                    else:
                        found.update(part)
    except StopRun:
        raise
    except Unavailable as exc:
        status, message = "unavailable", str(exc)
    except Unsupported as exc:
        status, message = "unsupported", str(exc)
    except acc.OutOfRange as exc:
        status, message = "out_of_range", str(exc)
    except CellTimeout as exc:
        status, message = "timeout", f"{exc} (stopped after {time.perf_counter() - started:.3g} s)"
    except BaseException as exc:  # the method's failure is a result, whatever it raised
        tail = context.output.tail() if context.output else ""
        status, message = "failed", with_output(describe(exc), tail)
    note = found.pop("message", "")
    row = skeleton(method, cell, run_id, status, note if status == "ok" else message,
                   cell_s=time.perf_counter() - started, load_end=load_average(), **found)
    return Measured(row, points)


# a graph is traced (torch.fx, jaxpr) only where a call is quick: a trace runs every operation
# in Python, hundreds of calls' worth (torch.fx over an LSTM of 128 characters: 100 s at 0.23 s a call)
DESCRIBE_MAX_CALL_S = 0.02


def _stages(method: Method, cell: Cell, run_id: str, timing: TimingSettings, context: RunContext):
    """The pipeline: yields each stage's columns (dicts) and the per-point rows (a list)."""
    case = cell.case
    x64 = case.points()  # once: a 10⁷-point sweep sorts its points to build them
    x = x64.astype(cell.dtype)
    graded = graded_points(case, x64)  # all points, or a fixed sample of a huge sweep
    xg, seeds = x[graded], case.seed_mask(x64)[graded]
    ref = reference(case, cell.order, xg.astype(np.float64), cell.quantity,  # as graded_x gives them
                    reuse=context.reference_cache)
    sampled = f" at {len(graded)} of {len(x)} points" if len(graded) < len(x) else ""
    yield {"reference": ref.kind + sampled, "reference_cached": ref.from_cache}
    beyond = acc.beyond_range(ref, cell.dtype, cell.quantity)
    if beyond:
        raise acc.OutOfRange(beyond)

    original = x.copy()  # to tell whether the method writes into its input
    evaluator, xd, out, setup = _ready(method, cell, x)
    yield {**setup, "detail": _detail(evaluator)}
    _check_input_kept(evaluator, xd, original, "its first call")

    values = acc.check_result(evaluator.to_numpy(out), value_shape(case, cell.quantity, len(x)))[graded]
    values, values_lo = acc.graded(values, ref)  # every entry, or the reference's projections
    yield point_rows((run_id, *CellKey.of_cell(method, cell)), xg, values, ref, seeds, values_lo)
    a = acc.accuracy(values, ref, seeds, values_lo)
    yield {"max_abs_err": a.max_abs_err, "max_rel_err": a.max_rel_err, "digits": a.digits,
           "seed_digits": a.seed_digits, "n_undefined": a.n_undefined,
           "message": _undefined_note(xg, ref) if a.n_undefined else ""}
    if not timing.timed:  # checked and graded; not timed, nor its primal, memory or swell
        return

    try:
        f_call, f_backend = primal.primal_call(method, cell, evaluator, x, xd)
    except Exception as e:  # the derivative is still timed; the row says why f was not
        f_call, f_backend = None, None
        yield {"message": f"the function itself failed, so no cost_ratio: {type(e).__name__}: {e}"}
    chosen = {}

    def rounds(round_s):  # one pass with every batch where timing it again would cost too much
        chosen["passes"] = timing.passes_for(setup["setup_s"] + setup["first_call_s"], round_s)
        return timing.loop(chosen["passes"])

    steady, f_timing = _timing_loop(evaluator, xd, f_call, timing.loop(), rounds=rounds)
    _check_input_kept(evaluator, xd, original, "its timing loop")
    yield {**timing_figures(steady, f_timing), "timing_passes": chosen["passes"]}
    if f_timing is not None:
        yield {"primal_backend": f_backend}

    yield {"peak_host_bytes": memory.call_peak(lambda: evaluator.call(xd), steady.median_s,
                                               backend=method.backend),
           "peak_device_bytes": memory.device_peak(method, cell, evaluator, xd)}

    if evaluator.describe is not None and steady.median_s <= DESCRIBE_MAX_CALL_S:
        # swell and graph sizes: gathered outside every clock
        evaluator.info.update(evaluator.describe())
    yield {**{k: evaluator.info.get(k) for k in SWELL_KEYS}, "detail": _detail(evaluator)}

    yield memory.bandwidth_share(cell, len(x), steady.median_s, context.bandwidth)


def _ready(method: Method, cell: Cell, x: np.ndarray):
    """prepare → to_device → compile → first call: (evaluator, input on its device, first output,
    the setup columns)."""
    t0 = time.perf_counter()
    evaluator = method.prepare(cell)
    t1 = time.perf_counter()
    xd = evaluator.to_device(x)
    t2 = time.perf_counter()
    phases = _compile(evaluator, xd, dict(evaluator.phases))
    t3 = time.perf_counter()
    out = evaluator.call(xd)
    t4 = time.perf_counter()
    # setup: prepare, compile and the first call, plus work done once per run and reused here
    setup = {"setup_s": (t1 - t0) + (t4 - t2) + phases.get("reused_s", 0.0), "first_call_s": t4 - t3,
             "transfer_s": t2 - t1, "derive_s": phases.get("derive_s"), "compile_s": phases.get("compile_s")}
    return evaluator, xd, out, setup


def _timing_loop(evaluator, xd, f_call, loop: LoopSettings, rounds=None) -> tuple[Timing, Timing | None]:
    """One timing pass: the derivative's batches alternating with f's (when there is an f)."""
    calls = [lambda: evaluator.call(xd)] + ([f_call] if f_call else [])
    shares = (1.0, primal.SHARE)[:len(calls)]
    steady, *f_timing = measure_interleaved(calls, repeats=loop.repeats, min_batch_s=loop.min_batch_s,
                                            long_repeats=loop.long_repeats, shares=shares,
                                            rounds=rounds)
    return steady, (f_timing[0] if f_timing and f_timing[0].median_s > 0 else None)


def timing_figures(steady: Timing, f_timing: Timing | None) -> dict:
    """A row's timing columns from its derivative's loop (one pass, or several pooled) and f's."""
    interval = noise.median_interval(steady.samples_s)
    spread = interval.noise(steady.median_s)
    found = {"eval_s": steady.median_s, "eval_iqr_s": steady.iqr_s, "timing_number": steady.number,
             "timing_repeats": steady.repeats, "eval_samples_s": steady.samples_s,
             "eval_pass_s": steady.pass_medians_s, "eval_ci_lo_s": interval.lo_s,
             "eval_ci_hi_s": interval.hi_s, "eval_ci_coverage": interval.coverage, "eval_noise": spread,
             "noisy": noise.is_noisy(spread)}
    if f_timing is not None:
        found.update(primal_s=f_timing.median_s, primal_samples_s=f_timing.samples_s,
                     cost_ratio=paired_ratio(steady, f_timing))
    return found


def time_again(method: Method, cell: Cell, timing: TimingSettings, n_passes: int, budget: float | None = None,
               context: RunContext | None = None) -> Retimed | Failed:
    """A later timing pass of a cell measured ok: prepared afresh (in a fresh worker process, as the
    loop sends it), its first call made, and only its timing loop run again; not graded again."""
    threads.enforce()
    output = context.output.cell() if context and context.output else contextlib.nullcontext()
    try:
        with output, np.errstate(all="ignore"), warnings.catch_warnings(), time_limit(budget):
            warnings.simplefilter("ignore")
            x = cell.case.points().astype(cell.dtype)
            evaluator, xd, _, _ = _ready(method, cell, x)
            try:
                f_call, _ = primal.primal_call(method, cell, evaluator, x, xd)
            except Exception:  # as in the first pass: the derivative is timed without it
                f_call = None
            return Retimed(*_timing_loop(evaluator, xd, f_call, timing.loop(n_passes)))
    except StopRun:
        raise
    except CellTimeout as exc:
        return Failed(f"its later timing pass ran out of time: {exc}")
    except BaseException as exc:  # the method's failure: the first pass stands
        return Failed(f"its later timing pass failed: {describe(exc)}")


def _recorded(samples, median, pass_medians=None, number=None) -> Timing | None:
    """A row's recorded loop, to pool with a later pass (which computes the pooled spread itself)."""
    if samples is None or median is None:
        return None
    samples = list(samples)
    return Timing(median, math.nan, number or 1, len(samples), samples, list(pass_medians or [median]))


def with_pass(row: CellRow, again: Retimed) -> CellRow:
    """``row`` with a later timing pass pooled into its timing columns
    (:func:`harness.measure.timing.pooled`)."""
    steady = _recorded(row.eval_samples_s, row.eval_s, row.eval_pass_s, row.timing_number)
    steady = pooled([steady, again.derivative])
    f_before = _recorded(row.primal_samples_s, row.primal_s)
    f_timing = pooled([f_before, again.primal]) if f_before is not None and again.primal is not None else None
    found = timing_figures(steady, f_timing)  # f timed in one pass only: its figures stay the first's
    if row.bandwidth_share is not None and row.eval_s:
        found["bandwidth_share"] = row.bandwidth_share * row.eval_s / steady.median_s
    return dataclasses.replace(row, **found)


def _compile(evaluator, xd, phases: dict) -> dict:
    """Run the evaluator's ahead-of-time hook, if any; the phases with its time added (a hook
    that traces first reports that part as derive_s)."""
    if evaluator.compile is None:
        return phases
    t0 = time.perf_counter()
    found = dict(evaluator.compile(xd) or {})
    hook_s = time.perf_counter() - t0
    traced_s = found.pop("derive_s", 0.0)
    evaluator.info.update(found)
    if traced_s:
        phases["derive_s"] = phases.get("derive_s", 0.0) + traced_s
    phases["compile_s"] = phases.get("compile_s", 0.0) + hook_s - traced_s
    return phases


def _detail(evaluator) -> str | None:
    return json.dumps(evaluator.info, default=str) if evaluator.info else None


class WroteIntoInput(Exception):
    """The method changed its input array: its timing loop would run on changing data."""


def _check_input_kept(evaluator, xd, original: np.ndarray, when: str) -> None:
    try:
        now = np.asarray(evaluator.to_numpy(xd))
    except Exception:  # an input its to_numpy cannot read back: nothing to compare
        return
    if now.shape == original.shape and not np.array_equal(now, original, equal_nan=True):
        changed = int(np.count_nonzero(~((now == original) | (np.isnan(now) & np.isnan(original)))))
        raise WroteIntoInput(f"the method writes into its input array ({changed} of {original.size} "
                             f"numbers changed by {when}): its timing would run on changing data")


def _undefined_note(x, ref) -> str:
    where = ", ".join(_point_text(v) for v in x[~ref.defined])
    return f"derivative undefined at {where}: no error computed there"


def _point_text(v) -> str:
    return f"x={v:g}" if np.ndim(v) == 0 else f"x=({', '.join(f'{c:g}' for c in v)})"


def point_rows(key: tuple, x, values, ref, seed_mask, values_lo=0.0) -> list[PointRow]:
    """One row per point (``key``: the cell's run_id, case, size, method, quantity, order,
    dtype, device); a vector point or value is summarised by its first coordinate (``x``) and
    its largest magnitude (``value``, ``ref``)."""
    abs_err, rel_err = acc.point_errors(values, ref, values_lo)
    n = len(x)
    if values.ndim == 1:
        value, ref_hi, ref_lo = values.tolist(), ref.hi.tolist(), ref.lo.tolist()
    else:
        def largest(a):
            return np.abs(a).reshape(n, -1).max(axis=1).tolist()

        value, ref_hi, ref_lo = largest(values), largest(ref.hi), [np.nan] * n
    first = (x if x.ndim == 1 else x[:, 0]).astype(float).tolist()
    columns = zip(range(n), first, value, ref_hi, ref_lo, ref.text, ref.f.tolist(), abs_err.tolist(),
                  rel_err.tolist(), seed_mask.tolist(), ref.defined.tolist())
    return [PointRow(*key, *c) for c in columns]
