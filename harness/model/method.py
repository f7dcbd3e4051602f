"""A method: a way of differentiating, as a ``prepare`` function plus a declaration of its limits.

``prepare`` turns a :class:`Cell` (case, order, dtype, device, quantity) into an
:class:`Evaluator`: all derivation, tracing and compiling happens in ``prepare``; the
evaluator's ``call`` is what the clock times.  What a method can compute — quantities,
orders, dtypes, devices, the largest stencil it builds — is declared once, in its
:class:`Method`; a cell outside that is ``unsupported`` without ``prepare`` being called.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.model.case import Case
from harness.model.quantities import QUANTITIES, WORKLOAD

FAMILIES = ("symbolic", "numerical", "automatic")
MODES = ("forward", "reverse", "forward+reverse", "none")
# quantities whose numerical stencil holds every point's n coordinate-shifted copies, (N, n, n)
STENCIL_QUANTITIES = ("gradient", "jacobian")


class Unsupported(Exception):
    """Raised by ``prepare`` when a method cannot compute what the cell asks, for a reason its
    declaration cannot express.  The cell is recorded with status ``unsupported`` and this
    message; it is a property of the method, not a failure."""


class Unavailable(Exception):
    """Raised by ``prepare`` when what the method needs is not here (a GPU, a library).

    The cell is recorded with status ``unavailable`` and this message.
    """


@dataclass(frozen=True)
class Cell:
    """What one measurement is of: passed to a method's ``prepare``."""

    case: Case
    order: int
    dtype: str  # "float32" | "float64"
    device: str  # "cpu" | "gpu"
    quantity: str = "derivative"


def _identity(x):
    return x


@dataclass
class Evaluator:
    """A prepared derivative.

    ``to_device`` moves the NumPy input where ``call`` wants it (done before the
    clock).  ``call`` computes the derivative at every point and returns only
    once the result is ready (``block_until_ready``, CUDA synchronised): it is
    exactly what is timed, and it must not write into its input.  ``to_numpy``
    brings the result back for checking.
    """

    call: Callable[[Any], Any]
    to_device: Callable[[np.ndarray], Any] = _identity
    to_numpy: Callable[[Any], np.ndarray] = np.asarray
    info: dict = field(default_factory=dict)  # e.g. the expression; see schema.SWELL_KEYS
    # f itself at the device input, on the method's backend, ready on return: timed like
    # ``call`` for ``primal_s`` (without one the runner times the case in NumPy on the CPU)
    primal: Callable[[Any], Any] | None = None
    # ahead-of-time compilation for the device input (e.g. jit(...).lower(x).compile()),
    # run and timed by the runner as ``compile_s`` before the first call; may return a dict
    # merged into ``info`` (e.g. XLA's flop estimate)
    compile: Callable[[Any], dict | None] | None = None
    # seconds the method measured inside ``prepare``: ``derive_s`` (symbolic differentiation,
    # tracing), ``compile_s`` (lambdify, code generation); ``reused_s``: work done once per
    # run in an earlier cell and reused here (added to this cell's setup_s)
    phases: dict = field(default_factory=dict)
    # facts about the derivative that cost time to gather (expression swell, graph size):
    # called after the measurements, never inside setup or the clock; merged into ``info``
    describe: Callable[[], dict] | None = None


