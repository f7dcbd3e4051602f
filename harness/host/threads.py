"""One thread setting for every backend, applied in the process that measures and read back.

Left alone, NumPy's BLAS, OpenMP, PyTorch, XLA (JAX) and TensorFlow each size their own
thread pools from the machine, so a comparison between them is also one between their
threading choices (ADBench #194 and gradbench #303 were about exactly that).  ``--threads N``
applies the same N to all of them, in the process that measures the cells (each worker, or
the run's own process with ``--in-process``):

- the process is pinned to N of the CPUs it may run on (``sched_setaffinity``): whatever
  pool a library starts, its threads share those N cores — the one limit XLA, which has no
  thread-count setting for N > 1, cannot escape;
- the libraries' own settings say N too: ``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``,
  ``MKL_NUM_THREADS`` and TensorFlow's ``TF_NUM_INTRAOP_THREADS`` (read when they load),
  threadpoolctl's limit for the BLAS and OpenMP libraries already loaded,
  ``torch.set_num_threads``, and with N = 1 XLA's ``--xla_cpu_multi_thread_eigen=false``.

The default is 1 (:data:`DEFAULT`): every backend single-threaded, as ADBench measured its
tools, so that a method wins by its arithmetic rather than by a thread pool, and timings on
a shared machine are not a fight between pools for its cores.  ``--threads all`` leaves every
library to its own choice (and pins nothing).  :func:`settings` reads back what each loaded
library says it uses; a run records it in its metadata, per measuring process.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Literal

from harness.errors import UsageError

DEFAULT = 1
ALL = "all"  # each library's own choice: nothing set, nothing pinned
Threads = int | Literal["all"]  # a setting as parsed once (parse) and passed on by everything after
ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
            "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
            "TF_NUM_INTEROP_THREADS")
XLA_SINGLE = "--xla_cpu_multi_thread_eigen=false"

# this process's setting (None until one is applied here), and when it was last enforced
_applied: dict = {"threads": None, "modules": 0}


def parse(text) -> Threads:
    """``--threads``: a whole number ≥ 1, or "all" (:data:`ALL`); unset (None) is :data:`DEFAULT`.
    The one place a setting is read: what it returns means the same wherever it goes."""
    if text is None:
        return DEFAULT
    if str(text).strip().lower() == ALL:
        return ALL
    try:
        n = int(str(text).strip())
    except ValueError:
        raise UsageError(f"--threads must be a whole number of threads or 'all', got {text!r}") from None
    if n < 1:
        raise UsageError(f"--threads must be at least 1, got {n}")
    return n


PRELOADED = ("tensorflow", "torch")  # backends whose thread settings are API calls made at import


def apply(n: Threads, backend: str | None = None) -> None:
    """Set every backend's threads to ``n`` in this process (:data:`ALL`: leave them).  Call before
    the backends load, then :func:`enforce` before each cell for those loaded since.  A
    worker of ``backend`` TensorFlow or PyTorch loads it here and sets it, so that any method
    of that backend (a plugin's too) finds it set: TensorFlow's pools can be sized only before
    its first operation."""
    _applied["threads"] = n
    if n == ALL:
        return
    if hasattr(os, "sched_setaffinity"):
        allowed = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, allowed[:n])
    for name in ENV_VARS:
        os.environ[name] = str(n)
    flags = os.environ.get("XLA_FLAGS", "")
    if n == 1 and XLA_SINGLE not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} {XLA_SINGLE}".strip()
    if backend in PRELOADED:
        try:
            __import__(backend)
        except Exception:  # not installed, or broken: its cells say so (unavailable, failed)
            pass
    _applied["modules"] = 0
    enforce()


@contextlib.contextmanager
def in_process(n: Threads):
    """``n`` threads for the cells measured in this process (a run without workers, or a cell
    no worker can rebuild), the libraries' settings put back afterwards.  The process is the
    caller's, so it is not pinned: a loaded XLA keeps its own pool here."""
    if n == ALL:
        yield
        return
    saved = dict(_applied)
    torch = sys.modules.get("torch")
    torch_threads = torch.get_num_threads() if hasattr(torch, "get_num_threads") else None
    try:
        from threadpoolctl import threadpool_limits
        limits = threadpool_limits(limits=n)
    except ImportError:
        limits = None
    _applied.update(threads=n, modules=0)
    try:
        enforce()
        yield
    finally:
        _applied.update(saved)
        if torch_threads is not None:
            torch.set_num_threads(torch_threads)
        if limits is not None:
            limits.restore_original_limits()


def current() -> Threads | None:
    """This process's setting: what :func:`apply` or :func:`in_process` set (None: neither has)."""
    return _applied["threads"]


def enforce() -> None:
    """Re-apply this process's setting to libraries loaded since it was last applied (a
    method's first cell imports its backend): cheap when nothing new was imported."""
    n = _applied["threads"]
    if n in (None, ALL) or len(sys.modules) == _applied["modules"]:
        return
    _applied["modules"] = len(sys.modules)
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "set_num_threads") and torch.get_num_threads() != n:
        torch.set_num_threads(n)
    tf = sys.modules.get("tensorflow")
    if tf is not None and hasattr(tf, "config"):
        try:  # possible until its runtime starts: its method calls this right after the import
            tf.config.threading.set_intra_op_parallelism_threads(n)
            tf.config.threading.set_inter_op_parallelism_threads(n)
        except RuntimeError:  # started already: TF_NUM_INTRAOP_THREADS, set before, holds
            pass
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(limits=n)  # BLAS and OpenMP libraries loaded so far, for good


def settings() -> dict:
    """What this process and each loaded library say about their threads."""
    found = {"threads": _applied["threads"], "cpus": _cpus(),
             "env": {name: os.environ.get(name) for name in (*ENV_VARS, "XLA_FLAGS")}}
    try:
        from threadpoolctl import threadpool_info

        found["threadpools"] = [{"api": p.get("user_api"), "library": p.get("internal_api"),
                                 "num_threads": p.get("num_threads")} for p in threadpool_info()]
    except ImportError:
        found["threadpools"] = None
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "get_num_threads"):
        found["torch"] = {"num_threads": torch.get_num_threads(),
                          "interop_threads": torch.get_num_interop_threads()}
    tf = sys.modules.get("tensorflow")
    if tf is not None and hasattr(tf, "config"):
        threading = tf.config.threading
        found["tensorflow"] = {"intra_op": threading.get_intra_op_parallelism_threads(),
                               "inter_op": threading.get_inter_op_parallelism_threads()}
    if "jax" in sys.modules:
        found["jax"] = {"xla_flags": os.environ.get("XLA_FLAGS"), "cpus": _cpus()}
    return found


def _cpus() -> int | None:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
