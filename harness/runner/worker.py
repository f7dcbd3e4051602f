"""The worker side: a process that rebuilds cells from their names and measures them.

The parent (:mod:`harness.runner.pool`) sends a :class:`Job`; the worker rebuilds its method and
case from the built-in registries and the run's plugin files, prepares it exactly as a run
in one process does (:func:`harness.measure.pipeline.prepare_cell`) and answers with a typed outcome
(:mod:`harness.measure.outcomes`), or :class:`Prepared` where the cell is to be timed: it then holds
the live cell for its task's rounds (:mod:`harness.runner.rounds`), timing one batch of it for each
:class:`Round` and measuring its memory and sizes on :class:`Finish`.  Its file descriptors 1
and 2 point into an output file for its whole life, so nothing a method or a library prints
reaches diffbench's terminal; each cell starts with the file emptied.  A stop is the parent's to
handle: the worker ignores SIGINT, SIGTERM and SIGUSR2.
After each cell's preparation and its finish it looks for what the cell left behind
(:mod:`harness.host.leftovers`: a patched module, a thread or a child process still running; what a
round's batch leaves is found at the worker's next preparation or finish); a cell that left any answers
:class:`Tainted`, and the parent replaces the worker before the next cell (the cells it held
for the task's rounds are then timed in the rounds they had).
"""

from __future__ import annotations

import dataclasses
import faulthandler
import importlib
import os
import signal
import warnings
from dataclasses import dataclass
from multiprocessing.reduction import recv_handle

from harness.host import threads
from harness.host.capture import Capture, with_output
from harness.host.leftovers import Watch, note, own_session
from harness.host.limits import STOP_SIGNALS
from harness.host.threads import DEFAULT as DEFAULT_THREADS
from harness.host.threads import Threads
from harness.measure.outcomes import Failed, Measured
from harness.measure.pipeline import RunContext, describe, graded_x, guarded, prepare_cell
from harness.measure.timing import TimingSettings
from harness.model.case import CaseSweep
from harness.model.method import Cell
from harness.model.registry import CASES, METHODS, load_plugin
from harness.store.schema import CellKey
from harness.truth.reference import Reference, remember


@dataclass(frozen=True)
class Job:
    """A cell by names, its budget, and the reference the parent computed for it (if any)."""

    method: str
    case: str
    size: tuple  # (name, value) pairs of a sweep's case; () for a case without sizes
    order: int
    dtype: str
    device: str
    quantity: str
    run_id: str
    budget: float | None
    reference: Reference | None = None

    @classmethod
    def of(cls, method, cell: Cell, run_id: str = "", budget: float | None = None,
           reference: Reference | None = None) -> Job:
        return cls(method.name, cell.case.name, tuple(cell.case.size), cell.order, cell.dtype, cell.device,
                   cell.quantity, run_id, budget, reference)


@dataclass(frozen=True)
class Prepared:
    """A job's answer where its cell is to be timed: its row so far (status ok) and per-point rows,
    and its calls per batch (the derivative's, then f's where f is timed).  The worker holds the
    live cell until its :class:`Finish`."""

    measured: Measured
    numbers: tuple[int, ...]


@dataclass(frozen=True)
class Round:
    """Time one batch of a held cell (its derivative's, then its f's): the answer is the list of
    their per-call times, or :class:`Broke`.  ``budget``: the seconds its cell has left."""

    key: CellKey
    budget: float | None


@dataclass(frozen=True)
class Finish:
    """A held cell's task has done its rounds: measure what comes after them
    (:meth:`harness.measure.pipeline.Held.finish`, given the derivative's median ``median_s``) and
    let the cell go; the answer is a dict of columns, or :class:`Broke`.  ``median_s`` None: let it
    go unmeasured."""

    key: CellKey
    median_s: float | None
    budget: float | None


@dataclass(frozen=True)
class Broke:
    """A held cell's batch or finish failed: its status (failed, timeout) and message."""

    status: str
    message: str


