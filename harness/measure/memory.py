"""Memory of one evaluation, and how close it comes to the machine's memory bandwidth.

Host: Linux keeps a process's peak resident set (``VmHWM``) and lets the process
reset it to the current RSS (``echo 5 > /proc/self/clear_refs``), so the peak
of one call, less the RSS before it, is what that call needed on top of what
was already resident — every allocator counted (NumPy, XLA, PyTorch, native
libraries), not only Python's.  Elsewhere the figure is absent.  In a worker reused
across cells that holds only when the allocator's free memory is handed back before the
call (:func:`host_peak`) and every thread allocates from one arena
(:data:`PROCESS_ENVIRONMENT`); the calls measured are their own, after the timing loop
(:func:`call_peak`: three of a cheap call, the median kept); TensorFlow, which keeps what
it frees, is measured by its own allocator's peak.

Device: PyTorch's CUDA allocator keeps a resettable peak; for JAX the compiled
program's own memory analysis (arguments + outputs + temporaries) is used.

Bandwidth: a large copy per device gives a reference bytes-per-second; an
elementwise derivative (a scalar case) moves at least its input and its output,
so ``bytes / eval_s / bandwidth`` is the share of that limit it reaches.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import gc
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")
BANDWIDTH_BYTES = 256 * 2**20  # per copy: far beyond any cache


def _status_kib(field: str) -> int | None:
    try:
        match = re.search(rf"^{field}:\s+(\d+) kB", _STATUS.read_text(), re.MULTILINE)
    except OSError:
        return None
    return int(match.group(1)) if match else None


@dataclass
class HostPeak:
    peak_bytes: int | None = None


# The environment a measuring process starts with: every thread allocates from glibc's main arena.
# Memory a thread's own arena frees is handed back with madvise, which the kernel's peak (VmHWM)
# never records, and malloc_trim leaves the top of such an arena resident: with more than one arena,
# the peak of a call whose arrays XLA's threads allocate read 0–4 kB in every second cell.  The main
# arena shrinks with brk and unmaps its large blocks, both of which update the peak.  It has to be
# set before the process starts its first thread (glibc fixes its number of arenas then), so the
# pool starts its workers with it (a user's own MALLOC_ARENA_MAX wins); other C libraries ignore it.
# The mmap and trim thresholds are fixed for the same reason the timing needs them fixed: glibc
# otherwise raises its mmap threshold each time it frees a mapped block, so whether a call's arrays
# of 128 kB–32 MB are fresh mappings (a page fault per 4 kB, every call) or reused heap depends on
# the worker's history: torch's lse gradient at n = 4·10⁴ read 244, 322 and 844 µs in three identical
# runs, the same in all ten rounds of each.  Fixed at glibc's largest mmap threshold (32 MB), every
# such block is reused heap, as in a long-running process; memory probes still hand the free heap
# back first (release_free_memory).
PROCESS_ENVIRONMENT = {"MALLOC_ARENA_MAX": "1", "MALLOC_MMAP_THRESHOLD_": str(32 * 2**20),
                       "MALLOC_TRIM_THRESHOLD_": str(64 * 2**20)}


def release_free_memory() -> None:
    """Hand the memory the C allocator holds free back to the system (glibc's ``malloc_trim``): a
    call that reuses what an earlier call freed then adds to the resident set as it touches it, as
    it would in a fresh process.  Without it a worker reused across cells read 0 B for 88 % of a
    default run's cells: its peak moved only when a cell beat every earlier one.  1–4 ms in a
    worker after a few dozen cells.  A no-op where the C library has no ``malloc_trim``."""
    trim = _libc_function("malloc_trim")
    if trim is not None:
        trim(0)


@functools.cache
def _libc_function(name: str):
    try:
        return getattr(ctypes.CDLL(None), name)
    except (OSError, AttributeError):
        return None


@contextlib.contextmanager
def host_peak(result: HostPeak | None = None):
    """Peak resident memory added by the body, in bytes (None where Linux's counters are absent),
    as ``result.peak_bytes`` (a new :class:`HostPeak` unless given one): the free memory released
    (:func:`release_free_memory`), the peak reset to the resident set, the body run with the garbage
    collector off (memory an earlier cell left to the collector, freed in the window, would be
    reused unseen: jax-fwd's tanh′ read 0 B so), the peak read back."""
    result = HostPeak() if result is None else result
    collecting = gc.isenabled()
    gc.disable()
    try:
        release_free_memory()
        try:
            _CLEAR_REFS.write_text("5")  # peak RSS := current RSS
            before = _status_kib("VmRSS")
        except OSError:
            before = None
        yield result
    finally:
        if collecting:
            gc.enable()
    peak = _status_kib("VmHWM") if before is not None else None
    if peak is not None:
        result.peak_bytes = max(peak - before, 0) * 1024


# a call cheaper than this is measured in PEAK_PROBES calls after its timing loop, the median peak
# kept: what else the process allocates in the window (a runtime's own buffers) adds to one reading,
# and memory freed in the window — a runtime's deferred free of an earlier output (XLA's, on its own
# thread) — lets the call reuse it unseen and takes from another (jax's tanh′ at 10⁶ points, 8 MB of
# output, read 4 kB in one cell in a loaded test suite); each probe's output is kept until the next
# has run, so that no probe frees one in another's window.  A dearer call is measured in one (below
# 0.1 s, calls of 20–100 ms probed five times were a tenth of the default run's time).
AGAIN_BELOW_S = 0.02
PEAK_PROBES = 5


def call_peak(call, call_s: float, backend: str | None = None) -> int | None:
    """The memory one ``call`` needs on top of what is resident, measured after its timing loop: the
    median peak of :data:`PEAK_PROBES` calls (one for a call of :data:`AGAIN_BELOW_S` or more).
    TensorFlow keeps the memory it frees for itself (the resident set of its calls never grows
    after its first), so its calls are measured by its own CPU allocator's peak instead."""
    probes = PEAK_PROBES if call_s < AGAIN_BELOW_S else 1
    if backend == "tensorflow":
        return _tensorflow_peak(call, probes)
    peaks, kept = [], None
    for _ in range(probes):
        with host_peak() as probe:
            output = call()
        kept = output  # the previous one freed now, outside every window
        if probe.peak_bytes is None:
            return None
        peaks.append(probe.peak_bytes)
    del kept
    return int(np.median(peaks))


def _tensorflow_peak(call, probes: int) -> int | None:
    """The median peak of ``probes`` calls by TensorFlow's own CPU allocator, less what it held before
    each (None where this TensorFlow keeps no such statistics)."""
    experimental = getattr(getattr(sys.modules.get("tensorflow"), "config", None), "experimental", None)
    if experimental is None:
        return None
    peaks = []
    try:
        for _ in range(probes):
            experimental.reset_memory_stats("CPU:0")
            before = experimental.get_memory_info("CPU:0")["current"]
            call()
            peaks.append(experimental.get_memory_info("CPU:0")["peak"] - before)
    except (ValueError, RuntimeError, KeyError, AttributeError):  # no statistics for the CPU here
        return None
    return max(int(np.median(peaks)), 0)


def device_peak(method, cell, evaluator, xd) -> int | None:
    """Device memory of one call on a GPU: PyTorch's allocator peak, or XLA's memory analysis."""
    if cell.device != "gpu":
        return None
    if method.backend == "torch" and "torch" in sys.modules:
        torch = sys.modules["torch"]
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        evaluator.call(xd)
        return int(torch.cuda.max_memory_allocated() - base)
    if method.backend == "jax":
        return evaluator.info.get("xla_bytes")
    return None


def _best_copy_s(copy, repeats: int = 3) -> float:
    copy()  # first touch: page faults are not bandwidth
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        copy()
        times.append(time.perf_counter() - t)
    return min(times)


_measured: dict = {}  # per device, once per process: first touching 512 MiB costs ~1 s of page faults


def bandwidth(devices) -> dict:
    """Measured copy bandwidth (bytes read + written per second) per device in ``devices``."""
    if "cpu" in devices and "cpu" not in _measured:
        src = np.ones(BANDWIDTH_BYTES // 8)
        dst = np.empty_like(src)
        _measured["cpu"] = 2 * src.nbytes / _best_copy_s(lambda: np.copyto(dst, src))
    if "gpu" in devices and "gpu" not in _measured:
        _measured["gpu"] = _gpu_bandwidth().get("gpu")
    return {d: _measured[d] for d in ("cpu", "gpu") if d in devices and _measured.get(d) is not None}


def elementwise(cell) -> bool:
    """Whether a cell's derivative is elementwise: a scalar case's, one value per point."""
    return cell.case.dim == 1 and cell.quantity == "derivative"


def _gpu_bandwidth() -> dict:
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None and torch.cuda.is_available():
        src = torch.ones(BANDWIDTH_BYTES // 4, device="cuda")
        dst = torch.empty_like(src)

        def copy():
            dst.copy_(src)
            torch.cuda.synchronize()

        return {"gpu": 2 * BANDWIDTH_BYTES / _best_copy_s(copy)}
    try:
        import jax
        import jax.numpy as jnp

        gpu = jax.devices("gpu")[0]
    except Exception:  # no JAX, or no GPU for it
        return {}
    src = jax.device_put(jnp.ones(BANDWIDTH_BYTES // 4, jnp.float32), gpu)
    copy = jax.jit(lambda a: a + 0)
    return {"gpu": 2 * BANDWIDTH_BYTES / _best_copy_s(lambda: copy(src).block_until_ready())}


def bandwidth_share(cell, n_points: int, eval_s: float, measured: dict | None) -> dict:
    """Bytes one call moves at least, and the share of the device's copy bandwidth it reaches
    (elementwise cells only: a scalar case's derivative reads x and writes one value per point)."""
    if not elementwise(cell) or not eval_s:
        return {}
    moved = 2 * n_points * np.dtype(cell.dtype).itemsize
    limit = (measured or {}).get(cell.device)
    return {"bytes_moved": moved, "bandwidth_share": moved / eval_s / limit if limit else None}
