"""Cells measured in worker processes, so that a crash of one cell is a row, not the end of the run.

One worker process per backend (JAX, PyTorch, SymPy, NumPy, …), started on its
first cell and reused for every later one (an interpreter start per cell would
cost more than most cells).  The worker rebuilds the cell from names — the
built-in registries and the run's plugin files — and measures it exactly as
the runner does in-process; its alarm stops Python code past the cell's
budget.  The parent waits for the answer a little longer than that budget:

- no answer (native code that ignores the alarm): the worker is killed and
  the cell is ``timeout``;
- the worker died (a segfault, ``os.abort()``, an out-of-memory kill): the
  cell is ``crashed`` with the signal or exit code.

Either way the next cell of that backend starts a fresh worker.  Workers are
started with ``spawn``: a fork would copy the parent's thread pools (pyarrow,
or JAX in a notebook), which deadlocks.
"""

from __future__ import annotations

import dataclasses
import functools
import multiprocessing
import os
import signal
import time
from multiprocessing.connection import wait

import numpy as np

GRACE_S = 10.0  # at most, beyond the cell's budget, before the parent stops waiting
START_S = 120.0  # a worker's start and first imports (JAX, TensorFlow) on a slow machine


def addressable(method, cell) -> bool:
    """Whether a worker rebuilds exactly this cell from names: its method and case are the
    registered ones, defined in the package or a plugin file (a case or method made in a
    notebook or a test module exists only in this process)."""
    from harness.registry import METHODS

    if METHODS.all().get(method.name) is not method or not _from_file(method.prepare):
        return False
    try:
        _, rebuilt = _rebuild(job(method, cell, "", None))
    except Exception:  # not registered under that name, or not at that size
        return False
    return _from_file(cell.case.fn) and _comparable(rebuilt.case) == _comparable(cell.case)


def _from_file(fn) -> bool:
    while isinstance(fn, functools.partial):  # e.g. partial(jax_grad.prepare, jit=False)
        fn = fn.func
    return (getattr(fn, "__module__", None) or "").startswith(("harness.", "cases", "diffbench_plugin_"))


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


def job(method, cell, run_id: str, budget: float | None) -> dict:
    case = cell.case
    return {"method": method.name, "case": case.name, "size": dict(case.size), "order": cell.order,
            "dtype": cell.dtype, "device": cell.device, "quantity": cell.quantity, "run_id": run_id,
            "budget": budget}


def _rebuild(job: dict, cases: dict | None = None):
    """(method, Cell) of a job, from the registries; ``cases`` (a worker's) keeps one Case object
    per case and size, as the parent's plan does (the caches of SymPy's derivation, the
    references and the primal timings are keyed by it)."""
    from harness.extend import CaseSweep, Cell
    from harness.registry import CASES, METHODS

    cases = {} if cases is None else cases
    key = (job["case"], tuple(job["size"].items()))
    if key not in cases:
        entry = CASES.all()[job["case"]]
        cases[key] = entry.at(job["size"]) if isinstance(entry, CaseSweep) else entry
    case = cases[key]
    method = METHODS.all()[job["method"]]
    return method, Cell(case, job["order"], job["dtype"], job["device"], job["quantity"])