@dataclass(frozen=True)
class Ready:
    """The worker has started and loaded the plugins: cells are timed from here."""


@dataclass(frozen=True)
class AskBackends:
    """The parent asks what the backends loaded here saw (their CUDA builds and devices)."""


@dataclass(frozen=True)
class Tainted:
    """A cell's outcome (its message saying what the cell left behind: a patched module, a thread
    or child processes still running, :mod:`harness.host.leftovers`) from a worker no later cell may
    use: the parent replaces it (once the cells it holds have had their rounds' answers)."""

    outcome: object  # Measured | Prepared | Failed | Broke, or a round's or finish's answer
    found: tuple[str, ...] = ()  # what was left behind


def rebuild(job: Job, cases: dict | None = None):
    """(method, Cell) of a job, from the registries; ``cases`` (a worker's) keeps one Case object
    per case and size, as the parent's plan does (the caches of SymPy's derivation, the
    references and the primal timings are keyed by it)."""
    cases = {} if cases is None else cases
    key = (job.case, job.size)
    if key not in cases:
        entry = CASES.all()[job.case]
        cases[key] = entry.at(dict(job.size)) if isinstance(entry, CaseSweep) else entry
    method = METHODS.all()[job.method]
    return method, Cell(cases[key], job.order, job.dtype, job.device, job.quantity)


def _environment(memory_limit: int | None) -> None:
    # a stop is the parent's to handle (Ctrl-C; a scheduler's SIGTERM or SIGUSR2 sent to every process
    # of a job): the parent keeps the finished cells and ends its workers; a worker that died of the
    # signal would leave a cell "crashed" that was only stopped
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    os.environ["DIFFBENCH_WORKER"] = "1"  # for a plugin that must know (e.g. fault injection)
    # the backends' workers share a GPU: JAX must not take 75% of its memory on start, nor
    # TensorFlow all of it (a user's own setting wins)
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
    if memory_limit:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))


def _preload(backend: str | None) -> None:
    """Import the worker's backend before it reports ready: its import (seconds for TensorFlow) is
    the worker's start, which the run records apart, not its first cell's time."""
    if backend and backend != "numpy":
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                importlib.import_module(backend)
        except Exception:  # not installed, or broken: its cells say so (unavailable, failed)
            pass


def _noted(outcome, found: list[str]):
    """``outcome`` with what its cell left behind in its message.  A cell's figures stand: they
    are its own, measured in the world it made."""
    if isinstance(outcome, Prepared):
        return dataclasses.replace(outcome, measured=_noted(outcome.measured, found))
    if isinstance(outcome, Measured):
        return dataclasses.replace(outcome, row=dataclasses.replace(
            outcome.row, message=_with_note(outcome.row.message, note(found))))
    if isinstance(outcome, (Failed, Broke)):
        return dataclasses.replace(outcome, message=_with_note(outcome.message, note(found)))
    return outcome  # a round's times, a finish's columns: the parent adds the note


def _with_note(message: str | None, words: str) -> str:
    head, mark, tail = (message or "").partition("\n[last output]\n")  # the last output stays last
    return f"{head}; {words}{mark}{tail}" if head else f"{words}{mark}{tail}"


@dataclass(frozen=True)
class WorkerSettings:
    """What a worker is started with, by name (the run's settings, parsed once where the run began)."""

    backend: str | None  # the library it imports before its first cell
    plugins: tuple[str, ...] = ()  # plugin files, absolute paths
    bandwidth: dict = dataclasses.field(default_factory=dict)  # bytes/s per device (bandwidth_share)
    timing: TimingSettings = TimingSettings()  # the timing loop's settings
    memory_limit: int | None = None  # bytes of address space; None: no cap
    threads: Threads = DEFAULT_THREADS  # every backend's threads: N, or "all" (harness.host.threads)
    reference_cache: bool = True  # a reference cached on disk may be taken (False: --no-cache)


