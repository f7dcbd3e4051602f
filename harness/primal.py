"""The function itself, timed exactly like its derivative: ``primal_s`` and so ``cost_ratio``.

The cheap-gradient principle says a reverse-mode gradient costs a small constant
times the function (≤ ~5, whatever the dimension) while finite differences pay
about ``dim`` evaluations: ``cost_ratio = eval_s / primal_s`` shows which.
A method that computes on its own backend (JAX, PyTorch) supplies
``Evaluator.primal`` — f compiled and run on the same device the same way;
every other method is compared with the case evaluated by NumPy on the CPU,
which is what a finite-difference stencil or a lambdified expression calls.
The primal depends only on (case, size, backend, dtype, device), so one run
times each once and reuses it.
"""

from __future__ import annotations

from harness.namespaces import namespace
from harness.timing import measure


def _key(method, cell, evaluator) -> tuple:
    # a method's own primal (jit or not, compiled or not) is its own; NumPy's is shared
    backend = method.name if evaluator.primal is not None else "numpy"
    return (cell.case.name, cell.case.size_label, backend, cell.dtype, cell.device)


def measure_primal(method, cell, evaluator, x, xd, timing: dict | None, cache: dict | None) -> dict:
    """``primal_s`` (median seconds of one call of f at all points) and what it ran on."""
    key = _key(method, cell, evaluator)
    if cache is not None and key in cache:
        return cache[key]
    if evaluator.primal is not None:
        call, arg = evaluator.primal, xd
    else:
        xp = namespace("numpy")
        fn = cell.case.fn

        def call(a):
            return fn(xp, a)

        arg = x
    call(arg)  # warm-up, like the derivative's first call
    steady = measure(lambda: call(arg), **(timing or {}))
    found = {"primal_s": steady.median_s, "primal_backend": method.backend if evaluator.primal else "numpy"}
    if cache is not None:
        cache[key] = found
    return found
