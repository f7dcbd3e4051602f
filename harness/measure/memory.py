"""Memory of one evaluation, and how close it comes to the machine's memory bandwidth.

Host: Linux keeps a process's peak resident set (``VmHWM``) and lets the process
reset it to the current RSS (``echo 5 > /proc/self/clear_refs``), so the peak
of one call, less the RSS before it, is what that call needed on top of what
was already resident — every allocator counted (NumPy, XLA, PyTorch, native
libraries), not only Python's.  Elsewhere the figure is absent.

Device: PyTorch's CUDA allocator keeps a resettable peak; for JAX the compiled
program's own memory analysis (arguments + outputs + temporaries) is used.

Bandwidth: a large copy per device gives a reference bytes-per-second; an
elementwise derivative (a scalar case) moves at least its input and its output,
so ``bytes / eval_s / bandwidth`` is the share of that limit it reaches.
"""

from __future__ import annotations

import contextlib
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


@contextlib.contextmanager
def host_peak(result: HostPeak | None = None):
    """Peak resident memory added by the body, in bytes (None where Linux's counters are absent),
    as ``result.peak_bytes`` (a new :class:`HostPeak` unless given one)."""
    result = HostPeak() if result is None else result
    try:
        _CLEAR_REFS.write_text("5")  # peak RSS := current RSS
        before = _status_kib("VmRSS")
    except OSError:
        before = None
    yield result
    peak = _status_kib("VmHWM") if before is not None else None
    if peak is not None:
        result.peak_bytes = max(peak - before, 0) * 1024


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
