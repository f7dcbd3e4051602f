"""Cells measured in worker processes, so that a crash of one cell is a row, not the end of the run.

One worker process per backend (JAX, PyTorch, SymPy, NumPy, …), started on its first cell
and reused for every later one (an interpreter start per cell would cost more than most
cells).  The worker (:mod:`harness.runner.worker`) rebuilds the cell from names and measures it;
its alarm stops Python code past the cell's budget.  The parent waits for the answer a
little longer than that budget:

- no answer, and the worker still running (native code that ignores the alarm): the worker
  is killed and the cell is :class:`~harness.measure.outcomes.TimedOut`, with the time it ran;
- the worker ended or its pipe broke (a segfault, ``os.abort()``, an out-of-memory kill, an
  ``os._exit``): the cell is :class:`~harness.measure.outcomes.Crashed`, with the signal or exit
  status and the last lines the worker printed.

Either way the next cell of that backend starts a fresh worker.  Workers are started with
``spawn``: a fork would copy the parent's thread pools (pyarrow, or JAX in a notebook),
which deadlocks.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import multiprocessing
import os
import signal
import time
from multiprocessing.connection import wait
from multiprocessing.reduction import send_handle

import numpy as np

from harness.host.capture import anonymous_file, tail_of, with_output
from harness.host.leftovers import end_tree
from harness.host.limits import CellTimeout, armed, time_limit
from harness.measure import memory
from harness.measure.outcomes import Crashed, Measured, Outcome, TimedOut
from harness.measure.pipeline import cell_reference
from harness.model.registry import METHODS, PLUGIN_PREFIX
from harness.runner.worker import (
    AskBackends,
    Finish,
    Job,
    Prepared,
    Ready,
    Round,
    Tainted,
    WorkerSettings,
    rebuild,
    serve,
)
from harness.store.schema import WORKLOADS, CellKey

GRACE_S = 10.0  # at most, beyond the cell's budget, before the parent stops waiting
START_S = 120.0  # a worker's start and first imports (JAX, TensorFlow) on a slow machine


def addressable(method, cell, checked: dict | None = None) -> bool:
    """Whether a worker rebuilds exactly this cell from names: its method and case are the
    registered ones, defined in the package or a plugin file (a case or method made in a
    notebook or a test module exists only in this process).  ``checked`` (a pool's) keeps the
    answer per case object: rebuilding and comparing lse's 640,000 seed coordinates for each
    of its cells took 18 s of a default run."""
    if METHODS.all().get(method.name) is not method or not _from_file(method.prepare):
        return False
    checked = {} if checked is None else checked
    case = cell.case
    if id(case) not in checked:  # the case is kept with its answer, so its id is not reused
        checked[id(case)] = (case, _rebuilt_alike(method, cell))
    return checked[id(case)][1]


def _rebuilt_alike(method, cell) -> bool:
    try:
        _, rebuilt = rebuild(Job.of(method, cell))
    except Exception:  # not registered under that name, or not at that size
        return False
    return _from_file(cell.case.fn) and _comparable(rebuilt.case) == _comparable(cell.case)


def _from_file(fn) -> bool:
    while isinstance(fn, functools.partial):  # e.g. partial(jax_grad.prepare, jit=False)
        fn = fn.func
    return (getattr(fn, "__module__", None) or "").startswith(("harness.", "cases", PLUGIN_PREFIX))


def _comparable(value):
    """A case's fields with each function replaced by its code (a sweep's factory makes new
    closures of the same code on every call)."""
    if dataclasses.is_dataclass(value):
        return tuple(_comparable(getattr(value, f.name)) for f in dataclasses.fields(value))
    if isinstance(value, (tuple, list)):
        return tuple(_comparable(v) for v in value)
    if callable(value):
        return getattr(value, "__code__", value)
    if isinstance(value, np.ndarray):
        return (value.shape, value.tobytes())
    return value


def death(exitcode) -> str:
    """Why a worker ended, in words."""
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name
        hint = " (out of memory?)" if name == "SIGKILL" else ""
        return f"the worker process died of {name}{hint}"
    return f"the worker process exited with status {exitcode}"


class WorkerProcess:
    """One spawned worker, its pipe, and the file its output goes into."""

    def __init__(self, settings: WorkerSettings):
        # the worker's output goes into a file with no name, handed over the pipe: a worker or a run
        # killed outright leaves no log file behind
        self.output = anonymous_file()
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=serve, daemon=True, args=(child, settings))
        try:
            with _environment_of_child(memory.PROCESS_ENVIRONMENT):
                self.process.start()
        except BaseException:  # no worker: nothing may stay open for it
            os.close(self.output)
            self.conn.close()
            child.close()
            raise
        self.spawned = time.perf_counter()
        child.close()
        # a worker that died at once is told by measure(); RuntimeError: macOS's handshake failed
        with contextlib.suppress(OSError, RuntimeError):
            send_handle(self.conn, self.output, self.process.pid)
        self.started = False
        self.busy = False  # a job sent and its answer not yet read: a late answer is never another's
        self.start_s = None  # from spawn to ready: the interpreter, its imports and its backend's

    def measure(self, job: Job) -> Outcome:
        """The worker's outcome for ``job``, or how the worker ended without one."""
        try:
            if not self.started:  # the worker's start and imports are no cell's time
                if not self._answer(START_S):
                    return self._lost(f"the worker did not start within {START_S:g} s")
                if not isinstance(self.conn.recv(), Ready):
                    return self._lost("the worker did not start")
                self.started = True
                self.start_s = time.perf_counter() - self.spawned
            self.busy = True
            self.conn.send(job)
            sent = time.perf_counter()
            limit = job.budget + min(GRACE_S, max(2.0, job.budget / 2)) if job.budget else None
            if self._answer(limit):
                if self.conn.poll():
                    answer = self.conn.recv()
                    self.busy = False
                    return answer
                return self._lost()  # the process ended without a word
            if self.process.is_alive():  # alive and silent past its budget: native code that hangs
                self.stop()
                return TimedOut(job.budget, time.perf_counter() - sent)
        except (EOFError, OSError):  # the pipe broke: the worker is dying
            pass
        return self._lost()

    def _answer(self, timeout) -> bool:
        """Whether an answer came, or the worker ended, within ``timeout`` s.  The one place the parent
        waits for a worker: a stop ends the wait at once (armed); the answer itself is then read
        with the run's stop held, so that an answer received is an answer recorded."""
        with armed():
            return bool(wait([self.conn, self.process.sentinel], timeout=timeout))

    def _lost(self, why: str | None = None) -> Crashed:
        """The worker ended (or stopped answering): how, with the last lines it printed."""
        self.process.join(timeout=GRACE_S)  # exiting: a core dump may take a moment
        alive = self.process.is_alive()
        last_words = tail_of(self.output)  # before stop() removes the file
        self.stop()
        why = why or ("the worker closed its pipe and was stopped" if alive else death(self.process.exitcode))
        return Crashed(with_output(why, last_words))

    def backends(self) -> dict:
        """What the worker's backends saw; {} from a worker still busy with a cell (a run stopped
        halfway through it), whose late answer is not read as this one."""
        if self.busy or not self.started:
            return {}
        try:
            self.conn.send(AskBackends())
            if self.conn.poll(GRACE_S):
                reply = self.conn.recv()
                return reply if isinstance(reply, dict) else {}
        except (EOFError, OSError):
            pass
        return {}

    def stop(self) -> None:
        self.conn.close()
        end_tree(self.process)  # the worker, and every process its cells started
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        if self.output >= 0:
            os.close(self.output)
            self.output = -1