def _serve(conn, plugins, bandwidth, timing, memory_limit) -> None:
    """The worker's loop: a job in, (row, points) out, until the parent closes the pipe."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    os.environ["DIFFBENCH_WORKER"] = "1"  # for a plugin that must know (e.g. fault injection)
    # the backends' workers share a GPU: JAX must not take 75% of its memory on start, nor
    # TensorFlow all of it (a user's own setting wins)
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
    if memory_limit:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    from harness.reference import remember
    from harness.registry import load_plugin
    from harness.runner import RunContext, graded_x, measure_cell

    for plugin in plugins:
        load_plugin(plugin)
    context, cases = RunContext(bandwidth=bandwidth), {}
    conn.send("ready")  # the parent times cells from here, not from the interpreter's start
    while True:
        try:
            task = conn.recv()
        except EOFError:  # the parent is gone
            return
        if task == "backends":  # what JAX and PyTorch saw here, for the run's metadata
            from harness.environment import backend_devices

            conn.send(backend_devices())
            continue
        method, cell = _rebuild(task, cases)
        if task.get("reference") is not None:
            remember(cell.case, cell.order, graded_x(cell, cell.case.points()), cell.quantity,
                     task["reference"])
        conn.send(measure_cell(method, cell, task["run_id"], task["budget"], timing, context))


class Worker:
    def __init__(self, plugins, bandwidth, timing, memory_limit=None):
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, daemon=True,
                                       args=(child, list(plugins), bandwidth, timing, memory_limit))
        self.process.start()
        child.close()
        self.fresh = True

    def measure(self, task: dict) -> tuple[str, object]:
        """("ok", (row, points)), ("hung", None) or ("died", exit code)."""
        budget = task["budget"]
        try:
            if self.fresh:  # the worker's start and imports are no cell's time
                self.fresh = False
                if not self._answer(START_S) or self.conn.recv() != "ready":
                    return self._ended()
            self.conn.send(task)
            if self._answer(budget + min(GRACE_S, max(2.0, budget / 2)) if budget else None):
                return "ok", self.conn.recv()
        except (EOFError, OSError):  # the pipe broke: the worker died
            pass
        return self._ended()

    def _answer(self, timeout) -> bool:
        """Whether an answer came within ``timeout`` s (False too if the worker ended)."""
        return self.conn in wait([self.conn, self.process.sentinel], timeout=timeout)

    def _ended(self) -> tuple[str, object]:
        if not wait([self.process.sentinel], timeout=0):  # alive and silent: hung
            self.stop()
            return "hung", None
        self.process.join(timeout=GRACE_S)  # exiting (a core dump may take a moment)
        self.stop()
        return "died", self.process.exitcode

    def stop(self) -> None:
        self.conn.close()
        if self.process.is_alive():
            self.process.kill()
        self.process.join()


def death(exitcode) -> str:
    """Why a worker ended, in words."""
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name
        hint = " (out of memory?)" if name == "SIGKILL" else ""
        return f"the worker process died of {name}{hint}"
    return f"the worker process exited with status {exitcode}"


def _shared_reference(method, cell, budget):
    """The cell's reference, computed (and cached) here so that the workers of the backends
    share it; None where there is none to share (the worker then meets the same error, or the
    same timeout, itself)."""
    from harness.runner import cell_reference, time_limit

    if cell.quantity == "training" or method.unsupported_reason(cell):
        return None
    try:
        with time_limit(budget), np.errstate(all="ignore"):
            return cell_reference(cell)
    except Exception:  # a failed reference, or its timeout (runner.CellTimeout)
        return None


class Pool:
    """One worker per backend; a dead or stopped one is replaced on its backend's next cell."""

    def __init__(self, plugins=(), bandwidth=None, timing=None, memory_limit=None):
        self.args = (tuple(plugins), bandwidth or {}, timing, memory_limit)
        self.workers: dict[str, Worker] = {}

    def measure(self, method, cell, run_id: str, budget: float | None):
        """("measured", (row, points)); ("timeout" or "crashed", message); or ("local", None)
        when no worker can rebuild the cell (the runner then measures it in-process)."""
        if not addressable(method, cell):
            return "local", None
        task = job(method, cell, run_id, budget)
        started = time.perf_counter()
        task["reference"] = _shared_reference(method, cell, budget)
        reference_s = time.perf_counter() - started
        worker = self.workers.get(method.backend)
        if worker is None:
            worker = self.workers[method.backend] = Worker(*self.args)
        outcome, value = worker.measure(task)
        if outcome == "ok":
            row, points = value
            row["cell_s"] += reference_s  # the cell's reference, computed here
            return "measured", (row, points)
        del self.workers[method.backend]
        if outcome == "hung":
            return "timeout", f"cell exceeded its {budget:g} s budget (its worker was stopped)"
        return "crashed", death(value)

    def backends(self) -> dict:
        """What the backends loaded in the workers saw (their CUDA builds and devices)."""
        seen = {}
        for worker in self.workers.values():
            try:
                worker.conn.send("backends")
                if worker.conn.poll(GRACE_S):
                    seen.update(worker.conn.recv())
            except (EOFError, OSError):
                pass
        return seen

    def close(self) -> None:
        for worker in self.workers.values():
            worker.stop()
        self.workers.clear()
