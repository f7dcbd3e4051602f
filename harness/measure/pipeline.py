"""One cell, measured as a straight pipeline into one typed row.

prepare → to_device → compile → first call → values → accuracy → calibration (:func:`prepare_cell`,
which hands on the live cell, :class:`Held`) → timing rounds (with the primal; a run times the
methods of a task in shared rounds: :mod:`harness.runner.rounds`) → memory and sizes
(:meth:`Held.finish`): only the rounds are ``eval_s`` (a run with ``timing={"rounds": 0}`` stops
after the accuracy: a capability check).  Each stage hands on the columns it measured as
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
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from harness.host import threads
from harness.host.capture import Capture, with_output
from harness.host.environment import load_average
from harness.host.limits import CellTimeout, StopRun, time_limit
from harness.measure import memory, primal, workloads
from harness.measure.outcomes import Measured
from harness.measure.timing import DEFAULT as DEFAULT_TIMING
from harness.measure.timing import Batches, TimingSettings, timing_of
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


def prepare_cell(method: Method, cell: Cell, run_id: str, budget: float | None = None,
                 timing: TimingSettings = DEFAULT_TIMING,
                 context: RunContext | None = None) -> tuple[Measured, Held | None]:
    """A cell measured up to its timing: prepared, first call, checked, graded and its calls
    calibrated.  Its row so far with its per-point rows, and the live cell to time in its task's
    rounds (None where the row is final: any status but ok, an untimed run, a workload).
    ``budget``: seconds before it is ``timeout``."""
    context = context or RunContext()
    threads.enforce()  # a backend loaded by an earlier cell gets this process's thread setting
    started = time.perf_counter()
    found: dict = {"load_start": load_average()}
    points: list[PointRow] = []
    held = None
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
                    elif isinstance(part, Held):
                        held = part
                    else:  # a stage's notes are added to the earlier ones
                        notes = "; ".join(filter(None, [found.get("message"), part.get("message")]))
                        found.update(part, **({"message": notes} if notes else {}))
    except StopRun:
        raise
    except BaseException as exc:  # the method's failure is a result, whatever it raised
        status, message = outcome_of(exc, started, context)
        held = None
    notes = found.pop("message", "")
    row = skeleton(method, cell, run_id, status, notes if status == "ok" else message,
                   cell_s=time.perf_counter() - started, load_end=load_average(), **found)
    return Measured(row, points), held


def outcome_of(exc: BaseException, started: float, context: RunContext | None = None) -> tuple[str, str]:
    """(status, message) of a cell whose measurement raised ``exc``."""
    if isinstance(exc, Unavailable):
        return "unavailable", str(exc)
    if isinstance(exc, Unsupported):
        return "unsupported", str(exc)
    if isinstance(exc, acc.OutOfRange):
        return "out_of_range", str(exc)
    if isinstance(exc, CellTimeout):
        return "timeout", f"{exc} (stopped after {time.perf_counter() - started:.3g} s)"
    tail = context.output.tail() if context and context.output else ""
    return "failed", with_output(describe(exc), tail)


def measure_cell(method: Method, cell: Cell, run_id: str, budget: float | None = None,
                 timing: TimingSettings = DEFAULT_TIMING, context: RunContext | None = None) -> Measured:
    """One cell measured alone: prepared (:func:`prepare_cell`), timed in rounds of its own and
    finished; its row and its per-point rows.  A run times the methods of a task in shared rounds
    instead (:mod:`harness.runner.rounds`)."""
    started = time.perf_counter()
    measured, held = prepare_cell(method, cell, run_id, budget, timing, context)
    if held is None:
        return measured
    samples: list[list[float]] = []
    extras, failure = {}, None
    try:
        left = None if budget is None else max(budget - measured.row.cell_s, 1e-3)
        with _output(context), np.errstate(all="ignore"), warnings.catch_warnings(), time_limit(left):
            warnings.simplefilter("ignore")
            rounds_started = time.perf_counter()
            while timing.more_rounds(len(samples), time.perf_counter() - rounds_started):
                samples.append(held.batch())
            extras = held.finish(float(np.median([s[0] for s in samples])), context)
    except StopRun:
        raise
    except BaseException as exc:
        failure = outcome_of(exc, started, context)
    row = timed_row(measured.row, held.numbers, samples, list(range(len(samples))), len(samples),
                    extras, failure, time.perf_counter() - started - measured.row.cell_s)
    return Measured(row, measured.points)


def guarded(work, budget: float | None, context: RunContext | None = None):
    """``work()`` on a held cell within ``budget`` s, its warnings and NaNs kept quiet and what it
    prints kept off the caller's output (as its preparation's is, :func:`prepare_cell`): (its value,
    None), or (None, (status, message)) where it failed (:func:`outcome_of`)."""
    started = time.perf_counter()
    try:
        with _output(context), np.errstate(all="ignore"), warnings.catch_warnings(), time_limit(budget):
            warnings.simplefilter("ignore")
            return work(), None
    except StopRun:
        raise
    except BaseException as exc:  # the method's failure is a result, whatever it raised
        return None, outcome_of(exc, started, context)


def _output(context: RunContext | None):
    """Where a held cell's batch or finish prints: the run's output file, emptied first (its last
    lines then go with its failure), or where it is (no file)."""
    return context.output.cell() if context and context.output else contextlib.nullcontext()


class Held:
    """A cell prepared and calibrated, held by the process that measures it across its task's
    rounds: its evaluator, its input on its device, and its calls' batches (the derivative's, and
    f's where f could be timed)."""

    def __init__(self, method: Method, cell: Cell, evaluator, xd, original: np.ndarray, f_call,
                 timing: TimingSettings, n_points: int):
        self.method, self.cell, self.evaluator, self.xd, self.original = method, cell, evaluator, xd, original
        self.n_points = n_points
        calls = [lambda: evaluator.call(xd)] + ([f_call] if f_call else [])
        self.batches = Batches(calls, timing.min_batch_s, (1.0, primal.SHARE)[:len(calls)],
                               clock=timing.clock_for(cell.device, threads.current()))

    @property
    def numbers(self) -> list[int]:
        """Calls per batch: the derivative's, then f's where it is timed."""
        return self.batches.numbers

    def batch(self) -> list[float]:
        """One round's batch of the derivative, then of f: each one's time per call."""
        return self.batches.batch()

    def finish(self, median_s: float, context: RunContext | None = None) -> dict:
        """After the task's rounds (``median_s``: the derivative's median time): the input checked,
        the memory one call needs, the expression or graph sizes, the bandwidth share."""
        context = context or RunContext()
        evaluator, xd = self.evaluator, self.xd
        _check_input_kept(evaluator, xd, self.original, "its timing rounds")
        found = {"peak_host_bytes": memory.call_peak(lambda: evaluator.call(xd), median_s,
                                                     backend=self.method.backend),
                 "peak_device_bytes": memory.device_peak(self.method, self.cell, evaluator, xd)}
        if evaluator.describe is not None and median_s <= DESCRIBE_MAX_CALL_S:
            # swell and graph sizes: gathered outside every clock
            evaluator.info.update(evaluator.describe())
        found.update({k: evaluator.info.get(k) for k in SWELL_KEYS}, detail=_detail(evaluator))
        found.update(memory.bandwidth_share(self.cell, self.n_points, median_s, context.bandwidth))
        return found