@contextlib.contextmanager
def _environment_of_child(variables: dict):
    """``variables`` in the environment a process spawned now starts with (the spawn copies this
    process's), where the user has not set them; this process's own put back at once."""
    added = {k: v for k, v in variables.items() if k not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


def shared_reference(method, cell, budget, reuse: bool = True):
    """The cell's reference, computed (and cached) here so that the workers of the backends
    share it; None where there is none to share (the worker then meets the same error, or the
    same timeout, itself).  ``reuse=False``: not taken from the disk cache (``--no-cache``)."""
    if cell.quantity in WORKLOADS or method.unsupported_reason(cell):
        return None
    try:
        with time_limit(budget), np.errstate(all="ignore"):
            return cell_reference(cell, reuse=reuse)
    except (Exception, CellTimeout):  # a failed reference, or its timeout
        return None


def _plus(measured: Measured, seconds: float) -> Measured:
    """``measured`` with ``seconds`` more of the cell's time (its reference, computed here)."""
    return Measured(dataclasses.replace(measured.row, cell_s=measured.row.cell_s + seconds), measured.points)


class Pool:
    """One worker per backend; a dead or stopped one is replaced on its backend's next cell."""

    def __init__(self, settings: WorkerSettings):
        """Workers started with ``settings`` (its ``backend`` is each worker's own)."""
        self.settings = settings
        self.workers: dict[str, WorkerProcess] = {}
        self.checked: dict = {}  # addressable's answers, per case object
        # per backend, each worker's start (harness.runner.loop's meta)
        self.starts: dict[str, list[float]] = {}
        self.holders: dict = {}  # the worker that holds each prepared cell, by the cell's key
        self.reference_s = 0.0  # spent on the shared references (computed or read from the cache)
        self.lost_why: dict[str, str] = {}  # per backend, why its last worker was let go

    def measure(self, method, cell, run_id: str, budget: float | None) -> Outcome | Prepared | None:
        """The cell's outcome from its backend's worker, or :class:`Prepared` where the worker holds
        it for its task's rounds (:meth:`round`, :meth:`finish`); None when no worker can rebuild it
        (the caller then measures it in its own process)."""
        if not addressable(method, cell, self.checked):
            return None
        started = time.perf_counter()
        with armed():  # the reference may take long: a stop need not wait for it
            reference = shared_reference(method, cell, budget, self.settings.reference_cache)
        job = Job.of(method, cell, run_id, budget, reference)
        reference_s = time.perf_counter() - started
        self.reference_s += reference_s
        outcome = self._send(method.backend, job)
        if isinstance(outcome, Prepared):
            self.holders[CellKey.of_cell(method, cell)] = self.workers.get(method.backend)
            outcome = dataclasses.replace(outcome, measured=_plus(outcome.measured, reference_s))
        if isinstance(outcome, Measured):  # the cell's reference, computed here, is part of its time
            return _plus(outcome, reference_s)
        return outcome

    def holds(self, method, cell) -> bool:
        """Whether the worker that prepared this cell still holds it (not stopped, dead or replaced since)."""
        holder = self.holders.get(CellKey.of_cell(method, cell))
        return holder is not None and self.workers.get(method.backend) is holder

    def round(self, method, cell, budget: float | None):
        """One round's batch of a held cell: [derivative, f] per-call times, a
        :class:`~harness.runner.worker.Broke`, or how its worker was lost."""
        return self._send(method.backend, Round(CellKey.of_cell(method, cell), budget))

    def finish(self, method, cell, median_s: float | None, budget: float | None):
        """A held cell's columns after its rounds (a dict), a Broke, or how its worker was lost;
        the worker lets the cell go."""
        self.holders.pop(CellKey.of_cell(method, cell), None)
        return self._send(method.backend, Finish(CellKey.of_cell(method, cell), median_s, budget))

    def _send(self, backend: str, job):
        worker = self.workers.get(backend)
        if worker is None:
            settings = dataclasses.replace(self.settings, backend=backend)
            worker = self.workers[backend] = WorkerProcess(settings)
        fresh = not worker.started
        outcome = worker.measure(job)
        if fresh and worker.start_s is not None:
            self.starts.setdefault(backend, []).append(round(worker.start_s, 3))
        if isinstance(outcome, Tainted):  # the cell left its worker unfit for the next: replaced
            worker.stop()
            self.workers.pop(backend, None)
            self.lost_why[backend] = "its worker was replaced: a cell left " + "; ".join(outcome.found)
            return outcome.outcome
        if isinstance(outcome, (TimedOut, Crashed)):  # stopped or dead: the next cell gets a fresh worker
            del self.workers[backend]
            self.lost_why[backend] = f"its worker was lost ({outcome.status})"
        return outcome

    def backends(self) -> dict:
        """What the backends loaded in the workers saw (their CUDA builds and devices), and under
        ``threads`` what each worker's libraries say of their threads, by backend."""
        seen, threads = {}, {}
        for backend, worker in self.workers.items():
            reply = worker.backends()
            threads[backend] = reply.pop("threads", None)
            seen.update(reply)
        return {**seen, "threads": threads}

    def close(self) -> None:
        for worker in self.workers.values():
            worker.stop()
        self.workers.clear()
