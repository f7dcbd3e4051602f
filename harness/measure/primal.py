"""The function itself, timed with its derivative: ``primal_s`` and so ``cost_ratio``.

The cheap-gradient principle says a reverse-mode gradient costs a small constant
times the function (≤ ~5, whatever the dimension) while finite differences pay
about ``dim`` evaluations: ``cost_ratio = eval_s / primal_s`` shows which.
A method that computes on its own backend (JAX, PyTorch) supplies
``Evaluator.primal`` — f compiled and run on the same device the same way;
every other method is compared with the case evaluated by NumPy on the CPU,
which is what a finite-difference stencil or a lambdified expression calls.

The function is timed in every cell, in batches alternating with the derivative's
(:func:`harness.measure.timing.measure_interleaved`), and ``cost_ratio`` is the median of the
rounds' ratios: a primal timed once per size, apart, moved the finite differences'
fitted exponent on the LSTM from 0.8 to 0.1 between two runs of the same code, the
machine having been busier while it was timed.
"""

from __future__ import annotations

from harness.model.namespaces import namespace

# a batch of the function's calls targets a fifth of the derivative's batch: the function is
# the cheaper call, and its 5 batches then add about a fifth to a cell's timing loop
SHARE = 0.2


def primal_call(method, cell, evaluator, x, xd):
    """(a call of f at all points, the backend it runs on), warmed up like the derivative."""
    if evaluator.primal is not None:
        call, arg, backend = evaluator.primal, xd, method.backend
    else:
        xp = namespace("numpy")
        fn = cell.case.fn

        def call(a):
            return fn(xp, a)

        arg, backend = x, "numpy"
    call(arg)  # warm-up, like the derivative's first call
    return (lambda: call(arg)), backend
