"""The whole public extension surface of diffbench, in one module.

A *case* is a function written once, against an array namespace ``xp``, that
every backend (SymPy, mpmath, NumPy, JAX, PyTorch) evaluates.  A *method* is a
``prepare`` function that turns a :class:`Cell` (case, order, dtype, device)
into an :class:`Evaluator`: all derivation, tracing and compiling happens in
``prepare``; the evaluator's ``call`` is what the clock times.

Built-in cases and methods use exactly this API.  A plugin file does too::

    from harness.extend import Case, Method, Evaluator, register_case, register_method

    register_case(Case("cube", lambda xp, x: x**3, "x³", domain=(-2, 2)))

    def prepare_exact_cube(cell):
        import numpy as np
        return Evaluator(call=lambda x: 3 * x**2)

    register_method(Method("exact-cube", "symbolic", prepare_exact_cube))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.registry import CASES, METHODS

__all__ = [
    "Case",
    "Cell",
    "Evaluator",
    "Method",
    "Training",
    "Unavailable",
    "Unsupported",
    "CaseSweep",
    "register_case",
    "register_method",
    "register_sweep",
]

PROFILES = ("quick", "default", "full")

FAMILIES = ("symbolic", "numerical", "automatic")
MODES = ("forward", "reverse", "forward+reverse", "none")


class Unsupported(Exception):
    """Raised by ``prepare`` when a method cannot compute what the cell asks.

    The cell is recorded with status ``unsupported`` and this message; it is a
    property of the method, not a failure.
    """


class Unavailable(Exception):
    """Raised by ``prepare`` when what the method needs is not here (a GPU, a library).

    The cell is recorded with status ``unavailable`` and this message.
    """


@dataclass(frozen=True)
class Training:
    """A gradient-descent workload on a case's loss: ``steps`` of θ ← θ − lr·∇L(θ) from
    ``start`` (zeros by default).  ``gradient()`` returns a hand-written closed-form
    gradient θ ↦ ∇L(θ) in float64, the reference trajectory's; ``accuracy(θ)`` scores
    the trained parameters (e.g. the share of points classified right)."""

    steps: int
    lr: float
    gradient: Callable[[], Callable]
    accuracy: Callable | None = None
    start: tuple | None = None


@dataclass(frozen=True)
class Case:
    """A test function, written once for every backend.

    ``fn(xp, x)`` uses only arithmetic, indexing and what every namespace
    provides (see :mod:`harness.namespaces`).  A scalar case (``dim`` = 1) is
    applied elementwise to an array of points.  A vector case (``dim`` = n)
    takes points along the last axis, x of shape (..., n), and returns (...)
    or, when ``out_dim`` = m > 1, (..., m): the same code then serves one point
    (for grad/vmap) and a batch (for finite-difference stencils).
    What the case is measured on is ``quantities`` (see :mod:`harness.quantities`).
    """

    name: str
    fn: Callable[[Any, Any], Any]
    formula: str
    domain: tuple[float, float] = (-5.0, 5.0)
    grid: int = 100  # scalar: np.linspace(*domain, grid); vector: random points in the box
    seed_points: tuple = ()  # points the seeds quote figures at (tuples of n for vector cases)
    orders: tuple[int, ...] = (1,)  # orders of "derivative" that make sense here
    kinks: tuple = ()  # points where the derivative does not exist (tuples of n for vector cases)
    dim: int = 1
    out_dim: int = 1
    quantities: tuple[str, ...] = ("derivative",)
    mixed: tuple[int, int] = (0, 1)  # the pair of a mixed_partial
    source: str = ""  # where the case comes from (a seed, a paper)
    note: str = ""
    size: tuple = ()  # the size parameters of a sweep's case, as (name, value) pairs
    training: Training | None = None  # needed by the "training" quantity
    # named blocks of θ in order, e.g. (("W", (3,)), ("b", ())): methods that take a parameter
    # pytree differentiate with respect to {name: block} and flatten the result back
    parameters: tuple = ()
    # hand-written derivatives, (quantity, fn(xp, x)) pairs, e.g. ("gradient", rosenbrock's ∇):
    # the reference where SymPy cannot afford a quantity's many entries (a gradient in 10⁴
    # dimensions), evaluated in mpmath at 60 digits and spot-checked against mpmath.diff
    closed_forms: tuple = ()
    # seconds each of this case's cells may take (setup, checks and timing), where the run
    # gives none (``diffbench run --timeout``); default: the runner's DEFAULT_TIMEOUT_S
    timeout_s: float | None = None

    @property
    def size_label(self) -> str:
        return ",".join(f"{k}={v}" for k, v in self.size)

    def __post_init__(self):
        from harness.quantities import QUANTITIES, VECTOR_QUANTITIES

        unknown = set(self.quantities) - set(QUANTITIES)
        if unknown:
            raise ValueError(f"case {self.name!r}: unknown quantities {sorted(unknown)}")
        if self.dim > 1 and "derivative" in self.quantities:
            raise ValueError(f"case {self.name!r}: 'derivative' is for scalar cases (dim 1)")
        if self.dim == 1 and set(self.quantities) & set(VECTOR_QUANTITIES):
            raise ValueError(f"case {self.name!r}: vector quantities need dim > 1")
        if ("training" in self.quantities) != (self.training is not None):
            raise ValueError(f"case {self.name!r}: the 'training' quantity goes with a Training spec")
        if self.parameters and sum(int(np.prod(shape)) for _, shape in self.parameters) != self.dim:
            raise ValueError(f"case {self.name!r}: the parameters' sizes do not add up to dim {self.dim}")

    def blocks(self) -> list[tuple[str, slice, tuple]]:
        """(name, slice of θ, shape) of each of ``parameters``."""
        found, start = [], 0
        for name, shape in self.parameters:
            size = int(np.prod(shape))
            found.append((name, slice(start, start + size), tuple(shape)))
            start += size
        return found

    def points(self) -> np.ndarray:
        """Evaluation points (float64): the seed points, then the grid.

        Scalar cases: shape (N,), sorted.  Vector cases: shape (N, dim), the seed
        points first, then ``grid`` points drawn uniformly from the domain box
        with a fixed seed.
        """
        if self.dim == 1:
            grid = np.linspace(self.domain[0], self.domain[1], self.grid)
            return np.unique(np.concatenate([np.asarray(self.seed_points, float), grid]))
        rng = np.random.default_rng(0)
        box = rng.uniform(self.domain[0], self.domain[1], size=(self.grid, self.dim))
        seeds = np.asarray(self.seed_points, float).reshape(-1, self.dim)
        return np.concatenate([seeds, box])

    def on_kink(self, point) -> bool:
        """Whether the derivative does not exist at ``point`` (a float, or n coordinates)."""
        if self.dim == 1:
            return float(point) in self.kinks
        return tuple(float(v) for v in point) in {tuple(map(float, k)) for k in self.kinks}

    def seed_mask(self, points: np.ndarray) -> np.ndarray:
        if self.dim == 1:
            return np.isin(points, np.asarray(self.seed_points, float))
        mask = np.zeros(len(points), bool)
        mask[: len(self.seed_points)] = True
        return mask

    def tangent(self) -> np.ndarray:
        """The fixed direction v of a jvp: (1, 2, …, n)/2^⌈log₂n⌉, exact in float32 and float64."""
        return np.arange(1, self.dim + 1, dtype=float) / 2.0 ** np.ceil(np.log2(self.dim))

    def cotangent(self) -> np.ndarray:
        """The fixed weights u of a vjp: alternating ±1 over the m outputs."""
        return np.where(np.arange(self.out_dim) % 2 == 0, 1.0, -1.0)


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
    exactly what is timed.  ``to_numpy`` brings the result back for checking.
    """

    call: Callable[[Any], Any]
    to_device: Callable[[np.ndarray], Any] = _identity
    to_numpy: Callable[[Any], np.ndarray] = np.asarray
    info: dict = field(default_factory=dict)  # e.g. the derivative expression; see SWELL_KEYS
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