def timed_row(row: CellRow, numbers: list[int], samples: list[list[float]], round_ids: list[int],
              rounds: int, extras: dict, failure: tuple[str, str] | None = None, spent_s: float = 0.0,
              note: str = "") -> CellRow:
    """A prepared cell's row (:func:`prepare_cell`) once its task's rounds are done: ``samples`` its
    batches' per-call times (the derivative's, then f's where f was timed) in the rounds
    ``round_ids`` of the ``rounds`` its task ran; ``extras`` what :meth:`Held.finish` measured;
    ``failure`` (status, message) where a batch or the finish failed; ``spent_s`` the time spent on
    it since it was prepared; ``note`` a word on why it has fewer rounds or no finish."""
    found = {"timing_rounds": rounds, "cell_s": (row.cell_s or 0.0) + spent_s, "load_end": load_average()}
    if samples:
        found.update(timing_figures(samples, numbers, round_ids))
    found.update({k: v for k, v in extras.items() if k != "message"})
    status, failed = failure or (row.status, "")
    words = [row.message, note, extras.get("message", ""), failed]
    return dataclasses.replace(row, status=status, message="; ".join(w for w in words if w), **found)


def timing_figures(samples: list[list[float]], numbers: list[int], round_ids: list[int]) -> dict:
    """A row's timing columns from its batches, round by round: the derivative's per-call time
    first, then f's (where f was timed; ``cost_ratio`` is the median of their ratios)."""
    steady = timing_of([s[0] for s in samples], numbers[0])
    interval = noise.median_interval(steady.samples_s)
    spread = interval.noise(steady.median_s)
    found = {"eval_s": steady.median_s, "eval_iqr_s": steady.iqr_s, "timing_number": steady.number,
             "timing_repeats": steady.repeats, "eval_samples_s": steady.samples_s,
             "eval_round_ids": list(round_ids), "eval_ci_lo_s": interval.lo_s,
             "eval_ci_hi_s": interval.hi_s, "eval_ci_coverage": interval.coverage, "eval_noise": spread,
             "noisy": noise.is_noisy(spread)}
    if len(numbers) > 1:
        f_timing = timing_of([s[1] for s in samples], numbers[1])
        if f_timing.median_s > 0:
            found.update(primal_s=f_timing.median_s, primal_samples_s=f_timing.samples_s,
                         cost_ratio=float(np.median(np.asarray(steady.samples_s) / f_timing.samples_s)))
    return found


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

    del out  # the first output is not held across the task's rounds
    try:
        f_call, f_backend = primal.primal_call(method, cell, evaluator, x, xd)
    except Exception as e:  # the derivative is still timed; the row says why f was not
        f_call, f_backend = None, None
        yield {"message": f"the function itself failed, so no cost_ratio: {type(e).__name__}: {e}"}
    held = Held(method, cell, evaluator, xd, original, f_call, timing, len(x))
    yield {"timing_clock": held.batches.clock}
    if f_call is not None:
        yield {"primal_backend": f_backend}
    yield held


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