def serve(conn, settings: WorkerSettings, output_path=None) -> None:
    """The worker's loop: a job in, an outcome out, until the parent closes the pipe."""
    plugins, timing, backend = settings.plugins, settings.timing, settings.backend
    own_session()  # what its cells start ends with it (harness.host.leftovers.end_tree)
    # the output file: a path, or (from harness.runner.pool) a file with no name whose descriptor comes first
    # over the pipe, so that nothing is left in the temporary folder however the worker ends
    output = Capture(output_path) if output_path else Capture(fd=recv_handle(conn))
    output.redirect_forever()
    faulthandler.enable()  # a native crash leaves its Python stack in the output, for the crashed row
    _environment(settings.memory_limit)
    threads.apply(settings.threads, backend)  # before the backends load: their pools are sized as they start
    for plugin in plugins:
        load_plugin(plugin)
    _preload(backend)
    context = RunContext(bandwidth=settings.bandwidth, output=output,
                         reference_cache=settings.reference_cache)
    cases = {}
    held = {}  # CellKey -> the live cells of the task being timed (harness.measure.pipeline.Held)
    rounds_since = False  # a round's batch ran since the last look at what the cells left
    watch = Watch()  # the modules as the cells must leave them
    conn.send(Ready())
    while True:
        try:
            request = conn.recv()
        except EOFError:  # the parent is gone
            return
        if isinstance(request, AskBackends):
            from harness.host.environment import backend_devices

            conn.send({**backend_devices(), "threads": threads.settings()})
            continue
        # a round's batch is looked after by the next job or finish of this worker, not each (the
        # look costs a millisecond or more, and a run times tens of thousands of batches): that one
        # compares with the state before the rounds
        batch = isinstance(request, Round)
        if not batch and not rounds_since:
            watch.before()
        rounds_since = batch
        try:
            outcome = _answer(request, cases, held, timing, context, output)
        except BaseException as exc:  # outside the cell's own pipeline: say so rather than die
            outcome = Failed(with_output(f"the worker could not measure this cell: {describe(exc)}",
                                         output.tail()))
        found = [] if batch else watch.after()
        if found:  # this worker is no longer fit to measure the cells after it
            outcome = Tainted(_noted(outcome, found), tuple(found))
        try:
            conn.send(outcome)
        except (EOFError, BrokenPipeError):  # the parent is gone
            return
        except Exception as exc:  # e.g. a figure that does not pickle
            failed = Failed(f"the worker could not send this cell's results: {describe(exc)}")
            conn.send(Tainted(_noted(failed, found), tuple(found)) if found else failed)


def _answer(request, cases: dict, held: dict, timing: TimingSettings, context: RunContext, output: Capture):
    """The worker's answer to a job, a round or a finish."""
    if isinstance(request, Round):
        return held_answer(held[request.key].batch, request.budget, context)
    if isinstance(request, Finish):
        cell = held.pop(request.key)
        if request.median_s is None:
            return {}
        return held_answer(lambda: cell.finish(request.median_s, context), request.budget, context)
    method, cell = rebuild(request, cases)
    if request.reference is not None:
        remember(cell.case, cell.order, graded_x(cell, cell.case.points()), cell.quantity, request.reference)
    measured, live = prepare_cell(method, cell, request.run_id, request.budget, timing, context)
    if live is None:
        return measured
    held[CellKey.of_cell(method, cell)] = live
    return Prepared(measured, tuple(live.numbers))


def held_answer(work, budget: float | None, context: RunContext | None = None):
    """``work()`` on a held cell within ``budget`` s (:func:`harness.measure.pipeline.guarded`): its
    value, or :class:`Broke` where it failed; in a worker and, for a cell held in the run's own
    process, in :mod:`harness.runner.rounds`."""
    value, failure = guarded(work, budget, context)
    return Broke(*failure) if failure else value