# ``Evaluator.info`` keys the runner lifts into result columns (expression swell):
SWELL_KEYS = {
    "expr_nodes": "nodes of the derivative's expression tree (SymPy)",
    "expr_ops": "sympy.count_ops of the derivative",
    "cse_ops": "operations after common-subexpression elimination (the derivative as a DAG)",
    "expr_chars": "length of the printed derivative",
    "graph_nodes": "operations in the derivative program (jaxpr equations, torch.fx nodes)",
    "flops": "XLA's flop estimate of the compiled derivative (cost_analysis), for all points",
}


@dataclass(frozen=True)
class Method:
    """A way of differentiating: ``prepare`` plus a declaration of what it can do.

    The runner records a cell as ``unsupported`` without calling ``prepare``
    when the quantity, order, dtype or device is outside what is declared;
    ``prepare`` may still raise :class:`Unsupported` for finer limits.
    ``requires`` names the modules it imports: a missing one makes the cell
    ``unavailable`` with the import error.  ``mode`` (forward / reverse /
    none), ``backend``, ``batched`` (how many points one call handles),
    ``analytic_only`` (correct only for analytic code, e.g. the complex step)
    and ``needs_symbolic`` are shown by ``diffbench list methods``.
    """

    name: str
    family: str
    prepare: Callable[[Cell], Evaluator]
    requires: tuple[str, ...] = ()
    devices: tuple[str, ...] = ("cpu",)
    quantities: tuple[str, ...] = ("derivative",)
    max_order: int = 1  # highest order of "derivative"
    dtypes: tuple[str, ...] = ("float64", "float32")
    mode: str = "none"
    backend: str = "numpy"
    batched: str = "vectorised over points"
    analytic_only: bool = False
    needs_symbolic: bool = False
    default: bool = True  # part of the matrix when no --methods is given
    description: str = ""
    hint: str = ""  # added to the message when the method is unavailable

    def __post_init__(self):
        from harness.quantities import QUANTITIES

        if self.family not in FAMILIES:
            raise ValueError(f"method {self.name!r}: family must be one of {FAMILIES}")
        if self.mode not in MODES:
            raise ValueError(f"method {self.name!r}: mode must be one of {MODES}")
        unknown = set(self.quantities) - set(QUANTITIES)
        if unknown:
            raise ValueError(f"method {self.name!r}: unknown quantities {sorted(unknown)}")

    def unsupported_reason(self, cell: Cell) -> str | None:
        """Why this method cannot measure ``cell``, from its declaration alone."""
        if cell.quantity == "training":  # driven by the method's gradient
            if "gradient" not in self.quantities:
                return f"{self.name} computes no gradient to train with"
            if cell.dtype != "float64":
                return "the training workload runs in float64"
        elif cell.quantity not in self.quantities:
            return f"{self.name} does not compute a {cell.quantity}"
        if cell.quantity == "derivative" and cell.order > self.max_order:
            return f"{self.name} computes derivatives up to order {self.max_order}"
        if cell.dtype not in self.dtypes:
            return f"{self.name} does not compute in {cell.dtype}"
        if cell.device not in self.devices:
            return f"{self.name} runs on {', '.join(self.devices)} only"
        return None