@dataclass(frozen=True)
class Method:
    """A way of differentiating: ``prepare`` plus a declaration of what it can do.

    The runner records a cell as ``unsupported`` without calling ``prepare`` when its
    quantity, order, dtype or device is outside what is declared here, or its gradient or
    Jacobian stencil would exceed ``max_stencil`` numbers or ``max_stencil_work`` operations,
    or the case exceeds its ``max_work``, ``max_traced`` or ``max_points``.  ``requires`` names the modules it
    imports: a missing one makes the cell ``unavailable`` with the import error.  ``mode``
    (forward / reverse / none), ``backend``, ``batched`` (how many points one call handles),
    ``analytic_only`` (correct only for analytic code, e.g. the complex step) and
    ``needs_symbolic`` are shown by ``diffbench list methods``.
    """

    name: str
    family: str
    prepare: Callable[[Cell], Evaluator]
    requires: tuple[str, ...] = ()
    devices: tuple[str, ...] = ("cpu",)
    quantities: tuple[str, ...] = ("derivative",)
    max_order: int = 1  # highest order of "derivative"
    dtypes: tuple[str, ...] = ("float64", "float32")
    # the largest (N, n, n) array of coordinate-shifted points it builds at once for a gradient or
    # Jacobian (N points, n coordinates), in numbers; None: no such array
    max_stencil: int | None = None
    # the most arithmetic of n evaluations of f (N points · n coordinates · ``Case.work``, 1 where
    # a case declares none) it is tried on, for a derivative, gradient or Jacobian built from
    # evaluations of f (differences, duals): a time limit where ``max_stencil`` is a memory
    # limit; None: no limit
    max_stencil_work: float | None = None
    # the most operations of one unrolled trace (``Case.traced``) it compiles: jit and
    # tf.function record every operation of a Python recursion; None: no limit
    max_traced: float | None = None
    # the most arithmetic per evaluation of a case (``Case.work``) it is tried on: a method whose
    # every operation is a Python object (SymPy's expressions, num-dual's duals) is not tried on a
    # workload of millions; None: no limit
    max_work: float | None = None
    # the most points a method that loops over points in Python is tried on (10⁶ points of tanh
    # would take its loop minutes per call); None: no limit
    max_points: int | None = None
    # whether it returns a scipy.sparse Jacobian for a case with a sparsity pattern (by coloured
    # directions, harness.model.sparse); without, such a Jacobian would be dense: millions of entries
    sparse_jacobian: bool = False
    mode: str = "none"
    backend: str = "numpy"
    batched: str = "vectorised over points"
    analytic_only: bool = False
    needs_symbolic: bool = False
    default: bool = True  # part of the matrix when no --methods is given
    description: str = ""
    hint: str = ""  # added to the message when the method is unavailable

    def __post_init__(self):
        if self.family not in FAMILIES:
            raise ValueError(f"method {self.name!r}: family must be one of {FAMILIES}")
        if self.mode not in MODES:
            raise ValueError(f"method {self.name!r}: mode must be one of {MODES}")
        unknown = set(self.quantities) - set(QUANTITIES)
        if unknown:
            raise ValueError(f"method {self.name!r}: unknown quantities {sorted(unknown)}")

    def unsupported_reason(self, cell: Cell) -> str | None:
        """Why this method cannot measure ``cell``, from its declaration alone."""
        workload = WORKLOAD.get(cell.quantity)
        if workload is not None:  # driven by another quantity the method computes
            if workload.driven_by not in self.quantities:
                return f"{self.name} computes no {workload.driven_by} to drive {cell.quantity} with"
            if cell.dtype not in workload.dtypes:
                return f"the {cell.quantity} workload runs in {' or '.join(workload.dtypes)}"
        elif cell.quantity not in self.quantities:
            return f"{self.name} does not compute a {cell.quantity}"
        if cell.quantity == "derivative" and cell.order > self.max_order:
            return f"{self.name} computes derivatives up to order {self.max_order}"
        if cell.dtype not in self.dtypes:
            return f"{self.name} does not compute in {cell.dtype}"
        if cell.device not in self.devices:
            return f"{self.name} runs on {', '.join(self.devices)} only"
        case = cell.case
        if cell.quantity == "jacobian" and case.sparsity is not None and not self.sparse_jacobian:
            return (f"{self.name} builds a dense Jacobian; this case's is sparse "
                    f"({case.out_dim:,} × {case.dim:,})")
        # a stencil shifts each of N points along n coordinates, or along c colours where the
        # method compresses a sparse Jacobian (harness.model.sparse: ba's 15, at any problem size)
        points, shifts, where = case.grid + len(case.seed_points), case.dim, f"n = {case.dim}"
        if cell.quantity == "jacobian" and case.colours and self.sparse_jacobian:
            shifts, where = case.colours, f"{case.colours} colours of n = {case.dim}"
        if self.max_stencil is not None and cell.quantity in STENCIL_QUANTITIES:
            # each shifted evaluation holding its point or its largest intermediate
            numbers = points * shifts * max(case.dim, case.footprint or 0)
            if numbers > self.max_stencil:
                return (f"{self.name} builds its stencil at once: {numbers:.3g} numbers "
                        f"at {where} (limit {self.max_stencil:.3g})")
        if self.max_stencil_work is not None and cell.quantity in (*STENCIL_QUANTITIES, "derivative"):
            # a scalar case's derivative: one operation per point (10⁶ points of tanh by Ridders'
            # table or scipy.differentiate took 5–7 s a cell)
            arithmetic = points * shifts * (case.work or 1)
            if arithmetic > self.max_stencil_work:
                return (f"{self.name}'s stencil is {arithmetic:.3g} operations of f (points · n · work) "
                        f"at {where} (limit {self.max_stencil_work:.3g})")
        if self.max_traced is not None and case.traced is not None and case.traced > self.max_traced:
            return (f"{self.name} compiles one trace of f's {case.traced:.3g} unrolled operations "
                    f"(its limit: {self.max_traced:.3g})")
        if self.max_points is not None and case.n_points > self.max_points:
            return (f"{self.name} loops over points: not tried on {case.n_points:,} "
                    f"(its limit: {self.max_points:,})")
        if self.max_work is not None and case.work is not None and case.work > self.max_work:
            return (f"{self.name} is not tried on {case.work:.3g} operations per evaluation "
                    f"(its limit: {self.max_work:.3g})")
        return None


def installed(method: Method) -> str:
    """'installed', or 'not installed: …' with the first module of ``requires`` that cannot be
    found: from the installed packages alone, without importing any backend (TensorFlow takes
    seconds to import).  Whether an installed one imports is known when a cell runs
    (:func:`availability`)."""
    import importlib.util

    for module in method.requires:
        try:
            found = importlib.util.find_spec(module) is not None  # a dotted name imports its parent only
        except (ImportError, ValueError):
            found = False
        if not found:
            hint = f" ({method.hint})" if method.hint else ""
            return f"not installed: no module named {module!r}{hint}"
    return "installed"


def availability(method: Method) -> str:
    """'available', or 'unavailable: <the import error>' for a missing backend.  What a
    library prints while it is imported (TensorFlow's start-up log) is kept off the terminal."""
    from harness.host.capture import quiet

    for module in method.requires:
        if sys.modules.get(module) is not None:  # imported already: every cell asks, so no redirection
            continue
        try:
            with quiet():
                importlib.import_module(module)
        except Exception as exc:  # any import failure: the backend is not usable here
            hint = f" ({method.hint})" if method.hint else ""
            return f"unavailable: cannot import {module}: {exc}{hint}"
    return "available"
