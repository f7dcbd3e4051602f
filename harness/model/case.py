"""A case: a test function written once, against an array namespace ``xp``, for every backend.

SymPy, mpmath, NumPy, JAX and PyTorch all evaluate the same ``fn(xp, x)`` (see
:mod:`harness.model.namespaces`).  A :class:`CaseSweep` is a family of cases with size parameters,
measured at the sizes of the chosen profile.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import numpy as np

PROFILES = ("quick", "default", "full")
DEFAULT_TIMEOUT_S = 120.0  # a cell's budget when neither the run nor its case gives one
# quantities of a scalar-valued function only (a vector-valued case has a Jacobian instead)
SCALAR_VALUED = ("gradient", "hessian", "hvp", "mixed_partial", "training")


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
    provides (see :mod:`harness.model.namespaces`).  A scalar case (``dim`` = 1) is
    applied elementwise to an array of points.  A vector case (``dim`` = n)
    takes points along the last axis, x of shape (..., n), and returns (...)
    or, when ``out_dim`` = m > 1, (..., m): the same code then serves one point
    (for grad/vmap) and a batch (for finite-difference stencils).
    What the case is measured on is ``quantities`` (see :mod:`harness.model.quantities`).
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
    # gives none (``diffbench run --timeout``); default: DEFAULT_TIMEOUT_S
    timeout_s: float | None = None
    # whether SymPy's exact derivative joins the reference: a workload written with max and
    # thousands of terms (gmm, lstm) would take SymPy minutes, so mpmath.diff, cross-checked
    # against quad-precision forward mode, is its reference where affordable
    exact_reference: bool = True
    # numbers of arithmetic in one evaluation of f at one point, where a workload is large: what
    # mpmath.diff's reference (every entry, several evaluations each at 60 digits) would cost, what a
    # symbolic method would expand, and the basis of `--dry-run`'s cost estimates (None: small)
    work: float | None = None
    # operations a tracing compiler (jit, tf.function) records for one evaluation where the case's
    # Python unrolls into many (det's recursion: 3·ℓ!); None: a vectorised case or a loop by scan
    traced: float | None = None
    # the largest intermediate array of one evaluation at one point, in numbers (None: about dim):
    # a finite-difference stencil of n shifted points holds n of them at once
    footprint: float | None = None
    # the dtypes the case is measured in when the run names none (a workload of minutes: float64)
    dtypes: tuple | None = None
    # the direction v of a jvp and an hvp: "ramp" (1, 2, …, n)/2^⌈log₂n⌉, or "ones" (an hvp along
    # the ones of a diagonal Hessian is its diagonal: kmeans' Newton step)
    tangent_kind: str = "ramp"
    # a Jacobian with few non-zeros per row: fn(xp, x) ↦ its (rows, cols) pattern, so that methods
    # with a sparse Jacobian (coloured jvps or differences) return a scipy.sparse matrix
    sparsity: Callable[[], tuple] | None = None
    # the colours that pattern compresses into (what a coloured stencil shifts along, for the
    # methods' limits; colouring ba20's 5·10⁶ rows to count them would take the plan a minute)
    colours: int | None = None
    # a sparse Jacobian's outputs in independent groups, each of a few columns (a bundle
    # adjustment's observations): fn() ↦ harness.model.sparse.Separable, with which reverse mode
    # takes each group's small Jacobian (JAX's vmap(jacrev(…)) over the groups) rather than the
    # whole f's jvps along the colours
    separable: Callable[[], object] | None = None
    # f is a loop of dependent steps (a scan: an LSTM over characters, an ODE's RK4 steps): the
    # report's findings put its cells under "sequential loops"
    sequential: bool = False

    @property
    def size_label(self) -> str:
        return ",".join(f"{k}={v}" for k, v in self.size)

    def __post_init__(self):
        from harness.model.quantities import QUANTITIES, VECTOR_QUANTITIES

        unknown = set(self.quantities) - set(QUANTITIES)
        if unknown:
            raise ValueError(f"case {self.name!r}: unknown quantities {sorted(unknown)}")
        if self.dim > 1 and "derivative" in self.quantities:
            raise ValueError(f"case {self.name!r}: 'derivative' is for scalar cases (dim 1)")
        if self.dim == 1 and set(self.quantities) & set(VECTOR_QUANTITIES):
            raise ValueError(f"case {self.name!r}: vector quantities need dim > 1")
        if self.out_dim > 1 and set(self.quantities) & set(SCALAR_VALUED):
            raise ValueError(f"case {self.name!r}: {', '.join(SCALAR_VALUED)} are of scalar-valued "
                             f"functions (out_dim 1)")
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
        with a fixed seed.  A copy of what is worked out once per case (10⁶ sorted
        points took 50 ms, and a cell asks several times).
        """
        return self._points.copy()

    @cached_property
    def _points(self) -> np.ndarray:
        if self.dim == 1:
            grid = np.linspace(self.domain[0], self.domain[1], self.grid)
            return np.unique(np.concatenate([np.asarray(self.seed_points, float), grid]))
        rng = np.random.default_rng(0)
        box = rng.uniform(self.domain[0], self.domain[1], size=(self.grid, self.dim))
        seeds = np.asarray(self.seed_points, float).reshape(-1, self.dim)
        return np.concatenate([seeds, box])

    @cached_property
    def n_points(self) -> int:
        """len(points()): a seed point that lies on the grid counts once."""
        return len(self.points())

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
        """The fixed direction v of a jvp or an hvp: (1, 2, …, n)/2^⌈log₂n⌉, exact in float32
        and float64 (or ones: ``tangent_kind``)."""
        if self.tangent_kind == "ones":
            return np.ones(self.dim)
        return np.arange(1, self.dim + 1, dtype=float) / 2.0 ** np.ceil(np.log2(self.dim))

    def cotangent(self) -> np.ndarray:
        """The fixed weights u of a vjp: alternating ±1 over the m outputs."""
        return np.where(np.arange(self.out_dim) % 2 == 0, 1.0, -1.0)

    def budget(self, run_timeout: float | None = None) -> float:
        """Seconds one of this case's cells may take: the run's timeout if given, else the
        case's own, else DEFAULT_TIMEOUT_S."""
        return run_timeout if run_timeout is not None else (self.timeout_s or DEFAULT_TIMEOUT_S)


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
        return replace(self.factory(**size), name=self.name, size=tuple(size.items()))