@dataclass(frozen=True)
class CaseSweep:
    """A case family with size parameters: ``factory(**size)`` makes one case per size.

    ``profiles`` maps ``quick`` / ``default`` / ``full`` to the list of sizes
    measured in that profile (``diffbench run --sizes PROFILE``).
    """

    name: str
    factory: Callable[..., Case]
    profiles: dict

    def cases(self, profile: str = "default") -> list[Case]:
        return [self.at(size) for size in self.profiles[profile]]

    def at(self, size: dict) -> Case:
        """The case of one size, e.g. ``at({"depth": 3})``."""
        from dataclasses import replace

        return replace(self.factory(**size), name=self.name, size=tuple(size.items()))


def register_case(case: Case) -> Case:
    """Add a case to the registry (a later registration of a name replaces it)."""
    CASES.add(case.name, case)
    return case


def register_sweep(name: str, factory: Callable[..., Case], quick: list, default: list,
                   full: list) -> CaseSweep:
    """Register a case family measured at the sizes of the chosen profile, e.g.
    ``register_sweep("nested_polynomial", nested_polynomial, quick=[{"depth": 1}], ...)``."""
    sweep = CaseSweep(name, factory, {"quick": quick, "default": default, "full": full})
    CASES.add(name, sweep)
    return sweep


def register_method(method: Method) -> Method:
    """Add a method to the registry (a later registration of a name replaces it)."""
    METHODS.add(method.name, method)
    return method
